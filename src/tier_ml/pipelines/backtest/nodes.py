"""Backtest nodes: replay origins, judge tiers against outcomes, gate promotions."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tier_ml.backtest import backtest_tiers, cutoffs_used
from tier_ml.cold_start import champion_as_scored, pool_groups
from tier_ml.evaluation import (
    classification_metrics,
    dwell_times,
    migration_matrix,
    monotone_tiers,
    revenue_metrics,
    tier_table,
)
from tier_ml.features.config import FeatureParams
from tier_ml.report.plots import calibration_by_tier_figure, lift_figure, migration_figure
from tier_ml.tiering import TierPolicy

logger = logging.getLogger(__name__)


def tier_backtest(
    candidate_predictions: pd.DataFrame,
    model_input: pd.DataFrame,
    cold_start_pool: pd.DataFrame,
    champion_selection: dict[str, Any],
    features: dict[str, Any],
    scoring: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every candidate's tiers at the origins the champion was chosen on, with what
    happened next, and the cutoffs each origin was fitted on. Where scoring gives cold starts
    the pooled estimate (a non-empty `cold_start_pool`), the champion's are tiered so too."""
    horizon = FeatureParams.from_dict(features).horizon_days
    if len(cold_start_pool):
        champion = champion_selection["champion"]
        candidate_predictions = champion_as_scored(
            candidate_predictions, model_input, champion, horizon, pool_groups(cold_start_pool)
        )
        logger.info(
            "Backtest: the champion's (%s) cold-start customers take the pooled estimate, "
            "as scoring gives it",
            champion,
        )
    tiers = backtest_tiers(
        candidate_predictions, model_input, TierPolicy.from_dict(scoring), horizon
    )
    return tiers, cutoffs_used(candidate_predictions, model_input, horizon)


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
    tiers: pd.DataFrame, champion_selection: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Tier accuracy, overall metrics with the monotonicity flag, and the champion's tier
    migration and dwell."""
    table = tier_table(tiers)
    overall = overall_metrics(tiers).merge(monotone_tiers(table), on=["origin", "method"])
    source = tiers[tiers["method"] == champion_selection["champion"]]
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


def backtest_figures(
    table: pd.DataFrame, migration: pd.DataFrame, champion_selection: dict[str, Any]
) -> tuple[Figure, Figure, Figure]:
    """Lift and calibration by tier of the champion, and its tier migration."""
    method = champion_selection["champion"]
    return (
        lift_figure(table, method),
        calibration_by_tier_figure(table, method),
        migration_figure(migration),
    )


def promotion_gate(
    candidate_versions: dict[str, int | None], champion_selection: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The refitted champion replaces the current one once its selection is sound: chosen by
    the paired rule on finite metrics at the evaluation origins. A refitted model cannot be
    compared with the old champion on held-out outcomes (it has learned from all of them):
    the replays at rolling origins are that comparison."""
    if not any(candidate_versions.values()):
        decision = {"promote": False, "reason": "no candidate registered"}
    elif not champion_selection.get("champion") or not champion_selection.get("sound"):
        decision = {
            "promote": False,
            "reason": "no champion with finite metrics: "
            + champion_selection.get("reason", "no selection"),
        }
    else:
        decision = {
            "promote": True,
            "reason": champion_selection["reason"],
            "champion": champion_selection["champion"],
            "evidence": champion_selection["evidence"],
            "candidate_versions": candidate_versions,
        }
    logger.info(
        "Promotion gate: %s (%s)",
        "PROMOTE" if decision["promote"] else "KEEP CHAMPION",
        decision["reason"],
    )
    metrics = {"gate.promote": {"value": float(decision["promote"]), "step": 0}}
    return decision, decision, metrics
