"""Model input: features plus other models' outputs, each at a cutoff from the past only."""

from __future__ import annotations

import pandas as pd

from tier_ml.models.btyd import add_btyd_features
from tier_ml.models.opportunity import add_pipeline_value, opportunity_rows


def is_transaction_data(deals: pd.DataFrame) -> bool:
    """Orders or invoices rather than a sales pipeline: every deal is won."""
    return bool(deals["status"].eq("won").all())


def use_btyd_features(setting: str | bool, deals: pd.DataFrame) -> bool:
    """`auto`: BG/NBD features for transaction-only data."""
    return is_transaction_data(deals) if setting == "auto" else bool(setting)


def with_model_outputs(
    feature_table: pd.DataFrame, deals: pd.DataFrame, horizon_days: int, seed: int, btyd: bool
) -> pd.DataFrame:
    """Expected pipeline value (open-deal scoring) and, when asked, BG/NBD outputs."""
    rows = opportunity_rows(deals, feature_table, horizon_days)
    table = add_pipeline_value(feature_table, rows, horizon_days, seed)
    return add_btyd_features(table, deals, horizon_days) if btyd else table
