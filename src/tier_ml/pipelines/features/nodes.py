"""Feature nodes: stack point-in-time features and labels at the training cutoffs."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tier_ml.features.build import ROW_WEIGHT, auto_cutoffs, data_start, training_cutoffs
from tier_ml.features.config import FeatureParams
from tier_ml.features.deal_state import has_history
from tier_ml.models.training import TrainParams, training_table

logger = logging.getLogger(__name__)


def log_deal_field_risk(deal_history: pd.DataFrame, known_at_creation: tuple[str, ...]) -> None:
    """Say which exported deal fields are read as known at T when no history shows them."""
    if has_history(deal_history):
        logger.info(
            "Deal fields as of each cutoff from the deal history (%d changes)", len(deal_history)
        )
    elif known_at_creation:
        logger.warning(
            "No deal history: open deals' %s are taken as set at creation "
            "(features.deal_fields_known_at_creation). If your CRM rewrites them at the close "
            "(e.g. amount 0 on lost deals), they leak the outcome into training.",
            ", ".join(known_at_creation),
        )


def build_training_features(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    data_profile: dict[str, Any],
    features: dict[str, Any],
    deal_history: pd.DataFrame,
    train: dict[str, Any],
) -> pd.DataFrame:
    """Features and complete labels at each monthly cutoff T_k (T_k + horizon <= data end),
    with deal fields as of each T_k (see `features.deal_state`); above the row budget
    (`train.sampling`) each cutoff is thinned as it is built (`training.stored_sample`)."""
    params = FeatureParams.from_dict(features)
    log_deal_field_risk(deal_history, params.config.deal_fields_known_at_creation)
    data_end = pd.Timestamp(data_profile["data_end"])
    if params.cutoff_count is None:
        cutoffs, why = auto_cutoffs(data_start(deals, activities), data_end, params.horizon_days)
        logger.info("Training cutoffs (features.cutoffs: auto): %s", why)
    else:
        cutoffs = training_cutoffs(
            data_end, params.horizon_days, params.cutoff_count, params.cutoff_step_months
        )
    train_params = TrainParams.from_dict(train, params.horizon_days)
    table = training_table(
        customers, deals, activities, cutoffs, params.config, train_params, deal_history
    )
    weight = table[ROW_WEIGHT]
    logger.info(
        "Feature table: %d rows over %d cutoffs (%s to %s), positive rate %.3f%s",
        len(table),
        len(cutoffs),
        cutoffs[0].date(),
        cutoffs[-1].date(),
        (weight * table["won_any"]).sum() / weight.sum(),
        ""
        if weight.eq(1.0).all()
        else f"; they stand for {weight.sum():,.0f} customer-cutoffs (train.sampling: the "
        "replay origins and the latest cutoff whole, the others thinned, non-buyers first)",
    )
    return table
