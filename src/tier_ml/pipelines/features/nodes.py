"""Feature nodes: stack point-in-time features and labels at the training cutoffs."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tier_ml.features.build import build_feature_table, training_cutoffs
from tier_ml.features.config import FeatureParams

logger = logging.getLogger(__name__)


def build_training_features(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    data_profile: dict[str, Any],
    features: dict[str, Any],
) -> pd.DataFrame:
    """Features and complete labels at each monthly cutoff T_k (T_k + horizon <= data end)."""
    params = FeatureParams.from_dict(features)
    cutoffs = training_cutoffs(
        pd.Timestamp(data_profile["data_end"]),
        params.horizon_days,
        params.cutoff_count,
        params.cutoff_step_months,
    )
    table = build_feature_table(
        customers, deals, activities, cutoffs, params.horizon_days, params.config
    )
    logger.info(
        "Feature table: %d rows over %d cutoffs (%s to %s), positive rate %.3f",
        len(table),
        len(cutoffs),
        cutoffs[0].date(),
        cutoffs[-1].date(),
        table["won_any"].mean(),
    )
    return table
