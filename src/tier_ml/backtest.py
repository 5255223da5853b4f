"""Rolling-origin replays: what would we have predicted at a past origin O, and what happened.

At each origin O the models are trained only on cutoffs T_k with T_k + H <= O (so every label
window used for training had closed by O), customers are scored at O exactly as `score` does,
and the result is judged against the deals won in [O, O + H).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.evaluation import classification_metrics
from tier_ml.features.build import build_feature_table, training_cutoffs
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.inputs import with_model_outputs
from tier_ml.models.opportunity import fit_opportunity_model, opportunity_rows
from tier_ml.models.segments import SegmentModel
from tier_ml.models.split import time_split
from tier_ml.models.training import (
    TrainedModels,
    TrainParams,
    methods_in,
    predictions_at,
    train_models,
)
from tier_ml.scoring import with_owner
from tier_ml.tiering import TierAssigner, TierPolicy, tier_inputs


def backtest_origins(spec: Any, data_end: pd.Timestamp, horizon_days: int) -> list[pd.Timestamp]:
    """Origins from a list or start/end/step; each must have complete outcomes."""
    if isinstance(spec, dict):
        origins = list(
            pd.date_range(
                spec["start"], spec["end"], freq=pd.DateOffset(months=int(spec["step_months"]))
            )
        )
    else:
        origins = [pd.Timestamp(o) for o in spec]
    late = [o.date().isoformat() for o in origins if o + pd.Timedelta(days=horizon_days) > data_end]
    if late:
        raise ValueError(
            f"backtest origins {late} have no complete outcome window: origin + "
            f"{horizon_days} days is after the data's end {data_end.date()}"
        )
    return origins


@dataclass(frozen=True)
class OriginReplay:
    """The models trained for one origin and every method's predictions at it."""

    origin: pd.Timestamp
    models: TrainedModels
    model_input: pd.DataFrame
    predictions: pd.DataFrame


def replay_origin(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    origin: pd.Timestamp,
    config: FeatureConfig,
    params: TrainParams,
    cutoff_count: int,
    step_months: int = 1,
    btyd: bool = False,
    previous_segments: SegmentModel | None = None,
) -> OriginReplay:
    """Train on cutoffs whose label windows closed by `origin`, predict at `origin`."""
    origin = pd.Timestamp(origin)
    horizon = params.horizon_days
    cutoffs = training_cutoffs(origin, horizon, cutoff_count, step_months)
    table = build_feature_table(customers, deals, activities, [*cutoffs, origin], horizon, config)
    model_input = with_owner(
        with_model_outputs(table, deals, horizon, params.seed, btyd), customers
    )
    split = time_split([*cutoffs, origin], horizon, params.valid_cutoffs, test_cutoffs=1)
    history = table[table["as_of"] < origin]
    opportunity = fit_opportunity_model(opportunity_rows(deals, history, horizon), params.seed)
    models = train_models(model_input, split, params, previous_segments, opportunity)
    predictions = predictions_at(models, model_input, params, [origin])
    return OriginReplay(origin, models, model_input, predictions)


def tier_rows(
    origin: pd.Timestamp,
    method: str,
    rows: pd.DataFrame,
    p_win: np.ndarray,
    value: np.ndarray,
    policy: TierPolicy,
    previous: pd.Series | None,
    horizon_days: int,
) -> pd.DataFrame:
    """Tiers of one method at one origin, under the same policy and overlays as scoring."""
    frame = tier_inputs(rows, value, horizon_days, previous)
    tiers = TierAssigner(policy).fit(frame["expected_value"]).assign(frame)
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "origin": origin,
            "method": method,
            "tier": tiers["tier"].to_numpy(),
            "p_win": p_win,
            "expected_value": value,
            "won_any": rows["won_any"].to_numpy(),
            "won_revenue": rows["won_revenue"].to_numpy(),
        }
    )


def origin_tiers(
    replay: OriginReplay, policy: TierPolicy, previous: dict[str, pd.Series], horizon_days: int
) -> pd.DataFrame:
    """Every method's tiers at the replay's origin; the model's as `score` gives them."""
    at_origin = replay.model_input[replay.model_input["as_of"] == replay.origin].reset_index(
        drop=True
    )
    predictions = replay.predictions.reset_index(drop=True)
    frames = []
    for method in methods_in(predictions):
        frames.append(
            tier_rows(
                replay.origin,
                method,
                at_origin,
                predictions[f"p_{method}"].to_numpy(),
                predictions[f"value_{method}"].to_numpy(),
                policy,
                previous.get(method),
                horizon_days,
            )
        )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class BacktestResult:
    """Tiers of every method at every origin, and the cutoffs each origin trained on."""

    tiers: pd.DataFrame
    cutoffs_used: pd.DataFrame


def run_backtest(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    origins: list[pd.Timestamp],
    config: FeatureConfig,
    params: TrainParams,
    policy: TierPolicy,
    cutoff_count: int,
    step_months: int = 1,
    btyd: bool = False,
) -> BacktestResult:
    """Replay each origin in order; segments and tiers carry over from one to the next."""
    frames, used = [], []
    segments, previous = None, {}
    for origin in sorted(pd.Timestamp(o) for o in origins):
        replay = replay_origin(
            customers,
            deals,
            activities,
            origin,
            config,
            params,
            cutoff_count,
            step_months,
            btyd,
            segments,
        )
        segments = replay.models.segments
        tiers = origin_tiers(replay, policy, previous, params.horizon_days)
        previous = {m: g.set_index("customer_id")["tier"] for m, g in tiers.groupby("method")}
        frames.append(tiers)
        split = replay.models.split
        used += [
            {
                "origin": origin,
                "slice": name,
                "cutoff": t,
                "label_window_end": t + pd.Timedelta(days=params.horizon_days),
            }
            for name in ("train", "valid")
            for t in getattr(split, name)
        ]
    return BacktestResult(pd.concat(frames, ignore_index=True), pd.DataFrame(used))


def gate_metrics(tiers: pd.DataFrame) -> dict[str, float]:
    """AUC of the win probability and the revenue share of tier A."""
    won = tiers["won_any"].to_numpy()
    revenue = tiers["won_revenue"].to_numpy()
    top = tiers["tier"].eq("A").to_numpy()
    return {
        "auc": classification_metrics(won, tiers["p_win"].to_numpy())["auc"],
        "top_tier_revenue_capture": float(revenue[top].sum() / revenue.sum())
        if revenue.sum() > 0
        else float("nan"),
    }


def promotion_decision(
    candidate: dict[str, float], champion: dict[str, float], primary: list[str], tolerance: float
) -> dict[str, object]:
    """Promote unless the candidate is worse than the champion by more than `tolerance`
    on any primary metric."""
    worse = [m for m in primary if candidate[m] < champion[m] - tolerance]
    return {
        "promote": not worse,
        "reason": ("candidate within tolerance on " + ", ".join(primary))
        if not worse
        else (
            "candidate worse on "
            + ", ".join(f"{m} ({candidate[m]:.4f} vs {champion[m]:.4f})" for m in worse)
        ),
        "candidate": candidate,
        "champion": champion,
        "tolerance": tolerance,
    }


def models_tiers(
    models: dict[str, Any],
    model_input: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    policy: TierPolicy,
    horizon_days: int,
) -> pd.DataFrame:
    """A fitted model set's tiers at held-out cutoffs (for the promotion gate)."""
    frames = []
    for t in cutoffs:
        rows = model_input[model_input["as_of"] == t].reset_index(drop=True)
        x = rows[models["propensity"].features_]
        frames.append(
            tier_rows(
                t,
                "model",
                rows,
                models["propensity"].predict(x),
                models["ltv"].predict(x),
                policy,
                None,
                horizon_days,
            )
        )
    return pd.concat(frames, ignore_index=True)
