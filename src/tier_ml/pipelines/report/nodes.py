"""Report nodes: gather the numbers and render one self-contained HTML file; each owner's list
for the CRM."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from tier_ml.drift import drift_overview
from tier_ml.features.build import build_features
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import feature_registry, reason_registry
from tier_ml.models.baselines import last_period_column, last_period_revenue
from tier_ml.report.content import (
    build_content,
    card_in,
    figure_data_uri,
    latest_run,
    method_label,
    tier_trends,
)
from tier_ml.report.html import render, value_figure
from tier_ml.report.owners import owner_lists
from tier_ml.report.plots import (
    calibration_by_tier_figure,
    chart_language,
    lift_figure,
    migration_figure,
    trend_figure,
)


def measure_current_value(
    score_store: pd.DataFrame,
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    deal_history: pd.DataFrame,
    features: dict[str, Any],
) -> pd.DataFrame:
    """Each customer's revenue won in the last period (the won-revenue window closest to the
    horizon, as the last-period baseline reads it) at the latest run's `as_of`, from the
    features scoring computes: the value–potential matrix's current value."""
    params = FeatureParams.from_dict(features)
    as_of = score_store["as_of"].max()
    built = build_features(customers, deals, activities, as_of, params.config, deal_history)
    return pd.DataFrame(
        {
            "customer_id": built["customer_id"],
            "current_value": last_period_revenue(built, params.horizon_days),
        }
    )


def window_days(params: FeatureParams) -> int:
    """The days of the last period: `won_revenue_180d` -> 180."""
    column = last_period_column(feature_registry(params.config), params.horizon_days)
    return int(column.removeprefix("won_revenue_").removesuffix("d"))


def latest_owner_lists(score_store: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The latest run's accounts, one CSV per owner (and one of the unassigned), for the
    CRM."""
    scores, _ = latest_run(score_store)
    return owner_lists(scores)


def scored_data_end(score_runs: pd.DataFrame, as_of: pd.Timestamp) -> str | None:
    """The last date of the data the run at `as_of` scored, as the run recorded it: not the
    current ingest's, which may be newer than the run reported. None for a run stored before
    runs recorded it."""
    if "data_end" not in score_runs:
        return None
    ends = score_runs.loc[score_runs["as_of"] == as_of, "data_end"].dropna()
    return pd.Timestamp(ends.iloc[-1]).date().isoformat() if len(ends) else None


def build_report(
    score_store: pd.DataFrame,
    score_reasons: pd.DataFrame,
    backtest_tier_table: pd.DataFrame,
    tier_migration: pd.DataFrame,
    quarantine: pd.DataFrame,
    promotion_record: dict[str, Any],
    champion_selection: dict[str, Any],
    model_metrics: pd.DataFrame,
    score_drift: pd.DataFrame,
    model_card: dict[str, Any],
    current_value: pd.DataFrame,
    score_runs: pd.DataFrame,
    report: dict[str, Any],
    features: dict[str, Any],
) -> str:
    """The leadership report for the latest scoring run: which method sets the tiers and why
    (`champion_selection`), every candidate's tiers at equal shares (the backtest) and the
    paired intervals against the best baseline (`model_metrics`), money in `report.currency`
    and predictions over the features' horizon; the run's drift (`score_drift`) and the
    training's `model_card` as an appendix; the trends across the stored runs, each owner's
    list, and the value–potential matrix from `current_value`; beside `as_of`, the end of the
    data that run scored (`score_runs`), so a run on stale data shows it."""
    feature_params = FeatureParams.from_dict(features)
    registry = reason_registry(feature_params.config, report["language"])
    labels = {k: s.label for k, s in registry.items()}
    champion = champion_selection.get("champion")
    method = (
        champion
        if (backtest_tier_table["method"] == champion).any()
        else "model"
        if (backtest_tier_table["method"] == "model").any()
        else "scorecard"
    )
    language = report["language"]
    label = method_label(method, chart_language(language))
    images = {
        "lift": figure_data_uri(lift_figure(backtest_tier_table, method, label, language)),
        "calibration": figure_data_uri(
            calibration_by_tier_figure(backtest_tier_table, method, language)
        ),
        "migration": figure_data_uri(migration_figure(tier_migration, language)),
    }
    content = build_content(
        score_store,
        score_reasons,
        backtest_tier_table,
        quarantine,
        labels,
        language,
        int(report["top_accounts"]),
        int(report["movers"]),
        promotion_record,
        images,
        champion_selection,
        model_metrics,
        currency=report["currency"],
        horizon_days=feature_params.horizon_days,
        owner_accounts=int(report["owner_accounts"]),
        current_value=current_value,
        value_window_days=window_days(feature_params),
    )
    words = content.words
    drift_labels = {**labels, "p_win": words["p_win"], "tier": words["drift"]["tier"]}
    content = replace(
        content,
        drift=drift_overview(score_drift, score_store["as_of"].max(), drift_labels),
        model_card=card_in(model_card, language),
        data_end=scored_data_end(score_runs, score_store["as_of"].max()),
    )
    content.images["value"] = figure_data_uri(
        value_figure(content.headline, content.value_label, language)
    )
    if content.runs > 1:
        trends = trend_figure(tier_trends(score_store), content.value_label, language)
        content.images["trends"] = figure_data_uri(trends)
    return render(content)
