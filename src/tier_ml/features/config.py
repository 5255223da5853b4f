"""Typed feature parameters, read from `parameters_features.yml`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tier_ml.contract import DEAL_HISTORY_FIELDS
from tier_ml.features.registry import FeatureConfig


def known_at_creation(params: dict[str, Any]) -> tuple[str, ...]:
    """`deal_fields_known_at_creation`, checked now: a misspelt field would silently not be
    trusted."""
    fields = tuple(
        params.get("deal_fields_known_at_creation", FeatureConfig.deal_fields_known_at_creation)
    )
    unknown = sorted(set(fields) - set(DEAL_HISTORY_FIELDS))
    if unknown:
        raise ValueError(
            f"features.deal_fields_known_at_creation has {unknown}; "
            f"choose from {list(DEAL_HISTORY_FIELDS)}"
        )
    return fields


@dataclass(frozen=True)
class FeatureParams:
    """The `features` parameters: horizon, cutoffs and what to compute."""

    horizon_days: int
    cutoff_count: int | None  # None: derived from the data (`cutoffs: auto`)
    cutoff_step_months: int
    config: FeatureConfig

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> FeatureParams:
        return cls(
            horizon_days=int(params["horizon_days"]),
            cutoff_count=None if params["cutoffs"] == "auto" else int(params["cutoffs"]["count"]),
            cutoff_step_months=1
            if params["cutoffs"] == "auto"
            else int(params["cutoffs"].get("step_months", 1)),
            config=FeatureConfig(
                rfm_windows=tuple(params["rfm_windows"]),
                activity_windows=tuple(params["activity_windows"]),
                activity_types=tuple(params["activity_types"]),
                categorical_attributes=tuple(params["categorical_attributes"]),
                numeric_attributes=tuple(params["numeric_attributes"]),
                decay_half_life_days=int(params["horizon_days"]),
                deal_fields_known_at_creation=known_at_creation(params),
                engine=params.get("engine", "duckdb"),
            ),
        )
