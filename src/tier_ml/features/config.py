"""Typed feature parameters, read from `parameters_features.yml`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tier_ml.features.registry import FeatureConfig


@dataclass(frozen=True)
class FeatureParams:
    """The `features` parameters: horizon, cutoffs and what to compute."""

    horizon_days: int
    cutoff_count: int
    cutoff_step_months: int
    config: FeatureConfig

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> FeatureParams:
        return cls(
            horizon_days=int(params["horizon_days"]),
            cutoff_count=int(params["cutoffs"]["count"]),
            cutoff_step_months=int(params["cutoffs"].get("step_months", 1)),
            config=FeatureConfig(
                rfm_windows=tuple(params["rfm_windows"]),
                activity_windows=tuple(params["activity_windows"]),
                activity_types=tuple(params["activity_types"]),
                categorical_attributes=tuple(params["categorical_attributes"]),
                numeric_attributes=tuple(params["numeric_attributes"]),
            ),
        )
