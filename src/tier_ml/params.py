"""Checks that the feature and model parameters fit together, run at the start of the train
and score pipelines so that a bad setting fails before any fitting or scoring, with a message
that names the parameter to change.

Some models read features by name: the segment profile, the RFM baseline, the cold-start
flag, the scorecard and the tier overlays. Those features exist only where the feature
windows compute them (`features.rfm_windows`, `features.activity_windows`), and the
registered models are given them only where `train.exclude_features` leaves them in. The
windows are checked rather than derived, so that a feature keeps one meaning (e.g. "won deals
in the last 365 days") in every model, report and reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tier_ml.cold_start import COLD_START_FEATURES
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import FeatureConfig, reason_registry
from tier_ml.models.baselines import RFM_FEATURES, last_period_column, parse_scorecard
from tier_ml.models.segments import PROFILE
from tier_ml.tiering import SILENCE_FEATURE

WINDOWED = re.compile(r"^(won_count|won_revenue|act_(?P<type>.+))_(?P<days>\d+)d$")


class ParameterError(ValueError):
    """Parameters that cannot work together; the message says which one to change."""


def feature_needs(train: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The features each consumer reads by name."""
    scorecard = parse_scorecard(train["scorecard"])
    return {
        "the segment model": PROFILE,
        "the RFM baseline": RFM_FEATURES,
        "the cold-start flag of the scores": COLD_START_FEATURES,
        "the tier overlays": (SILENCE_FEATURE,),
        "train.scorecard": tuple(f for d in scorecard.values() for f in d.features),
        "train.monotone_increasing": tuple(train.get("monotone_increasing") or ()),
    }


def registered_needs(columns: Iterable[str], horizon_days: int) -> dict[str, tuple[str, ...]]:
    """The features the registered segment and scoring models read beyond the model
    features: their input example must carry them, so they cannot be excluded."""
    last_period = last_period_column(columns, horizon_days)
    return {
        "the registered segment model": PROFILE,
        "the registered scoring model's tiers": (
            SILENCE_FEATURE,
            *([last_period] if last_period else []),
        ),
        "the registered scoring model's cold-start flag": COLD_START_FEATURES,
    }


def remedy(column: str, config: FeatureConfig) -> str:
    """Which parameter would compute `column`."""
    match = WINDOWED.match(column)
    if match is None:
        return f"no feature parameter computes '{column}'"
    kind = match["type"]
    if kind is not None and kind != "total" and kind not in config.activity_types:
        return f"add '{kind}' to features.activity_types"
    key = "rfm_windows" if kind is None else "activity_windows"
    return f"add {match['days']} to features.{key}"


def check_parameters(features: dict[str, Any], train: dict[str, Any]) -> None:
    """Every feature a consumer reads is computed, and none the registered models need is
    excluded. Raises ParameterError listing every problem."""
    params = FeatureParams.from_dict(features)
    known = set(reason_registry(params.config))
    problems = [
        f"{consumer} reads '{column}', which the features parameters do not compute: "
        f"{remedy(column, params.config)}"
        for consumer, columns in feature_needs(train).items()
        for column in columns
        if column not in known
    ]
    excluded = set(train.get("exclude_features") or ())
    problems += [
        f"train.exclude_features removes '{column}', which {consumer} reads: "
        f"remove it from train.exclude_features"
        for consumer, columns in registered_needs(known, params.horizon_days).items()
        for column in columns
        if column in excluded
    ]
    if problems:
        raise ParameterError("\n".join(problems))
