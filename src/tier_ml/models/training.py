"""Training and evaluation of every model on a purged time split: one entry point that the
train pipeline and the backtests share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.evaluation import classification_metrics, revenue_metrics
from tier_ml.models.baselines import (
    ScoreMapper,
    last_period_revenue,
    parse_scorecard,
    rfm_score,
    scorecard_score,
)
from tier_ml.models.ltv import HurdleLTV, TweedieLTV
from tier_ml.models.matrix import model_columns
from tier_ml.models.propensity import PropensityModel
from tier_ml.models.segments import SegmentModel
from tier_ml.models.split import TimeSplit, rows_at


@dataclass(frozen=True)
class TrainParams:
    """The `train` parameters, typed."""

    horizon_days: int
    valid_cutoffs: int = 2
    test_cutoffs: int = 1
    min_positives: int = 40
    min_negatives: int = 40
    seed: int = 0
    calibration: str = "platt"
    lgbm: dict[str, Any] = field(default_factory=dict)
    ltv_default: str = "auto"
    ltv_select_by: str = "normalized_gini"
    tweedie_variance_power: float = 1.3
    segment_k_range: tuple[int, int] = (3, 7)
    scorecard: dict[str, Any] = field(default_factory=dict)
    exclude_features: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, train: dict[str, Any], horizon_days: int) -> TrainParams:
        return cls(
            horizon_days=horizon_days,
            valid_cutoffs=int(train["split"]["valid_cutoffs"]),
            test_cutoffs=int(train["split"]["test_cutoffs"]),
            min_positives=int(train["minimum_data"]["positives"]),
            min_negatives=int(train["minimum_data"]["negatives"]),
            seed=int(train["seed"]),
            calibration=train["propensity"]["calibration"],
            lgbm=dict(train["propensity"].get("lgbm") or {}),
            ltv_default=train["ltv"]["default"],
            ltv_select_by=train["ltv"]["select_by"],
            tweedie_variance_power=float(train["ltv"]["tweedie_variance_power"]),
            segment_k_range=tuple(train["segments"]["k_range"]),
            scorecard=dict(train["scorecard"]),
            exclude_features=tuple(train.get("exclude_features") or ()),
        )


@dataclass(frozen=True)
class MinimumDataCheck:
    """Whether the training slice has enough wins and non-wins to learn from."""

    passed: bool
    positives: int
    negatives: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "positives": self.positives,
            "negatives": self.negatives,
            "message": self.message,
        }


CALIBRATION_MINIMUM = 10  # of each outcome in the validation slice, to calibrate at all


def _shortfall(
    rows: pd.DataFrame, min_positives: int, min_negatives: int, where: str
) -> tuple[int, int, list[str]]:
    positives = int(rows["won_any"].sum())
    negatives = int(len(rows) - positives)
    missing = []
    if positives < min_positives:
        missing.append(
            f"{min_positives - positives} more customers who bought in the horizon {where} "
            f"(have {positives}, need {min_positives})"
        )
    if negatives < min_negatives:
        missing.append(
            f"{min_negatives - negatives} more customers who did not {where} "
            f"(have {negatives}, need {min_negatives})"
        )
    return positives, negatives, missing


def minimum_data_check(
    train_rows: pd.DataFrame,
    min_positives: int,
    min_negatives: int,
    valid_rows: pd.DataFrame | None = None,
) -> MinimumDataCheck:
    """As Dynamics 365 and Salesforce do: too few examples of either outcome, no model.
    The validation slice, which early stopping and calibration use, needs both outcomes too."""
    positives, negatives, missing = _shortfall(
        train_rows, min_positives, min_negatives, "in the training slice"
    )
    if valid_rows is not None:
        missing += _shortfall(
            valid_rows, CALIBRATION_MINIMUM, CALIBRATION_MINIMUM, "in the validation slice"
        )[2]
    if missing:
        return MinimumDataCheck(
            False,
            positives,
            negatives,
            "Not enough training data: "
            + "; ".join(missing)
            + ". Tiers come from the rules scorecard until then.",
        )
    return MinimumDataCheck(
        True, positives, negatives, f"{positives} positive and {negatives} negative examples"
    )


@dataclass
class TrainedModels:
    """Everything one training produces; models are None in rules-only mode."""

    split: TimeSplit
    check: MinimumDataCheck
    features: list[str]
    segments: SegmentModel
    propensity: PropensityModel | None = None
    ltv: TweedieLTV | HurdleLTV | None = None
    ltv_kind: str = ""
    ltv_comparison: dict[str, dict[str, float]] = field(default_factory=dict)
    ltv_validation: dict[str, dict[str, float]] = field(default_factory=dict)
    opportunity: PropensityModel | None = None
    example: pd.DataFrame | None = None

    @property
    def rules_only(self) -> bool:
        return self.propensity is None


def _fit_ltv(
    params: TrainParams,
    propensity: PropensityModel,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    test: pd.DataFrame,
    features: list[str],
) -> tuple[TweedieLTV | HurdleLTV, str, dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Fit both LTV models; return the kept one, its name, and both models' metrics on the
    held-out and the validation slice. The default is chosen on the validation slice (or
    configured), so the held-out outcome decides nothing."""
    candidates = {
        "tweedie": TweedieLTV(params.lgbm, params.tweedie_variance_power, seed=params.seed),
        "hurdle": HurdleLTV(propensity, params.lgbm, seed=params.seed),
    }
    on_valid, comparison = {}, {}
    for name, model in candidates.items():
        model.fit(train[features], train["won_revenue"], valid[features], valid["won_revenue"])
        on_valid[name] = revenue_metrics(valid["won_revenue"], model.predict(valid[features]))
        comparison[name] = revenue_metrics(test["won_revenue"], model.predict(test[features]))
    lower_is_better = params.ltv_select_by in ("mae", "rmse")
    if params.ltv_default in candidates:
        kind = params.ltv_default
    else:
        kind = (min if lower_is_better else max)(
            on_valid, key=lambda k: on_valid[k][params.ltv_select_by]
        )
    return candidates[kind], kind, comparison, on_valid


def train_models(
    model_input: pd.DataFrame,
    split: TimeSplit,
    params: TrainParams,
    previous_segments: SegmentModel | None = None,
    opportunity: PropensityModel | None = None,
) -> TrainedModels:
    """Segments always; propensity and LTV only when the minimum data check passes."""
    features = model_columns(model_input, params.exclude_features)
    train, valid, test = (rows_at(model_input, c) for c in (split.train, split.valid, split.test))
    latest = rows_at(model_input, [max(split.train + split.valid)])
    segments = SegmentModel(params.segment_k_range, seed=params.seed).fit(latest, previous_segments)
    check = minimum_data_check(train, params.min_positives, params.min_negatives, valid)
    models = TrainedModels(
        split=split,
        check=check,
        features=features,
        segments=segments,
        opportunity=opportunity,
        example=test[features].head(5),
    )
    if not check.passed:
        return models
    models.propensity = PropensityModel(params.lgbm, params.calibration, seed=params.seed).fit(
        train[features], train["won_any"], valid[features], valid["won_any"]
    )
    models.ltv, models.ltv_kind, models.ltv_comparison, models.ltv_validation = _fit_ltv(
        params, models.propensity, train, valid, test, features
    )
    return models


def baseline_scores(rows: pd.DataFrame, params: TrainParams) -> pd.DataFrame:
    """Every applicable baseline's raw score for each row."""
    scores = pd.DataFrame(
        {
            "rfm": rfm_score(rows),
            "scorecard": scorecard_score(rows, parse_scorecard(params.scorecard)),
            "last_period_revenue": last_period_revenue(rows, params.horizon_days),
        },
        index=rows.index,
    )
    if "bgnbd_expected_revenue" in rows.columns:
        scores["bgnbd"] = rows["bgnbd_expected_revenue"]
    return scores


def baseline_predictions(
    method: str, valid: pd.DataFrame, valid_score: pd.Series, rows: pd.DataFrame, score: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """A baseline's P(win) and expected revenue for `rows`. BG/NBD has its own; a revenue
    baseline is its own revenue forecast; scores are mapped on the validation slice."""
    if method == "bgnbd":
        return rows["bgnbd_p_buy"].to_numpy(), rows["bgnbd_expected_revenue"].to_numpy()
    mapper = ScoreMapper().fit(valid_score, valid["won_any"], valid["won_revenue"])
    expected = score.to_numpy() if method == "last_period_revenue" else mapper.revenue(score)
    return mapper.probability(score), expected


def predictions_at(
    models: TrainedModels,
    model_input: pd.DataFrame,
    params: TrainParams,
    cutoffs: list[pd.Timestamp],
) -> pd.DataFrame:
    """Per customer at `cutoffs`: each method's P(win) (`p_<method>`) and expected revenue
    (`value_<method>`), with the outcomes. Baselines are mapped on the validation slice."""
    valid = rows_at(model_input, models.split.valid)
    rows = rows_at(model_input, cutoffs)
    out = rows[["customer_id", "as_of", "won_any", "won_revenue"]].copy()
    if not models.rules_only:
        x = rows[models.features]
        out["p_model"] = models.propensity.predict(x)
        out["value_model"] = models.ltv.predict(x)
    valid_scores, scores = baseline_scores(valid, params), baseline_scores(rows, params)
    for method in scores.columns:
        out[f"p_{method}"], out[f"value_{method}"] = baseline_predictions(
            method, valid, valid_scores[method], rows, scores[method]
        )
    return out


def methods_in(predictions: pd.DataFrame) -> list[str]:
    return [c[2:] for c in predictions.columns if c.startswith("p_")]


def score_methods(predictions: pd.DataFrame) -> pd.DataFrame:
    """Probability and revenue metrics of every method in a predictions frame."""
    won = predictions["won_any"].to_numpy()
    revenue = predictions["won_revenue"].to_numpy()
    return pd.DataFrame(
        [
            {
                "method": m,
                **classification_metrics(won, predictions[f"p_{m}"].to_numpy()),
                **revenue_metrics(revenue, predictions[f"value_{m}"].to_numpy()),
            }
            for m in methods_in(predictions)
        ]
    )


def evaluate(models: TrainedModels, model_input: pd.DataFrame, params: TrainParams) -> pd.DataFrame:
    """Held-out metrics of the model and every baseline, side by side (one row per method)."""
    table = score_methods(predictions_at(models, model_input, params, models.split.test))
    if models.rules_only:
        return table
    test = rows_at(model_input, models.split.test)
    uncalibrated = models.propensity.predict_uncalibrated(test[models.features])
    extra = {
        "method": "model_uncalibrated",
        **classification_metrics(test["won_any"].to_numpy(), uncalibrated),
    }
    return pd.concat([table, pd.DataFrame([extra])], ignore_index=True)
