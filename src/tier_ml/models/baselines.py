"""Baselines scored on the same cutoffs as the models: RFM quantiles, a weighted scorecard,
last-period revenue and (for transaction data) BG/NBD + Gamma-Gamma.

A baseline produces a score per customer and cutoff. To compare it on probability metrics
(Brier, ECE) and revenue metrics (MAE) as well as on rankings, `ScoreMapper` maps scores to a
probability (Platt) and to expected revenue (mean revenue per score decile), fitted on the
validation slice like the model's calibrator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression


def _rank_within_cutoff(features: pd.DataFrame, column: str) -> pd.Series:
    """Percentile rank in (0, 1] within each cutoff; a missing value ranks lowest (0)."""
    return features.groupby("as_of")[column].rank(pct=True).fillna(0.0)


def _quintile_within_cutoff(values: pd.Series, as_of: pd.Series) -> pd.Series:
    ranks = values.groupby(as_of).rank(pct=True, method="average")
    return np.ceil(ranks * 5).clip(1, 5)


def rfm_score(features: pd.DataFrame) -> pd.Series:
    """R + F + M quintile scores (3 to 15) within each cutoff; never-buyers get R = 1."""
    recency = -features["days_since_last_won"].fillna(np.inf)
    r = _quintile_within_cutoff(recency.replace(-np.inf, -1e12), features["as_of"])
    f = _quintile_within_cutoff(features["won_count_365d"], features["as_of"])
    m = _quintile_within_cutoff(features["won_revenue_365d"], features["as_of"])
    return (r + f + m).rename("rfm_score")


@dataclass(frozen=True)
class ScorecardDimension:
    """One dimension of the weighted scorecard: its weight and features (+1 more is better,
    -1 less is better)."""

    weight: float
    features: Mapping[str, int]


def parse_scorecard(spec: Mapping[str, Mapping]) -> dict[str, ScorecardDimension]:
    dimensions = {
        name: ScorecardDimension(float(d["weight"]), dict(d["features"]))
        for name, d in spec.items()
    }
    total = sum(d.weight for d in dimensions.values())
    if not np.isclose(total, 1.0):
        raise ValueError(f"scorecard weights add up to {total:.3f}, not 1")
    return dimensions


def scorecard_dimensions(
    features: pd.DataFrame, dimensions: Mapping[str, ScorecardDimension]
) -> pd.DataFrame:
    """Each dimension in [0, 1]: the mean of its features' percentile ranks within the cutoff."""
    out = {}
    for name, dim in dimensions.items():
        parts = []
        for column, sign in dim.features.items():
            rank = _rank_within_cutoff(features, column)
            parts.append(rank if sign > 0 else (1 - rank).where(features[column].notna(), 0.0))
        out[name] = pd.concat(parts, axis=1).mean(axis=1)
    return pd.DataFrame(out, index=features.index)


def scorecard_score(
    features: pd.DataFrame, dimensions: Mapping[str, ScorecardDimension]
) -> pd.Series:
    """Weighted sum of the dimensions, in [0, 1]."""
    parts = scorecard_dimensions(features, dimensions)
    weights = pd.Series({k: d.weight for k, d in dimensions.items()})
    return (parts * weights).sum(axis=1).rename("scorecard_score")


def last_period_revenue(features: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Won revenue in the window closest to the horizon: 'what they spent, they will spend'."""
    windows = {
        int(c.split("_")[-1][:-1]): c
        for c in features.columns
        if c.startswith("won_revenue_") and c.endswith("d") and c[-2].isdigit()
    }
    closest = windows[min(windows, key=lambda w: abs(w - horizon_days))]
    return features[closest].rename("last_period_revenue")


class ScoreMapper:
    """Maps a baseline score to a probability (Platt) and to expected revenue (decile means)."""

    def fit(self, score: np.ndarray, won: np.ndarray, revenue: np.ndarray) -> ScoreMapper:
        score = np.asarray(score, dtype=float)
        won = np.asarray(won, dtype=int)
        self.center_, self.scale_ = float(np.mean(score)), float(np.std(score) or 1.0)
        # with a single outcome there is nothing to rank against: the observed rate
        self.platt_ = LogisticRegression().fit(self._z(score), won) if len(set(won)) > 1 else None
        self.rate_ = float(won.mean())
        self.edges_ = np.unique(np.quantile(score, np.linspace(0, 1, 11)[1:-1]))
        bins = np.digitize(score, self.edges_)
        means = pd.Series(np.asarray(revenue, dtype=float)).groupby(bins).mean()
        self.bin_revenue_ = means.reindex(range(len(self.edges_) + 1)).ffill().bfill().to_numpy()
        return self

    def _z(self, score: np.ndarray) -> np.ndarray:
        return ((np.asarray(score, dtype=float) - self.center_) / self.scale_).reshape(-1, 1)

    def probability(self, score: np.ndarray) -> np.ndarray:
        if self.platt_ is None:
            return np.full(len(np.asarray(score)), self.rate_)
        return self.platt_.predict_proba(self._z(score))[:, 1]

    def revenue(self, score: np.ndarray) -> np.ndarray:
        return self.bin_revenue_[np.digitize(np.asarray(score, dtype=float), self.edges_)]
