"""Score nodes: features at as_of, predictions, tiers, reasons; drift; the run summary."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from tier_ml.drift import (
    SCORE_FEATURES,
    distribution,
    drift_messages,
    drift_metrics,
    population_drift,
)
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import FeatureSpec, reason_registry
from tier_ml.io.keys import REFERENCE, TAGS
from tier_ml.io.scores import ScoreRun, previous_run
from tier_ml.models.inputs import use_btyd_features
from tier_ml.models.matrix import model_columns
from tier_ml.params import check_parameters
from tier_ml.scoring import run_summary, score_customers, scoring_features, scoring_params

logger = logging.getLogger(__name__)


def unpromoted(
    champion_versions: dict[str, int | None], candidate_versions: dict[str, int | None]
) -> dict[str, int]:
    """The candidate versions that the champion alias does not point at."""
    return {
        kind: version
        for kind, version in candidate_versions.items()
        if version is not None and version != champion_versions.get(kind)
    }


def with_labels(reasons: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Each contribution's feature label beside its code, so that a BI table reads without
    a join; a column the registry does not know (a stacked model's baseline score) in
    words."""
    label = reasons["feature"].map(labels).fillna(reasons["feature"].str.replace("_", " "))
    labelled = reasons.copy()
    labelled.insert(reasons.columns.get_loc("feature") + 1, "label", label.astype("str"))
    return labelled


def feature_labels(registry: Mapping[str, FeatureSpec]) -> dict[str, str]:
    """Feature code to label: the run's `features` lookup for BI."""
    return {name: spec.label for name, spec in registry.items()}


class ScoredBeforeTraining(ValueError):
    """Scoring at a date whose outcomes the models were trained on."""


def check_trained_through(as_of: pd.Timestamp, tags: Mapping[str, str]) -> None:
    """Refuse to score before `trained_through`: the champion learned from outcomes after
    that `as_of`, so its tiers there would look better than any real forecast. Backtests
    replay the past with their own per-origin models."""
    if "trained_through" in tags and as_of < pd.Timestamp(tags["trained_through"]):
        raise ScoredBeforeTraining(
            f"scoring.as_of {as_of.date()} is before the champion's trained_through "
            f"{tags['trained_through']} (it learned from outcomes up to then). Score on or after "
            "that date, pin an older model with --params=model_versions.propensity=N, or use "
            "the backtest pipeline to see tiers on past dates."
        )


class StaleData(ValueError):
    """Scoring long after the data ends."""


def check_fresh(as_of: pd.Timestamp, data_end: pd.Timestamp, max_days: int) -> None:
    """Refuse to score far past the data's end: every customer would look silent for the
    missing days (recency, silence overlay), a stale export read as news."""
    gap = (as_of - data_end).days
    if gap > max_days:
        raise StaleData(
            f"scoring.as_of {as_of.date()} is {gap} days after the data's end {data_end.date()}"
            f" (scoring.max_days_after_data_end: {max_days}): the export looks stale. Ingest a "
            "fresh export, or score at the data's end (scoring.as_of: null)."
        )


def drift_references(
    training: pd.DataFrame, stored: pd.DataFrame, previous: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """What a run's drift is measured against: the champion's training population, and the
    previous run's stored distribution; of a run stored before drift monitoring only its p_win
    and tiers, from its scores (its features were not kept). Each gap is said in the log."""
    if training.empty:
        logger.info(
            "No training distribution comes with the champion (none is registered, or it was "
            "trained before drift monitoring): no drift against training until it is retrained"
        )
    if stored.empty and not previous.empty:
        logger.info(
            "The previous run predates drift monitoring and its features were not stored: "
            "only p_win and the tier shares are compared with it"
        )
        stored = distribution(previous, SCORE_FEATURES)
    return {"training": training, "previous_run": stored}


def score_all(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    deal_history: pd.DataFrame,
    data_profile: dict[str, Any],
    champion_versions: dict[str, int | None],
    candidate_versions: dict[str, int | None],
    scoring_models: dict[str, Any],
    score_history: Mapping[pd.Timestamp, Callable[[], pd.DataFrame]],
    score_distributions: Mapping[pd.Timestamp, Callable[[], pd.DataFrame]],
    scoring: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
) -> tuple[ScoreRun, dict[str, Any], dict[str, Any]]:
    """Score every customer known at `scoring.as_of` with the champion models (or the
    scorecard when there is none), measure drift, and summarise the run. `champion_versions`
    and `candidate_versions` order scoring after any promotion and registration in the same
    run; a candidate not promoted is said in the log. Of `score_history` and
    `score_distributions` (loaders per past `as_of`) only the latest run before `as_of` is
    read, for the tier changes and the drift since then."""
    start = time.perf_counter()
    check_parameters(features, train)
    waiting = unpromoted(champion_versions, candidate_versions)
    if waiting:
        logger.warning(
            "Candidate versions %s are not champion: scoring uses the champions %s "
            "(the backtest pipeline's promotion gate moves them)",
            waiting,
            champion_versions,
        )
    data_end = pd.Timestamp(data_profile["data_end"])
    as_of = pd.Timestamp(scoring.get("as_of") or data_end)
    check_fresh(as_of, data_end, int(scoring["max_days_after_data_end"]))
    check_trained_through(as_of, scoring_models.get(TAGS, {}))
    feature_params = FeatureParams.from_dict(features)
    params = scoring_params(
        scoring,
        features,
        train,
        data_profile["data_end"],
        use_btyd_features(train["btyd_features"], deals),
    )
    registry = reason_registry(feature_params.config, params.policy.language)
    table = scoring_features(
        customers,
        deals,
        activities,
        params.as_of,
        feature_params.config,
        params.horizon_days,
        scoring_models.get("opportunity"),
        params.btyd,
        params.scorecard,
        deal_history,
    )
    previous = previous_run(score_history, params.as_of)
    scores, reasons, _ = score_customers(table, scoring_models, params, registry, previous)
    population = table.merge(scores[["customer_id", *SCORE_FEATURES]], on="customer_id")
    references = drift_references(
        scoring_models.get(REFERENCE, pd.DataFrame()),
        previous_run(score_distributions, params.as_of),
        previous,
    )
    drift = population_drift(params.as_of, population, references)
    for line in drift_messages(drift):
        logger.warning("%s", line)
    summary = run_summary(scores, time.perf_counter() - start)
    logger.info(
        "Scored %s as of %s (data to %s): %s",
        "with rules only"
        if summary["rules_only"]
        else f"with the champion models {champion_versions}",
        params.as_of.date(),
        data_end.date(),
        summary,
    )
    metrics = {k: {"value": float(v), "step": 0} for k, v in summary.items()}
    labels = feature_labels(registry)
    watched = [*model_columns(table, train.get("exclude_features") or ()), *SCORE_FEATURES]
    run = ScoreRun(
        params.as_of,
        scores,
        with_labels(reasons, labels),
        params.horizon_days,
        min(data_end, params.as_of),  # a backdated run sees the data up to its as_of
        labels,
        drift,
        distribution(population, watched),
    )
    return run, metrics, drift_metrics(drift)
