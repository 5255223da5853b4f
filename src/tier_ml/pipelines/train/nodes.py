"""Train nodes: model input, fitting on a purged time split, evaluation, registration."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tier_ml.evaluation import reliability_table
from tier_ml.features.config import FeatureParams
from tier_ml.io.registry import FittedModel, ModelToLog
from tier_ml.models.inputs import use_btyd_features, with_model_outputs
from tier_ml.models.opportunity import fit_opportunity_model, opportunity_matrix, opportunity_rows
from tier_ml.models.split import rows_at, time_split
from tier_ml.models.training import TrainedModels, TrainParams, evaluate, train_models
from tier_ml.portable import TierScoringModel
from tier_ml.report.plots import reliability_figure
from tier_ml.tiering import TierAssigner, TierPolicy

logger = logging.getLogger(__name__)


def _params(train: dict[str, Any], features: dict[str, Any]) -> TrainParams:
    return TrainParams.from_dict(train, FeatureParams.from_dict(features).horizon_days)


def build_model_input(
    feature_table: pd.DataFrame,
    deals: pd.DataFrame,
    features: dict[str, Any],
    train: dict[str, Any],
) -> pd.DataFrame:
    """Features plus other models' outputs, each at a cutoff from the past only:
    expected pipeline value (open-deal scoring) and, for transaction data, BG/NBD."""
    params = _params(train, features)
    return with_model_outputs(
        feature_table,
        deals,
        params.horizon_days,
        params.seed,
        use_btyd_features(train["btyd_features"], deals),
    )


def fit_models(
    model_input: pd.DataFrame,
    feature_table: pd.DataFrame,
    deals: pd.DataFrame,
    champion_models: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
) -> tuple[TrainedModels, dict[str, Any]]:
    """All models on a purged split; segment ids matched to the champion's segments."""
    params = _params(train, features)
    split = time_split(
        sorted(model_input["as_of"].unique()),
        params.horizon_days,
        params.valid_cutoffs,
        params.test_cutoffs,
    )
    opportunity = fit_opportunity_model(
        opportunity_rows(deals, feature_table, params.horizon_days), params.seed
    )
    models = train_models(model_input, split, params, champion_models.get("segments"), opportunity)
    if models.rules_only:
        logger.warning("%s", models.check.message)
    summary = {
        "split": split.as_dict(),
        "minimum_data": models.check.as_dict(),
        "rules_only": models.rules_only,
        "ltv_model": models.ltv_kind,
        "segments": {str(k): v for k, v in models.segments.names_.items()},
        "features": models.features,
    }
    return models, summary


def evaluate_models(
    models: TrainedModels,
    model_input: pd.DataFrame,
    features: dict[str, Any],
    train: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], Figure]:
    """Held-out metrics of models and baselines, as a table, MLflow metrics and a plot."""
    params = _params(train, features)
    table = evaluate(models, model_input, params)
    logger.info("Held-out metrics:\n%s", table.round(4).to_string(index=False))
    metrics = {
        f"{row['method']}.{name}": {"value": float(value), "step": 0}
        for row in table.to_dict(orient="records")
        for name, value in row.items()
        if name != "method" and pd.notna(value)
    }
    for kind, values in models.ltv_comparison.items():
        metrics.update(
            {
                f"ltv_{kind}.{k}": {"value": float(v), "step": 0}
                for k, v in values.items()
                if pd.notna(v)
            }
        )
    test = rows_at(model_input, models.split.test)
    curves = {}
    if not models.rules_only:
        x = test[models.features]
        curves = {
            "calibrated": reliability_table(
                test["won_any"].to_numpy(), models.propensity.predict(x)
            ),
            "uncalibrated": reliability_table(
                test["won_any"].to_numpy(), models.propensity.predict_uncalibrated(x)
            ),
        }
    figure = reliability_figure(curves, "Win probability: reliability on the held-out slice")
    return table, metrics, figure


def scoring_model(
    models: TrainedModels, model_input: pd.DataFrame, scoring: dict[str, Any], horizon_days: int
) -> TierScoringModel:
    """The portable scoring path, with tier cut points fitted on the latest cutoff scored."""
    latest = rows_at(model_input, [max(models.split.train + models.split.valid)])
    value = models.ltv.predict(latest[models.features])
    assigner = TierAssigner(TierPolicy.from_dict(scoring)).fit(value)
    return TierScoringModel(models.propensity, models.ltv, models.segments, assigner, horizon_days)


def models_to_register(
    models: TrainedModels,
    model_input: pd.DataFrame,
    feature_table: pd.DataFrame,
    deals: pd.DataFrame,
    features: dict[str, Any],
    scoring: dict[str, Any],
) -> list[ModelToLog]:
    """The models to log and register; none but segments in rules-only mode."""
    example = models.example
    out = [ModelToLog("segments", FittedModel(models.segments), example)]
    horizon = FeatureParams.from_dict(features).horizon_days
    if models.opportunity is not None:
        rows = opportunity_rows(deals, feature_table.tail(2000), horizon)
        out.append(
            ModelToLog(
                "opportunity", FittedModel(models.opportunity), opportunity_matrix(rows).head(5)
            )
        )
    if not models.rules_only:
        out += [
            ModelToLog("propensity", FittedModel(models.propensity), example),
            ModelToLog("ltv", FittedModel(models.ltv), example),
            ModelToLog("scoring", scoring_model(models, model_input, scoring, horizon), example),
        ]
    return out
