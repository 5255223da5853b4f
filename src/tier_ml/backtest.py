"""Rolling-origin replays: what would we have predicted at a past origin O, and what happened.

At each origin O the models are trained only on cutoffs T_k with T_k + H <= O (so every label
window used for training had closed by O), customers are scored at O exactly as `score` does,
and the result is judged against the deals won in [O, O + H).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from tier_ml.features.registry import FeatureConfig
from tier_ml.models.inputs import with_model_outputs
from tier_ml.models.selection import methods_of
from tier_ml.models.training import TrainParams, training_table
from tier_ml.scoring import with_owner
from tier_ml.tiering import Overlays, TierAssigner, TierPolicy, tier_inputs


def origin_model_input(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    origin: pd.Timestamp,
    config: FeatureConfig,
    params: TrainParams,
    btyd: bool = False,
    deal_history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features, labels and other models' outputs at the training `cutoffs` (thinned as the
    train pipeline thins them) and at the replay's `origin` (every customer), as the train
    pipeline has them."""
    horizon = params.horizon_days
    table = training_table(
        customers, deals, activities, cutoffs, config, params, deal_history, (origin,)
    )
    outputs = with_model_outputs(
        table,
        deals,
        horizon,
        params.seed,
        btyd,
        params.scorecard,
        config,
        deal_history,
        params.sampling,
    )
    return with_owner(outputs, customers)


def tier_rows(
    method: str,
    rows: pd.DataFrame,
    predictions: pd.DataFrame,
    policy: TierPolicy,
    horizon_days: int,
) -> pd.DataFrame:
    """Tiers of one method at one origin by the policy alone: no overlays and no hysteresis,
    which would move different numbers of customers for different methods, so under the
    quantile policy every method's tier A holds exactly the same share."""
    value = predictions[f"value_{method}"].to_numpy()
    frame = tier_inputs(rows, value, horizon_days)
    bare = replace(policy, overlays=Overlays(inactivity_days=None, spend_threshold=None))
    tiers = TierAssigner(bare).fit_assign(frame)
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "origin": predictions["origin"].to_numpy(),
            "method": method,
            "tier": tiers["tier"].to_numpy(),
            "p_win": predictions[f"p_{method}"].to_numpy(),
            "expected_value": value,
            "won_any": predictions["won_any"].to_numpy(),
            "won_revenue": predictions["won_revenue"].to_numpy(),
        }
    )


def backtest_tiers(
    predictions: pd.DataFrame, model_input: pd.DataFrame, policy: TierPolicy, horizon_days: int
) -> pd.DataFrame:
    """Every candidate's tiers at every origin, at equal shares."""
    frames = []
    for origin, at_origin in predictions.groupby("origin", sort=True):
        at_origin = at_origin.reset_index(drop=True)
        rows = (
            at_origin[["customer_id"]]
            .assign(as_of=origin)
            .merge(model_input, on=["customer_id", "as_of"], how="left", validate="one_to_one")
        )
        frames += [
            tier_rows(method, rows, at_origin, policy, horizon_days)
            for method in methods_of(at_origin)
        ]
    return pd.concat(frames, ignore_index=True)


def cutoffs_used(
    predictions: pd.DataFrame, model_input: pd.DataFrame, horizon_days: int
) -> pd.DataFrame:
    """For each origin, the cutoffs its candidates were fitted on (label windows closed)."""
    cutoffs = sorted(pd.Timestamp(t) for t in model_input["as_of"].unique())
    window = pd.Timedelta(days=horizon_days)
    return pd.DataFrame(
        [
            {"origin": origin, "cutoff": t, "label_window_end": t + window}
            for origin in sorted(pd.Timestamp(o) for o in predictions["origin"].unique())
            for t in cutoffs
            if t + window <= origin
        ]
    )
