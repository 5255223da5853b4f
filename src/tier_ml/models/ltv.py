"""Expected won revenue in the horizon: a Tweedie LightGBM and a hurdle model, compared."""

from __future__ import annotations

from collections.abc import Mapping

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tier_ml.models.matrix import learn_categories, to_matrix
from tier_ml.models.propensity import (
    EARLY_STOPPING_ROUNDS,
    PropensityModel,
    fit_early_stopped,
    lgbm_settings,
)
from tier_ml.models.what_if import WhatIf, raw_what_if
from tier_ml.treeshap import exact_contributions


class TweedieLTV(BaseEstimator):
    """One LightGBM with a Tweedie loss: a point mass at zero and a long right tail."""

    def __init__(
        self,
        lgbm_params: dict | None = None,
        variance_power: float = 1.3,
        early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        seed: int = 0,
    ):
        self.lgbm_params = lgbm_params
        self.variance_power = variance_power
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        revenue: pd.Series,
        X_valid: pd.DataFrame,
        revenue_valid: pd.Series,
        weight: np.ndarray | None = None,
        weight_valid: np.ndarray | None = None,
    ) -> TweedieLTV:
        self.features_ = list(X.columns)
        self.categories_ = learn_categories(X)
        booster = lgb.LGBMRegressor(
            **lgbm_settings(self.lgbm_params, self.seed),
            objective="tweedie",
            tweedie_variance_power=self.variance_power,
        )
        self.booster_ = fit_early_stopped(
            booster,
            X,
            np.asarray(revenue, dtype=float),
            X_valid,
            np.asarray(revenue_valid, dtype=float),
            self.features_,
            self.categories_,
            self.early_stopping_rounds,
            weight,
            weight_valid,
        )
        return self

    def matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        return to_matrix(X, self.features_, self.categories_)

    def value_what_if(
        self, matrix: pd.DataFrame, raw: Mapping[str, np.ndarray] | None = None
    ) -> WhatIf:
        """The expected value of rows of the model matrix with one feature changed (the
        next-step search): the log link of the changed raw score. `raw["ltv"]`: the rows'
        raw scores, where the caller has them."""
        changed = raw_what_if(self.booster_, matrix, (raw or {}).get("ltv"))
        return lambda feature, at, values: self.value_from_raw(
            {"ltv": changed(feature, at, values)}
        )

    def value_from_raw(self, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """The expected value of raw scores (`raw["ltv"]`: log EV, Tweedie's log link)."""
        return np.exp(raw["ltv"])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(self.matrix(X))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP on the log scale of the expected value (Tweedie's log link): one
        column per feature plus the base value last."""
        return exact_contributions(self.booster_, self.matrix(X))


class HurdleLTV(BaseEstimator):
    """P(buy) from the propensity model times E[revenue | buy] from a log-scale regressor
    (with Duan's smearing factor to undo the log's downward bias)."""

    def __init__(
        self,
        propensity: PropensityModel,
        lgbm_params: dict | None = None,
        early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        seed: int = 0,
    ):
        self.propensity = propensity
        self.lgbm_params = lgbm_params
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        revenue: pd.Series,
        X_valid: pd.DataFrame,
        revenue_valid: pd.Series,
        weight: np.ndarray | None = None,
        weight_valid: np.ndarray | None = None,
    ) -> HurdleLTV:
        self.features_ = list(X.columns)
        self.categories_ = learn_categories(X)
        buyers, buyers_valid = np.asarray(revenue) > 0, np.asarray(revenue_valid) > 0
        weight = np.ones(len(X)) if weight is None else np.asarray(weight, dtype=float)
        weight_valid = (
            np.ones(len(X_valid)) if weight_valid is None else np.asarray(weight_valid, float)
        )
        self.amount_ = fit_early_stopped(
            lgb.LGBMRegressor(**lgbm_settings(self.lgbm_params, self.seed)),
            X[buyers],
            np.log1p(np.asarray(revenue)[buyers]),
            X_valid[buyers_valid],
            np.log1p(np.asarray(revenue_valid)[buyers_valid]),
            self.features_,
            self.categories_,
            self.early_stopping_rounds,
            weight[buyers],
            weight_valid[buyers_valid],
        )
        residual = np.log1p(np.asarray(revenue_valid)[buyers_valid]) - self.amount_.predict(
            self.matrix(X_valid[buyers_valid])
        )
        self.smearing_ = float(np.average(np.exp(residual), weights=weight_valid[buyers_valid]))
        return self

    def fit_deployed(
        self,
        X: pd.DataFrame,
        revenue: pd.Series,
        folds: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> HurdleLTV:
        """The deployment fit: the amount model's tree count and smearing factor come from
        early stopping on customer fold 0; it is then refitted on every buyer row.
        `weight`: per-row weights of a subsample."""
        revenue = np.asarray(revenue, dtype=float)
        weight = np.ones(len(revenue)) if weight is None else np.asarray(weight, dtype=float)
        stop = np.asarray(folds) == 0
        self.fit(X[~stop], revenue[~stop], X[stop], revenue[stop], weight[~stop], weight[stop])
        trees = int(self.amount_.best_iteration_ or self.amount_.n_estimators)
        self.categories_ = learn_categories(X)
        settings = {**lgbm_settings(self.lgbm_params, self.seed), "n_estimators": trees}
        buyers = revenue > 0
        self.amount_ = lgb.LGBMRegressor(**settings).fit(
            self.matrix(X[buyers]), np.log1p(revenue[buyers]), sample_weight=weight[buyers]
        )
        return self

    def matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        return to_matrix(X, self.features_, self.categories_)

    def value_what_if(
        self, matrix: pd.DataFrame, raw: Mapping[str, np.ndarray] | None = None
    ) -> WhatIf:
        """The expected value of rows of the model matrix with one feature changed (the
        next-step search): P(win) times revenue if won, from both models' changed raw scores
        (`raw`: the rows' win-probability margins under "propensity" and log1p amounts under
        "ltv", where the caller has them). The win-probability model must read the same
        matrix, as it does when both are fitted on the same columns (`fit_model_candidate`)."""
        same = self.propensity.features_ == self.features_
        if not same or self.propensity.categories_ != self.categories_:
            raise ValueError("the win-probability model reads other columns than the amount's")
        raw = raw or {}
        likely = raw_what_if(self.propensity.booster_, matrix, raw.get("propensity"))
        large = raw_what_if(self.amount_, matrix, raw.get("ltv"))

        return lambda feature, at, values: self.value_from_raw(
            {"propensity": likely(feature, at, values), "ltv": large(feature, at, values)}
        )

    def value_from_raw(self, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """The expected value of raw scores: P(win) of the win-probability margin
        (`raw["propensity"]`) times the revenue if won of the log1p amount (`raw["ltv"]`)."""
        return self.propensity.calibrate(raw["propensity"]) * self.revenue_of_raw(raw["ltv"])

    def revenue_of_raw(self, raw: np.ndarray) -> np.ndarray:
        """Revenue if won from the amount model's log1p score, with the smearing factor."""
        return np.expm1(raw) * self.smearing_

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP of the amount model on its log1p scale: one column per feature plus
        the base value last."""
        return exact_contributions(self.amount_, self.matrix(X))

    def revenue_if_won(self, X: pd.DataFrame) -> np.ndarray:
        return self.revenue_of_raw(self.amount_.predict(self.matrix(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.propensity.predict(X) * self.revenue_if_won(X)
