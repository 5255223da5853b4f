"""Win probability: LightGBM on point-in-time features, calibrated on a later time slice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from tier_ml.models.matrix import learn_categories, to_matrix
from tier_ml.threads import machine_threads
from tier_ml.treeshap import exact_contributions

DEFAULT_LGBM = {
    "n_estimators": 400,
    "learning_rate": 0.1,
    "num_leaves": 31,
    "max_depth": 5,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
}

# Rounds without improvement on the stopping slice before boosting stops. Fewer would save
# each probe its tail, but the opportunity model's validation curve has long plateaus: at 20
# it stopped at 28-179 trees where 50 found 61-400 (default data).
EARLY_STOPPING_ROUNDS = 50


def lgbm_settings(params: dict | None, seed: int) -> dict:
    """LightGBM settings that make a fit reproducible from its seed, on the machine's threads
    (`threads.machine_threads`); the user's own settings (`train.propensity.lgbm`, e.g.
    n_jobs) win."""
    return {
        **DEFAULT_LGBM,
        "random_state": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "n_jobs": machine_threads(),
        **(params or {}),
    }


def with_monotone(lgbm: Mapping[str, Any], columns: list[str], increasing: Iterable[str]) -> dict:
    """LightGBM settings that keep the score from falling as any `increasing` feature rises
    (+1 at its matrix column, 0 elsewhere): more meetings or pipeline never lowers an
    account, so "what would move it up" is never perverse. A `monotone_constraints` of the
    user's own (`train.propensity.lgbm`) wins; no feature leaves the settings as they are."""
    increasing = set(increasing)
    if not increasing & set(columns) or "monotone_constraints" in lgbm:
        return dict(lgbm)
    return {"monotone_constraints": [int(c in increasing) for c in columns], **lgbm}


def fit_early_stopped(
    booster,
    X: pd.DataFrame,
    y,
    X_valid: pd.DataFrame,
    y_valid,
    features: list[str],
    categories: dict[str, list[str]],
    rounds: int,
    weight: np.ndarray | None = None,
    weight_valid: np.ndarray | None = None,
):
    """Fit a LightGBM estimator on the model matrix, early-stopped on the validation slice;
    row weights (from `sampling.training_sample`) on both."""
    return booster.fit(
        to_matrix(X, features, categories),
        np.asarray(y),
        sample_weight=weight,
        eval_X=to_matrix(X_valid, features, categories),
        eval_y=np.asarray(y_valid),
        eval_sample_weight=None if weight_valid is None else [weight_valid],
        callbacks=[lgb.early_stopping(rounds, verbose=False)],
    )


class PropensityModel(BaseEstimator):
    """P(a won deal in the horizon). `raw_score` is LightGBM's margin, whose TreeSHAP
    contributions add up exactly; `predict` maps it through the fitted calibrator."""

    def __init__(
        self,
        lgbm_params: dict | None = None,
        calibration: Literal["platt", "isotonic", "none"] = "platt",
        early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        seed: int = 0,
    ):
        self.lgbm_params = lgbm_params
        self.calibration = calibration
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        X_valid: pd.DataFrame,
        y_valid: pd.Series,
        weight: np.ndarray | None = None,
        weight_valid: np.ndarray | None = None,
    ) -> PropensityModel:
        """Early-stopped and calibrated on the validation rows; `weight`, `weight_valid`:
        per-row weights of subsamples."""
        self.features_ = list(X.columns)
        self.categories_ = learn_categories(X)
        self.booster_ = fit_early_stopped(
            lgb.LGBMClassifier(**lgbm_settings(self.lgbm_params, self.seed)),
            X,
            np.asarray(y, dtype=int),
            X_valid,
            np.asarray(y_valid, dtype=int),
            self.features_,
            self.categories_,
            self.early_stopping_rounds,
            weight,
            weight_valid,
        )
        self.calibrator_ = self._fit_calibrator(
            self.raw_score(X_valid), np.asarray(y_valid, dtype=int), weight_valid
        )
        return self

    def fit_deployed(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        folds: np.ndarray,
        calibration_rows: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> PropensityModel:
        """The deployment fit on every labelled cutoff: the tree count is found by early
        stopping on customer fold 0 (a probe fitted on the other folds), the booster is
        refitted on all rows with that count, and the calibrator is fitted on the probe's
        scores of fold 0's `calibration_rows` (the latest cutoffs): scores of customers the
        probe never learnt from, as the deployed booster meets new ones. Those rows chose the
        tree count, one integer, which barely biases a calibrator; calibrating on the other
        folds instead took a refit per fold, over a quarter of all training (README,
        "Benchmarks"), and moved no champion on CDNOW. `weight`: per-row weights of a
        subsample."""
        y = np.asarray(y, dtype=int)
        weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
        self.features_ = list(X.columns)
        self.categories_ = learn_categories(X)
        settings = lgbm_settings(self.lgbm_params, self.seed)
        stop = np.asarray(folds) == 0
        probe = fit_early_stopped(
            lgb.LGBMClassifier(**settings),
            X[~stop],
            y[~stop],
            X[stop],
            y[stop],
            self.features_,
            self.categories_,
            self.early_stopping_rounds,
            weight[~stop],
            weight[stop],
        )
        fixed = {**settings, "n_estimators": int(probe.best_iteration_ or settings["n_estimators"])}
        matrix = self.matrix(X)
        self.booster_ = lgb.LGBMClassifier(**fixed).fit(matrix, y, sample_weight=weight)
        held_out = probe.predict(matrix[stop], raw_score=True)
        y_held, weight_held = y[stop], weight[stop]
        rows = np.asarray(calibration_rows, dtype=bool)[stop]
        if len(np.unique(y_held[rows])) < 2:  # one outcome lately: calibrate on every cutoff
            rows = np.ones(len(y_held), dtype=bool)
        both = len(np.unique(y_held[rows])) == 2  # else no calibrator: the booster's own link
        self.calibrator_ = (
            self._fit_calibrator(held_out[rows], y_held[rows], weight_held[rows]) if both else None
        )
        return self

    def _fit_calibrator(self, raw: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None):
        if self.calibration == "platt":
            return LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y, sample_weight=weight)
        if self.calibration == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(
                raw, y, sample_weight=weight
            )
        return None

    def matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        return to_matrix(X, self.features_, self.categories_)

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(self.matrix(X), raw_score=True)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Probability of a raw margin: the calibrator's, or the logistic link without one."""
        raw = np.asarray(raw, dtype=float)
        if isinstance(self.calibrator_, LogisticRegression):
            return self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]
        if isinstance(self.calibrator_, IsotonicRegression):
            return self.calibrator_.predict(raw)
        return 1 / (1 + np.exp(-raw))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrate(self.raw_score(X))

    def predict_uncalibrated(self, X: pd.DataFrame) -> np.ndarray:
        return 1 / (1 + np.exp(-self.raw_score(X)))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP on the raw scale: one column per feature plus the base value last."""
        return exact_contributions(self.booster_, self.matrix(X))

    @property
    def best_iteration(self) -> int:
        return int(self.booster_.best_iteration_ or self.booster_.n_estimators)

    def importance(self) -> pd.Series:
        gain = self.booster_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.features_).sort_values(ascending=False)
