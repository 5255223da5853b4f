"""The scoring path as one MLflow pyfunc model, for platforms that score at scale elsewhere
(Spark through `mlflow.pyfunc.spark_udf`, a serving endpoint, a batch job).

Input: one row per customer of point-in-time features (what the `features` step computes at
`as_of`, plus `expected_pipeline_value`). Output: p_win, expected_revenue, expected_value,
tier, action and segment. Customers with too little history to model get the pooled estimate
stored with the champion, where there is one, as in `score`. Tiers use the value cut points
fitted on the training population and the overlays of the policy; hysteresis needs the
previous run and is left to `score`.
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd

from tier_ml.cold_start import (
    COLD_START_FEATURES,
    cold_start_kind,
    pool_groups,
    with_pooled_estimate,
)
from tier_ml.tiering import TierAssigner, tier_inputs

OUTPUT_COLUMNS = ["p_win", "expected_revenue", "expected_value", "tier", "action", "segment"]


class TierScoringModel(mlflow.pyfunc.PythonModel):
    """Features in, predictions and tiers out."""

    def __init__(
        self,
        propensity: Any,
        ltv: Any,
        segments: Any,
        assigner: TierAssigner,
        horizon_days: int,
        pool: pd.DataFrame | None = None,
    ):
        self.propensity = propensity
        self.ltv = ltv
        self.segments = segments
        self.assigner = assigner
        self.horizon_days = horizon_days
        self.pool = pool

    def estimates(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """P(win) and expected value: the models', or the pooled estimate for customers with
        too little history where the champion was stored with a pool (a version registered
        before pools has none)."""
        p_win = self.propensity.predict(features[self.propensity.features_])
        value = self.ltv.predict(features[self.ltv.features_])
        pool = getattr(self, "pool", None)
        if pool is None or pool.empty:
            return p_win, value
        needed = (*COLD_START_FEATURES, *pool_groups(pool))
        missing = [c for c in needed if c not in features.columns]
        if missing:
            raise ValueError(
                f"The scoring model gives customers with too little history a pooled "
                f"estimate, which needs the columns {missing}; the input has none of them."
            )
        kind = cold_start_kind(features, self.horizon_days)
        return with_pooled_estimate(features, kind, pool, p_win, value)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        features = model_input.reset_index(drop=True)
        p_win, value = self.estimates(features)
        frame = tier_inputs(features, value, self.horizon_days)
        tiers = self.assigner.assign(frame)
        return pd.DataFrame(
            {
                "p_win": p_win,
                "expected_revenue": value / np.clip(p_win, 1e-6, None),
                "expected_value": value,
                "tier": tiers["tier"].astype(object),
                "action": tiers["action"].astype(object),
                "segment": self.segments.name(self.segments.predict(features)).astype(object),
            }
        )[OUTPUT_COLUMNS]
