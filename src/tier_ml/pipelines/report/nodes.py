"""Report node: gather the numbers and render one self-contained HTML file."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from tier_ml.drift import drift_overview
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import reason_registry
from tier_ml.report.content import build_content, figure_data_uri
from tier_ml.report.html import render, value_figure
from tier_ml.report.plots import calibration_by_tier_figure, lift_figure, migration_figure


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
    report: dict[str, Any],
    features: dict[str, Any],
) -> str:
    """The leadership report for the latest scoring run: which method sets the tiers and why
    (`champion_selection`), every candidate's tiers at equal shares (the backtest) and the
    paired intervals against the best baseline (`model_metrics`), money in `report.currency`
    and predictions over the features' horizon; the run's drift (`score_drift`) and the
    training's `model_card` as an appendix."""
    feature_params = FeatureParams.from_dict(features)
    labels = {k: s.label for k, s in reason_registry(feature_params.config).items()}
    champion = champion_selection.get("champion")
    method = (
        champion
        if (backtest_tier_table["method"] == champion).any()
        else "model"
        if (backtest_tier_table["method"] == "model").any()
        else "scorecard"
    )
    images = {
        "lift": figure_data_uri(lift_figure(backtest_tier_table, method)),
        "calibration": figure_data_uri(calibration_by_tier_figure(backtest_tier_table, method)),
        "migration": figure_data_uri(migration_figure(tier_migration)),
    }
    content = build_content(
        score_store,
        score_reasons,
        backtest_tier_table,
        quarantine,
        labels,
        report["language"],
        int(report["top_accounts"]),
        int(report["movers"]),
        promotion_record,
        images,
        champion_selection,
        model_metrics,
        currency=report["currency"],
        horizon_days=feature_params.horizon_days,
    )
    words = content.words
    drift_labels = {**labels, "p_win": words["p_win"], "tier": words["drift"]["tier"]}
    content = replace(
        content,
        drift=drift_overview(score_drift, score_store["as_of"].max(), drift_labels),
        model_card=model_card,
    )
    content.images["value"] = figure_data_uri(value_figure(content.headline, content.value_label))
    return render(content)
