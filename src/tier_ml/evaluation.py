"""Metrics for win probability and expected revenue, shared by training, baselines and backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    roc_auc_score,
)


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed rate in equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y.astype(float)})
    table = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed=("y", "mean"),
                                     count=("y", "size"))
    return table.reindex(range(bins)).assign(
        lower=edges[:-1], upper=edges[1:], count=lambda t: t["count"].fillna(0).astype(int)
    )


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean gap between predicted and observed rate over equal-width bins."""
    table = reliability_table(y, p, bins).dropna(subset=["mean_predicted"])
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["mean_predicted"] - table["observed"]).abs()).sum())


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, PR-AUC, Brier, log loss and ECE (10 bins) of a probability of winning."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
    }


def normalized_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of the ranking by `predicted`, relative to the perfect ranking (1 is perfect)."""
    def gini(a: np.ndarray, order_by: np.ndarray) -> float:
        order = np.lexsort((np.arange(len(a)), -order_by))
        cumulative = np.cumsum(a[order]) / a.sum()
        return float(cumulative.sum() / len(a) - (len(a) + 1) / (2 * len(a)))

    actual = np.asarray(actual, dtype=float)
    if actual.sum() <= 0:
        return float("nan")
    return gini(actual, np.asarray(predicted, dtype=float)) / gini(actual, actual)


def top_share_capture(actual: np.ndarray, predicted: np.ndarray, share: float = 0.1) -> float:
    """Share of the actual total that falls in the top `share` of customers by prediction."""
    actual = np.asarray(actual, dtype=float)
    n_top = max(1, int(round(share * len(actual))))
    top = np.argsort(-np.asarray(predicted, dtype=float), kind="stable")[:n_top]
    total = actual.sum()
    return float(actual[top].sum() / total) if total > 0 else float("nan")


def revenue_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, Spearman, normalised Gini and top-decile capture of expected revenue."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    return {
        "mae": float(mean_absolute_error(actual, predicted)),
        "rmse": float(np.sqrt(np.mean((actual - predicted) ** 2))),
        "spearman": float(spearmanr(actual, predicted).statistic),
        "normalized_gini": normalized_gini(actual, predicted),
        "top_decile_capture": top_share_capture(actual, predicted, 0.1),
    }
