"""The candidates for champion, each fitted the way it is deployed (on every labelled cutoff
it is given) and each predicting P(win) and expected revenue in the horizon.

- `model`: LightGBM win probability and a hurdle LTV on the point-in-time features;
- `stacked`: the same, also fed the baselines' outputs (RFM and scorecard scores, BG/NBD);
- baselines: RFM quintiles, the weighted scorecard, last-period revenue and (transaction
  data) BG/NBD + Gamma-Gamma, each mapped to a probability and to revenue by its own mapping
  fitted on the same labelled cutoffs.

Every candidate is a (propensity, ltv) pair with `predict(rows)` and `features_`, so scoring,
the portable pyfunc and the registry treat a baseline champion like a model champion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tier_ml.features.build import row_weights
from tier_ml.models.baselines import (
    ScoreMapper,
    last_period_column,
    parse_scorecard,
    rfm_score,
    scorecard_score,
)
from tier_ml.models.ltv import HurdleLTV, TweedieLTV
from tier_ml.models.matrix import model_columns
from tier_ml.models.propensity import PropensityModel, with_monotone
from tier_ml.models.sampling import SamplingParams, training_sample

BASELINES = ("rfm", "scorecard", "last_period_revenue", "bgnbd")
MODELS = ("model", "stacked")
CANDIDATES = (*BASELINES, *MODELS)  # simplest first: on a tie the simpler one is kept
LABELS = {
    "rfm": "RFM quintiles",
    "scorecard": "the weighted scorecard",
    "last_period_revenue": "last-period revenue",
    "bgnbd": "BG/NBD + Gamma-Gamma",
    "model": "the LightGBM model",
    "stacked": "the stacked model (LightGBM on features and baseline outputs)",
}
BTYD_COLUMNS = (
    "bgnbd_expected_purchases",
    "bgnbd_p_alive",
    "bgnbd_p_buy",
    "bgnbd_expected_revenue",
)
STACK_SCORES = ("rfm_score", "scorecard_score")
CUSTOMER_FOLDS = 3


def with_stack_scores(rows: pd.DataFrame, scorecard: Mapping[str, Any]) -> pd.DataFrame:
    """The baselines' scores as columns (ranked within each cutoff), for the stacked model."""
    return rows.assign(
        rfm_score=rfm_score(rows).to_numpy(),
        scorecard_score=scorecard_score(rows, parse_scorecard(scorecard)).to_numpy(),
    )


def customer_folds(customer_id: pd.Series, seed: int, k: int = CUSTOMER_FOLDS) -> np.ndarray:
    """One fold per customer, the same at every cutoff, so no customer sits on both sides of
    an early-stopping or calibration split."""
    key = f"tier-ml-{seed:08d}"[:16]
    hashed = pd.util.hash_pandas_object(customer_id.astype("str"), index=False, hash_key=key)
    return (hashed.to_numpy() % k).astype(int)


def latest_cutoff_rows(as_of: pd.Series, share: float = 0.25) -> np.ndarray:
    """Rows of the latest quarter of the cutoffs (at least one): the calibration slice, the
    closest in time to when the model is used."""
    cutoffs = np.sort(as_of.unique())
    keep = cutoffs[-max(1, int(round(len(cutoffs) * share))) :]
    return as_of.isin(keep).to_numpy()


def baseline_inputs(method: str, columns: list[str], horizon_days: int) -> list[str]:
    """The columns a baseline reads. RFM and the scorecard rank within the population scored,
    so they read their scores as computed over it (`with_stack_scores`): a model given a
    batch of rows (a Spark partition) scores each row as it would in the whole population."""
    if method in ("rfm", "scorecard"):
        return [f"{method}_score"]
    if method == "last_period_revenue":
        return [last_period_column(columns, horizon_days)]
    if method == "bgnbd":
        return ["bgnbd_expected_purchases", "bgnbd_expected_revenue"]
    raise ValueError(f"unknown baseline {method!r}; expected one of {BASELINES}")


def window_days(column: str) -> int:
    return int(column.rsplit("_", 1)[-1].removesuffix("d"))


class BaselineModel(BaseEstimator):
    """A baseline as a deployable model: its score mapped to P(win) and expected revenue by a
    `ScoreMapper` fitted on labelled cutoffs. Revenue baselines keep their own forecast."""

    def __init__(self, method: str, horizon_days: int = 180):
        self.method = method
        self.horizon_days = horizon_days

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        """The raw score, higher is better: its first input column."""
        return rows[self.features_[0]].to_numpy(float)

    def fit(self, rows: pd.DataFrame, won: pd.Series, revenue: pd.Series) -> BaselineModel:
        """Map the score on the latest quarter of the cutoffs, the rule the model's calibrator
        follows: the closest in time to when the mapping is used."""
        self.features_ = baseline_inputs(self.method, list(rows.columns), self.horizon_days)
        latest = latest_cutoff_rows(rows["as_of"]) if "as_of" in rows else np.ones(len(rows), bool)
        self.mapper_ = ScoreMapper().fit(
            self.score(rows)[latest],
            np.asarray(won)[latest],
            np.asarray(revenue)[latest],
            row_weights(rows)[latest],
        )
        return self

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """P(win) in the horizon."""
        return self.mapper_.probability(self.score(rows))

    def expected_value(self, rows: pd.DataFrame) -> np.ndarray:
        """Revenue in the horizon: BG/NBD's own forecast, last-period revenue scaled from its
        window to the horizon, or the score's mapped revenue."""
        if self.method == "bgnbd":
            return rows["bgnbd_expected_revenue"].to_numpy(float)
        score = self.score(rows)
        if self.method == "last_period_revenue":
            return score * self.horizon_days / window_days(self.features_[0])
        return self.mapper_.revenue(score)


class BaselineRevenue(BaseEstimator):
    """The `ltv` role of a baseline: its expected revenue as `predict`."""

    def __init__(self, baseline: BaselineModel):
        self.baseline = baseline

    @property
    def features_(self) -> list[str]:
        return self.baseline.features_

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return self.baseline.expected_value(rows)


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate: what gives P(win) and what gives expected revenue."""

    method: str
    propensity: Any
    ltv: Any

    def predict(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """P(win) and expected revenue in the horizon for each row; a hurdle on this
        candidate's own P(win) reuses it rather than predicting it again."""
        p_win = self.propensity.predict(rows[self.propensity.features_])
        if isinstance(self.ltv, HurdleLTV) and self.ltv.propensity is self.propensity:
            return p_win, p_win * self.ltv.revenue_if_won(rows[self.ltv.features_])
        return p_win, self.ltv.predict(rows[self.ltv.features_])


@dataclass(frozen=True)
class CandidateParams:
    """What fitting the candidates needs from the `train` parameters."""

    horizon_days: int
    seed: int
    lgbm: Mapping[str, Any]
    calibration: str
    ltv: str
    tweedie_variance_power: float
    scorecard: Mapping[str, Any]
    exclude_features: tuple[str, ...] = ()
    sampling: SamplingParams = SamplingParams()
    monotone_increasing: tuple[str, ...] = ()


def model_features(rows: pd.DataFrame, method: str, exclude: tuple[str, ...]) -> list[str]:
    """The plain model sees the point-in-time features; the stacked one also the baselines'."""
    columns = model_columns(rows, exclude)
    if method == "stacked":
        return columns
    return [c for c in columns if c not in (*BTYD_COLUMNS, *STACK_SCORES)]


def fit_model_candidate(rows: pd.DataFrame, method: str, params: CandidateParams) -> Candidate:
    """LightGBM propensity and LTV, fitted for deployment on `rows` (thinned and weighted
    as `train.sampling` says)."""
    features = model_features(rows, method, params.exclude_features)
    rows, weight = training_sample(rows, params.sampling, params.seed)
    x = rows[features]
    folds = customer_folds(rows["customer_id"], params.seed)
    lgbm = with_monotone(params.lgbm, features, params.monotone_increasing)
    propensity = PropensityModel(lgbm, params.calibration, seed=params.seed)
    propensity.fit_deployed(x, rows["won_any"], folds, latest_cutoff_rows(rows["as_of"]), weight)
    if params.ltv == "tweedie":
        stop = folds == 0
        ltv = TweedieLTV(lgbm, params.tweedie_variance_power, seed=params.seed).fit(
            x[~stop],
            rows["won_revenue"][~stop],
            x[stop],
            rows["won_revenue"][stop],
            weight[~stop],
            weight[stop],
        )
    else:
        ltv = HurdleLTV(propensity, lgbm, seed=params.seed).fit_deployed(
            x, rows["won_revenue"], folds, weight
        )
    return Candidate(method, propensity, ltv)


def fit_baseline_candidate(rows: pd.DataFrame, method: str, params: CandidateParams) -> Candidate:
    baseline = BaselineModel(method, params.horizon_days).fit(
        rows, rows["won_any"], rows["won_revenue"]
    )
    return Candidate(method, baseline, BaselineRevenue(baseline))


def available_candidates(rows: pd.DataFrame, models_allowed: bool) -> list[str]:
    """BG/NBD only where its outputs were computed; models only past the minimum data check."""
    baselines = [m for m in BASELINES if m != "bgnbd" or "bgnbd_expected_purchases" in rows]
    return [*baselines, *(MODELS if models_allowed else ())]


def fit_candidate(rows: pd.DataFrame, method: str, params: CandidateParams) -> Candidate:
    if method in MODELS:
        return fit_model_candidate(rows, method, params)
    return fit_baseline_candidate(rows, method, params)


def candidate_predictions(candidates: Mapping[str, Candidate], rows: pd.DataFrame) -> pd.DataFrame:
    """Per row: each candidate's P(win) (`p_<method>`) and expected revenue (`value_<method>`),
    with the outcomes."""
    out = rows[["customer_id", "as_of", "won_any", "won_revenue"]].reset_index(drop=True)
    for method, candidate in candidates.items():
        p_win, value = candidate.predict(rows)
        out[f"p_{method}"] = np.asarray(p_win, dtype=float)
        out[f"value_{method}"] = np.asarray(value, dtype=float)
    return out
