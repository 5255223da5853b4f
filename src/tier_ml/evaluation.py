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
    table = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed=("y", "mean"), count=("y", "size")
    )
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
    """Share of the actual total that falls in the top `share` of customers by prediction:
    exactly that many customers for any method, ties broken by row order. NaN without
    revenue, or where a prediction is missing (no ranking to judge)."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    total = actual.sum()
    if total <= 0 or not np.isfinite(predicted).all():
        return float("nan")
    n_top = max(1, int(round(share * len(actual))))
    top = np.argsort(-predicted, kind="stable")[:n_top]
    return float(actual[top].sum() / total)


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


def tier_table(tiers: pd.DataFrame) -> pd.DataFrame:
    """Tier accuracy: per origin, method and tier, realised win rate and revenue against
    what was predicted. `tiers` has origin, method, tier, p_win, won_any, won_revenue."""
    grouped = tiers.groupby(["origin", "method", "tier"], observed=True)
    table = grouped.agg(
        customers=("won_any", "size"),
        realised_win_rate=("won_any", "mean"),
        realised_revenue=("won_revenue", "sum"),
        mean_predicted_p_win=("p_win", "mean"),
    ).reset_index()
    totals = tiers.groupby(["origin", "method"]).agg(
        overall_win_rate=("won_any", "mean"), total_revenue=("won_revenue", "sum")
    )
    table = table.join(totals, on=["origin", "method"])
    table["revenue_share"] = table["realised_revenue"] / table["total_revenue"].where(
        table["total_revenue"] > 0
    )
    table["lift"] = table["realised_win_rate"] / table["overall_win_rate"].where(
        table["overall_win_rate"] > 0
    )
    return table.drop(columns=["overall_win_rate", "total_revenue"])


def monotone_tiers(table: pd.DataFrame) -> pd.DataFrame:
    """Per origin and method: do realised win rates fall from A to B to C to D?"""

    def falls(group: pd.DataFrame) -> bool:
        rates = group.sort_values("tier")["realised_win_rate"].to_numpy()
        return bool(np.all(np.diff(rates) <= 0))

    return (
        table.groupby(["origin", "method"])
        .apply(falls, include_groups=False)
        .rename("monotone")
        .reset_index()
    )


def migration_matrix(tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers moving from each tier to each tier between consecutive origins
    (`tiers`: customer_id, origin, tier of one method)."""
    ordered = tiers.sort_values(["customer_id", "origin"])
    nxt = ordered.groupby("customer_id").shift(-1)
    moves = pd.DataFrame(
        {
            "origin_from": ordered["origin"],
            "origin_to": nxt["origin"],
            "from_tier": ordered["tier"],
            "to_tier": nxt["tier"],
        }
    ).dropna()
    return (
        moves.groupby(["origin_from", "origin_to", "from_tier", "to_tier"])
        .size()
        .rename("customers")
        .reset_index()
    )


def dwell_times(tiers: pd.DataFrame) -> pd.DataFrame:
    """Per tier: mean and median length of a stay (in consecutive origins), and the share
    of stays that end by moving up (e.g. B becoming A)."""
    ordered = tiers.sort_values(["customer_id", "origin"]).reset_index(drop=True)
    new_stay = (ordered["tier"] != ordered.groupby("customer_id")["tier"].shift()) | (
        ordered["customer_id"] != ordered["customer_id"].shift()
    )
    ordered["stay"] = new_stay.cumsum()
    stays = ordered.groupby("stay").agg(
        customer_id=("customer_id", "first"), tier=("tier", "first"), length=("tier", "size")
    )
    stays["next_tier"] = stays.groupby("customer_id")["tier"].shift(-1)
    stays["moved_up"] = stays["next_tier"].notna() & (stays["next_tier"] < stays["tier"])
    return (
        stays.groupby("tier")
        .agg(
            stays=("length", "size"),
            mean_origins=("length", "mean"),
            median_origins=("length", "median"),
            share_moving_up=("moved_up", "mean"),
        )
        .reset_index()
    )
