"""Model input: features plus other models' outputs, each at a cutoff from the past only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tier_ml.features.build import DEFAULT_CONFIG
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.btyd import add_btyd_features
from tier_ml.models.candidates import with_stack_scores
from tier_ml.models.opportunity import add_pipeline_value, opportunity_rows
from tier_ml.models.sampling import EVERY_ROW, SamplingParams


def is_transaction_data(deals: pd.DataFrame) -> bool:
    """Orders or invoices rather than a sales pipeline: every deal is won."""
    return bool(deals["status"].eq("won").all())


def use_btyd_features(setting: str | bool, deals: pd.DataFrame) -> bool:
    """`auto`: BG/NBD features for transaction-only data."""
    return is_transaction_data(deals) if setting == "auto" else bool(setting)


def with_model_outputs(
    feature_table: pd.DataFrame,
    deals: pd.DataFrame,
    horizon_days: int,
    seed: int,
    btyd: bool,
    scorecard: Mapping[str, Any],
    config: FeatureConfig = DEFAULT_CONFIG,
    deal_history: pd.DataFrame | None = None,
    sampling: SamplingParams = EVERY_ROW,
) -> pd.DataFrame:
    """Expected pipeline value (open-deal scoring, its models fitted on `sampling`'s row
    budget), BG/NBD outputs when asked, and the baselines' scores for the stacked candidate."""
    rows = opportunity_rows(deals, feature_table, horizon_days, config, deal_history)
    table = add_pipeline_value(feature_table, rows, deals, horizon_days, seed, sampling)
    table = add_btyd_features(table, deals, horizon_days) if btyd else table
    return with_stack_scores(table, scorecard)
