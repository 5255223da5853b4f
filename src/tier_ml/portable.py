"""The scoring path as one MLflow pyfunc model, for platforms that score at scale elsewhere
(Spark through `mlflow.pyfunc.spark_udf`, a serving endpoint, a batch job).

Input: one row per customer of point-in-time features (what the `features` step computes at
`as_of`, plus `expected_pipeline_value` and the baselines' scores). Output: p_win,
expected_revenue, expected_value, tier, action, segment, and, for a model champion, the
reasons, risks and next step `score` gives, from the same exact TreeSHAP (`tier_ml.treeshap`)
row by row, so a Spark partition gets the same sentences as the whole population. Customers
with too little history to model get the pooled estimate stored with the champion, where
there is one, and the reason that says so. Tiers use the value cut points fitted on the
training population and the overlays of the policy; hysteresis needs the previous run and is
left to `score`. A baseline champion's reasons (RFM quintiles, scorecard dimensions against
their average) rank each customer within the whole population scored, which a batch is not:
its reason columns stay empty here, and `score` gives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import mlflow
import pandas as pd

from tier_ml.cold_start import COLD_START_FEATURES, cold_start_kind, pool_groups
from tier_ml.features.registry import FeatureSpec
from tier_ml.io.keys import POOL
from tier_ml.scoring import (
    Estimates,
    ScoringParams,
    estimate_customers,
    expected_revenue,
    next_steps,
)
from tier_ml.tiering import TierAssigner, tier_inputs

ESTIMATE_COLUMNS = ["p_win", "expected_revenue", "expected_value", "tier", "action", "segment"]
SAID_COLUMNS = ["reason_1", "reason_2", "reason_3", "risk_1", "risk_2"]
OUTPUT_COLUMNS = [*ESTIMATE_COLUMNS, *SAID_COLUMNS, "next_step"]
NUMBERS = ("p_win", "expected_revenue", "expected_value")
# the output as `mlflow.pyfunc.spark_udf(..., result_type=SPARK_RESULT_TYPE)` declares it
SPARK_RESULT_TYPE = ", ".join(
    f"{c} {'double' if c in NUMBERS else 'string'}" for c in OUTPUT_COLUMNS
)


class TierScoringModel(mlflow.pyfunc.PythonModel):
    """Features in; predictions, tiers and exact reasons out."""

    def __init__(
        self,
        models: Mapping[str, Any],
        assigner: TierAssigner,
        params: ScoringParams,
        registry: Mapping[str, FeatureSpec],
    ):
        """`models`: propensity, ltv, segments and the cold-start pool, as scoring loads
        them; `params`: the scoring parameters (policy, reasons, language, currency, next
        step); `registry`: the features' sentences. The long contributions table stays with
        `score`."""
        self.models = dict(models)
        self.assigner = assigner
        self.params = replace(params, top_contributions=0)
        self.registry = dict(registry)

    def cold_starts(self, features: pd.DataFrame) -> pd.Series | None:
        """Why each customer has too little history to model, where a pool stands for them
        (None where the champion scores every customer itself)."""
        pool = self.models.get(POOL)
        if pool is None or pool.empty:
            return None
        needed = (*COLD_START_FEATURES, *pool_groups(pool))
        missing = [c for c in needed if c not in features.columns]
        if missing:
            raise ValueError(
                f"The scoring model gives customers with too little history a pooled "
                f"estimate, which needs the columns {missing}; the input has none of them."
            )
        return cold_start_kind(features, self.params.horizon_days)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A version registered before reasons came in (propensity, ltv, segments, assigner,
        horizon_days, pool), loaded where this code is imported already: its estimates and
        tiers as it gave them, and no reasons or next step, which it never had."""
        if "models" not in state:
            models = {k: state[k] for k in ("propensity", "ltv", "segments")}
            policy = state["assigner"].policy
            state = {
                "models": {**models, POOL: state.get("pool")},
                "assigner": state["assigner"],
                "params": ScoringParams(
                    pd.NaT, state["horizon_days"], policy, {}, n_reasons=0, n_risks=0
                ),
                "registry": {},
            }
        self.__dict__.update(state)

    def estimates(self, features: pd.DataFrame, explain: bool = True) -> Estimates:
        """P(win), expected value and (where `explain`) reasons of each row: exact for a model
        champion; a baseline champion's mapped score, without reasons (see the module's
        docstring)."""
        features = features.assign(customer_id=features.get("customer_id", features.index))
        return estimate_customers(
            features,
            self.models,
            self.params,
            self.registry,
            self.cold_starts(features),
            population=False,
            explain=explain,
        )

    def tiers(self, features: pd.DataFrame, scored: Estimates) -> pd.DataFrame:
        """Tier and action of each row on the fitted cut points."""
        return self.assigner.assign(
            tier_inputs(features, scored.tier_value, self.params.horizon_days)
        )

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        features = model_input.reset_index(drop=True)
        # a version registered before reasons has nothing to say: its values alone
        scored = self.estimates(features, explain=self.params.n_reasons + self.params.n_risks > 0)
        tiers = self.tiers(features, scored)
        segments = self.models["segments"]
        out = pd.DataFrame(
            {
                "p_win": scored.p_win,
                "expected_revenue": expected_revenue(scored.expected_value, scored.p_win),
                "expected_value": scored.expected_value,
                "tier": tiers["tier"].astype(object),
                "action": tiers["action"].astype(object),
                "segment": segments.name(segments.predict(features)).astype(object),
                **{c: scored.reasons.get(c) for c in SAID_COLUMNS},
                "next_step": next_steps(
                    self.models,
                    features,
                    scored.tier_value,
                    tiers["tier"].to_numpy(object),
                    scored.modelled,
                    self.assigner,
                    self.params,
                    scored.raw,
                ),
            }
        )
        return out[OUTPUT_COLUMNS]
