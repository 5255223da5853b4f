"""Backtest nodes: replay origins, judge tiers against outcomes, gate promotions."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tier_ml.backtest import (
    backtest_origins,
    gate_metrics,
    models_tiers,
    promotion_decision,
    run_backtest,
)
from tier_ml.evaluation import (
    classification_metrics,
    dwell_times,
    migration_matrix,
    monotone_tiers,
    revenue_metrics,
    tier_table,
)
from tier_ml.features.config import FeatureParams
from tier_ml.models.inputs import use_btyd_features
from tier_ml.models.training import TrainParams
from tier_ml.report.plots import calibration_by_tier_figure, lift_figure, migration_figure
from tier_ml.tiering import TierPolicy

logger = logging.getLogger(__name__)


def replay_backtest(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    data_profile: dict[str, Any],
    backtest: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
    scoring: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tiers of the model and every baseline at every origin, with what happened next."""
    feature_params = FeatureParams.from_dict(features)
    params = TrainParams.from_dict(train, feature_params.horizon_days)
    origins = backtest_origins(
        backtest["origins"], pd.Timestamp(data_profile["data_end"]), params.horizon_days
    )
    result = run_backtest(
        customers,
        deals,
        activities,
        origins,
        feature_params.config,
        params,
        TierPolicy.from_dict(scoring),
        int(backtest["cutoffs"]),
        int(backtest["step_months"]),
        use_btyd_features(train["btyd_features"], deals),
    )
    return result.tiers, result.cutoffs_used


def overall_metrics(tiers: pd.DataFrame) -> pd.DataFrame:
    """Per origin and method: AUC, Brier, ECE, Spearman and normalised Gini."""
    rows = []
    for (origin, method), group in tiers.groupby(["origin", "method"]):
        won, revenue = group["won_any"].to_numpy(), group["won_revenue"].to_numpy()
        probability = classification_metrics(won, group["p_win"].to_numpy())
        ranking = revenue_metrics(revenue, group["expected_value"].to_numpy())
        rows.append(
            {
                "origin": origin,
                "method": method,
                "auc": probability["auc"],
                "brier": probability["brier"],
                "ece": probability["ece"],
                "spearman": ranking["spearman"],
                "normalized_gini": ranking["normalized_gini"],
            }
        )
    return pd.DataFrame(rows)


def summarise_backtest(
    tiers: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Tier accuracy, overall metrics with the monotonicity flag, migration and dwell."""
    table = tier_table(tiers)
    overall = overall_metrics(tiers).merge(monotone_tiers(table), on=["origin", "method"])
    model = tiers[tiers["method"] == "model"]
    source = model if len(model) else tiers[tiers["method"] == "scorecard"]
    migration = migration_matrix(source[["customer_id", "origin", "tier"]])
    dwell = dwell_times(source[["customer_id", "origin", "tier"]])
    mean = overall.groupby("method")[["auc", "normalized_gini", "monotone"]].mean()
    logger.info("Backtest, mean over origins:\n%s", mean.round(4).to_string())
    metrics = {
        f"backtest.{method}.{name}": {"value": float(value), "step": 0}
        for method, row in mean.iterrows()
        for name, value in row.items()
    }
    return table, overall, migration, dwell, metrics


def backtest_figures(table: pd.DataFrame, migration: pd.DataFrame) -> tuple[Figure, Figure, Figure]:
    method = "model" if (table["method"] == "model").any() else "scorecard"
    return (
        lift_figure(table, method),
        calibration_by_tier_figure(table, method),
        migration_figure(migration),
    )


def gate_cutoffs(setting: Any, training_summary: dict[str, Any]) -> list[pd.Timestamp]:
    if setting == "held_out":
        return [pd.Timestamp(t) for t in training_summary["split"]["test"]]
    return [pd.Timestamp(t) for t in setting]


def promotion_gate(
    candidate_models: dict[str, Any],
    champion_models: dict[str, Any],
    model_input: pd.DataFrame,
    training_summary: dict[str, Any],
    backtest: dict[str, Any],
    features: dict[str, Any],
    scoring: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Candidate against champion on the gate cutoffs; `champion` moves only if the
    candidate is not worse beyond the tolerance on the primary metrics."""
    gate = backtest["gate"]
    if "propensity" not in candidate_models:
        decision = {"promote": False, "reason": "no candidate model (rules only)"}
    elif "propensity" not in champion_models:
        decision = {"promote": True, "reason": "no champion yet"}
    else:
        cutoffs = gate_cutoffs(gate["cutoffs"], training_summary)
        policy = TierPolicy.from_dict(scoring)
        horizon = FeatureParams.from_dict(features).horizon_days
        decision = promotion_decision(
            gate_metrics(models_tiers(candidate_models, model_input, cutoffs, policy, horizon)),
            gate_metrics(models_tiers(champion_models, model_input, cutoffs, policy, horizon)),
            list(gate["primary_metrics"]),
            float(gate["tolerance"]),
        )
    logger.info(
        "Promotion gate: %s (%s)",
        "PROMOTE" if decision["promote"] else "KEEP CHAMPION",
        decision["reason"],
    )
    metrics = {"gate.promote": {"value": float(decision["promote"]), "step": 0}}
    for side in ("candidate", "champion"):
        for name, value in decision.get(side, {}).items():
            metrics[f"gate.{side}.{name}"] = {"value": float(value), "step": 0}
    return decision, decision, metrics
