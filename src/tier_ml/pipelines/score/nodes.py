"""Score nodes: features at as_of, predictions, tiers, reasons; the run summary."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd

from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import reason_registry
from tier_ml.io.scores import ScoreRun
from tier_ml.models.inputs import use_btyd_features
from tier_ml.scoring import ScoringParams, run_summary, score_customers, scoring_features
from tier_ml.tiering import TierPolicy

logger = logging.getLogger(__name__)


def scoring_params(
    scoring: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
    data_end: str,
    btyd: bool,
) -> ScoringParams:
    return ScoringParams(
        as_of=pd.Timestamp(scoring.get("as_of") or data_end),
        horizon_days=FeatureParams.from_dict(features).horizon_days,
        policy=TierPolicy.from_dict(scoring),
        scorecard=train["scorecard"],
        n_reasons=int(scoring["reasons"]),
        n_risks=int(scoring["risks"]),
        top_contributions=int(scoring["top_contributions"]),
        btyd=btyd,
    )


def score_all(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    data_profile: dict[str, Any],
    champion_versions: dict[str, int | None],
    scoring_models: dict[str, Any],
    score_history: pd.DataFrame,
    scoring: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
) -> tuple[ScoreRun, dict[str, Any]]:
    """Score every customer known at `scoring.as_of` with the champion models (or the
    scorecard when there is none) and summarise the run. `champion_versions` orders scoring
    after any promotion in the same run, and is logged."""
    start = time.perf_counter()
    feature_params = FeatureParams.from_dict(features)
    params = scoring_params(
        scoring,
        features,
        train,
        data_profile["data_end"],
        use_btyd_features(train["btyd_features"], deals),
    )
    table = scoring_features(
        customers,
        deals,
        activities,
        params.as_of,
        feature_params.config,
        params.horizon_days,
        scoring_models.get("opportunity"),
        params.btyd,
    )
    scores, reasons, _ = score_customers(
        table, scoring_models, params, reason_registry(feature_params.config), score_history
    )
    summary = run_summary(scores, time.perf_counter() - start)
    logger.info(
        "Scored %s as of %s: %s",
        "with rules only"
        if summary["rules_only"]
        else f"with the champion models {champion_versions}",
        params.as_of.date(),
        summary,
    )
    metrics = {k: {"value": float(v), "step": 0} for k, v in summary.items()}
    return ScoreRun(params.as_of, scores, reasons), metrics
