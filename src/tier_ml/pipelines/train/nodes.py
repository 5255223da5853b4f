"""Train nodes: model input, candidates evaluated at rolling origins, the champion refitted
on every labelled cutoff, its metrics and registration, its training population (for drift),
its cold-start pool and its model card."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tier_ml.cold_start import pool_against_champion, pool_earns_its_place, pooled_outcomes
from tier_ml.drift import SCORE_FEATURES, distribution
from tier_ml.evaluation import reliability_table
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import reason_registry
from tier_ml.io.keys import POOL
from tier_ml.io.registry import FittedModel, ModelToLog
from tier_ml.model_card import card_markdown, model_card
from tier_ml.models.inputs import use_btyd_features, with_model_outputs
from tier_ml.models.opportunity import (
    fit_opportunity_model,
    held_out_auc,
    opportunity_matrix,
    opportunity_rows,
)
from tier_ml.models.training import (
    TrainedModels,
    TrainParams,
    evaluate_candidates,
    refit_champion,
)
from tier_ml.params import check_parameters
from tier_ml.portable import TierScoringModel
from tier_ml.report.plots import reliability_figure
from tier_ml.scoring import Estimates, scoring_params, with_owner
from tier_ml.tiering import TierAssigner

logger = logging.getLogger(__name__)


def _params(train: dict[str, Any], features: dict[str, Any]) -> TrainParams:
    return TrainParams.from_dict(train, FeatureParams.from_dict(features).horizon_days)


def build_model_input(
    feature_table: pd.DataFrame,
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    deal_history: pd.DataFrame,
    features: dict[str, Any],
    train: dict[str, Any],
) -> pd.DataFrame:
    """Features plus other models' outputs, each at a cutoff from the past only:
    expected pipeline value (open-deal scoring), BG/NBD for transaction data, and the
    baselines' scores for the stacked candidate. The owner rides along for capacity tiers."""
    check_parameters(features, train)
    params = _params(train, features)
    table = with_model_outputs(
        feature_table,
        deals,
        params.horizon_days,
        params.seed,
        use_btyd_features(train["btyd_features"], deals),
        params.scorecard,
        FeatureParams.from_dict(features).config,
        deal_history,
        params.sampling,
    )
    return with_owner(table, customers)


def fit_models(
    model_input: pd.DataFrame,
    feature_table: pd.DataFrame,
    deals: pd.DataFrame,
    deal_history: pd.DataFrame,
    champion_models: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
) -> tuple[TrainedModels, dict[str, Any], pd.DataFrame]:
    """Evaluate every candidate at rolling origins, choose the champion, refit it on every
    labelled cutoff; segment ids matched to the champion's segments."""
    params = _params(train, features)
    evaluation = evaluate_candidates(model_input, params)
    selection = evaluation.selection
    logger.info(
        "Champion: %s (%s; evidence: %s)\n%s",
        selection.champion,
        selection.reason,
        selection.evidence,
        selection.table.drop(columns=["label"]).round(4).to_string(index=False),
    )
    deal_rows = opportunity_rows(
        deals,
        feature_table,
        params.horizon_days,
        FeatureParams.from_dict(features).config,
        deal_history,
    )
    opportunity = fit_opportunity_model(deal_rows, params.seed, sampling=params.sampling)
    opportunity_check = held_out_auc(deal_rows, params.horizon_days, params.seed, params.sampling)
    if opportunity_check:
        logger.info(
            "Opportunity model: AUC %.3f on the %d deals open at %s (fitted only on label "
            "windows closed by then)",
            opportunity_check["auc"],
            opportunity_check["deals"],
            opportunity_check["as_of"],
        )
    models = refit_champion(
        model_input, selection, params, champion_models.get("segments"), opportunity
    )
    if not models.check.passed:
        logger.warning("%s", models.check.message)
    summary = {
        "champion": selection.as_dict(),
        "cutoffs": [t.date().isoformat() for t in models.cutoffs],
        "trained_through": models.trained_through.date().isoformat(),
        "minimum_data": models.check.as_dict(),
        "opportunity_held_out": opportunity_check,
        "rules_only": models.rules_only,
        "segments": {str(k): v for k, v in models.segments.names_.items()},
        "features": models.features,
    }
    return models, summary, evaluation.predictions


def evaluate_models(
    models: TrainedModels, candidate_predictions: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any], Figure, dict[str, Any]]:
    """The per-candidate table with paired intervals, as a table and MLflow metrics, the
    champion's reliability plot at the evaluation origins, and the decision."""
    table = models.selection.table
    metrics = {
        f"{row['method']}.{name}": {"value": float(value), "step": 0}
        for row in table.to_dict(orient="records")
        for name, value in row.items()
        if isinstance(value, float | int) and not isinstance(value, bool) and pd.notna(value)
    }
    won = candidate_predictions["won_any"].to_numpy()
    champion = models.selection.champion
    curves = {
        name: reliability_table(won, candidate_predictions[f"p_{method}"].to_numpy())
        for name, method in ((f"champion ({champion})", champion), ("model", "model"))
        if f"p_{method}" in candidate_predictions
    }
    figure = reliability_figure(curves, "Win probability: reliability at the evaluation origins")
    return table, metrics, figure, models.selection.as_dict()


def deployed_scoring(
    models: TrainedModels,
    model_input: pd.DataFrame,
    scoring: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
    pool: pd.DataFrame,
) -> tuple[TierScoringModel, pd.DataFrame, Estimates]:
    """The portable scoring path with the scoring parameters (reasons, language, currency,
    next step), the cold-start pool (empty where the champion scores cold starts itself) and
    tier cut points fitted on the latest labelled cutoff's values as it gives them; with
    those rows and their values."""
    latest = model_input[model_input["as_of"] == models.cutoffs[-1]].reset_index(drop=True)
    # the model reads no as_of (its rows carry their own) and builds no BG/NBD columns
    params = scoring_params(scoring, features, train, str(models.trained_through.date()), False)
    model = TierScoringModel(
        {
            "propensity": models.champion.propensity,
            "ltv": models.champion.ltv,
            "segments": models.segments,
            POOL: pool,
        },
        TierAssigner(params.policy),
        params,
        reason_registry(FeatureParams.from_dict(features).config, params.policy.language),
    )
    scored = model.estimates(latest, explain=False)
    model.assigner.fit(pd.Series(scored.tier_value))
    return model, latest, scored


def models_to_register(
    models: TrainedModels,
    model_input: pd.DataFrame,
    feature_table: pd.DataFrame,
    deals: pd.DataFrame,
    features: dict[str, Any],
    scoring: dict[str, Any],
    train: dict[str, Any],
    pool: pd.DataFrame,
) -> list[ModelToLog]:
    """The champion's models to log and register (a baseline champion too), tagged with
    the method, `trained_through` and the cutoffs it was fitted on."""
    example = models.example
    out = [ModelToLog("segments", FittedModel(models.segments), example)]
    feature_params = FeatureParams.from_dict(features)
    horizon = feature_params.horizon_days
    if models.opportunity is not None:
        rows = opportunity_rows(deals, feature_table.tail(2000), horizon, feature_params.config)
        out.append(
            ModelToLog(
                "opportunity", FittedModel(models.opportunity), opportunity_matrix(rows).head(5)
            )
        )
    out += [
        ModelToLog("propensity", FittedModel(models.champion.propensity), example),
        ModelToLog("ltv", FittedModel(models.champion.ltv), example),
        ModelToLog(
            "scoring",
            deployed_scoring(models, model_input, scoring, features, train, pool)[0],
            example,
        ),
    ]
    tags = model_tags(models)
    return [replace(m, tags=tags) for m in out]


def model_tags(models: TrainedModels) -> dict[str, str]:
    """What every registered version carries: scoring before `trained_through` is refused."""
    return {
        "champion_method": models.champion.method,
        "trained_through": models.trained_through.date().isoformat(),
        "cutoffs": ",".join(t.date().isoformat() for t in models.cutoffs),
        "selection": models.selection.reason,
    }


def drift_reference(
    models: TrainedModels,
    model_input: pd.DataFrame,
    features: dict[str, Any],
    scoring: dict[str, Any],
    train: dict[str, Any],
    pool: pd.DataFrame,
) -> pd.DataFrame:
    """The population the champion learned from, for drift at every scoring run: bins and
    shares of each feature, of p_win and of the tiers on the latest cutoff's rows, as the
    registered scoring model scores them. Logged in the run that registers the models."""
    model, latest, scored = deployed_scoring(models, model_input, scoring, features, train, pool)
    tiers = model.tiers(latest, scored)["tier"].to_numpy()
    population = latest.assign(p_win=scored.p_win, tier=tiers)
    return distribution(population, [*models.features, *SCORE_FEATURES])


def cold_start_pool(
    models: TrainedModels,
    model_input: pd.DataFrame,
    candidate_predictions: pd.DataFrame,
    features: dict[str, Any],
) -> pd.DataFrame:
    """What customers with too little history went on to win, per kind, industry and region
    (the declared categorical attributes the models read), on the cutoffs the champion was
    fitted on: scoring gives them this pooled estimate, if it predicted them better than the
    champion at the evaluation origins; else the pool is empty and the champion scores them.
    Logged in the run that registers the models."""
    feature_params = FeatureParams.from_dict(features)
    horizon = feature_params.horizon_days
    # only attributes the models read: the registered scoring model's input carries no other
    groups = [c for c in feature_params.config.categorical_attributes if c in models.features]
    rows = model_input[model_input["as_of"].isin(models.cutoffs)]
    pool = pooled_outcomes(rows, horizon, groups)
    comparison = pool_against_champion(
        model_input, candidate_predictions, models.champion.method, horizon, groups
    )
    used = pool_earns_its_place(comparison)
    logger.info(
        "Cold-start customers: %s (%s)",
        "the pooled estimate of similar accounts" if used else "the champion's own estimate",
        ", ".join(f"{k} {v:.4g}" for k, v in comparison.items()) + " at the evaluation origins",
    )
    return pool if used else pool.head(0)


def describe_models(
    data_profile: dict[str, Any],
    models: TrainedModels,
    versions: dict[str, int | None],
    features: dict[str, Any],
    train: dict[str, Any],
) -> tuple[dict[str, Any], str]:
    """The model card of this training (see `tier_ml.model_card`), as data and as Markdown.
    It takes the registered versions, so it names them and runs after the registration."""
    card = model_card(
        data_profile,
        models,
        versions,
        train["propensity"]["calibration"],
        FeatureParams.from_dict(features).config.deal_fields_known_at_creation,
    )
    return card, card_markdown(card)
