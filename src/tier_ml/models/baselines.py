"""Baselines scored on the same cutoffs as the models: RFM quantiles, a weighted scorecard,
last-period revenue and (for transaction data) BG/NBD + Gamma-Gamma.

A baseline produces a score per customer and cutoff. To compare it on probability metrics
(Brier, ECE) and revenue metrics (MAE) as well as on rankings, `ScoreMapper` maps scores to a
probability and to expected revenue (both isotonic: monotone, so the baseline's ranking is
kept), fitted on labelled cutoffs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from tier_ml.features.build import ROW_WEIGHT


def weighted_pct_rank(values: pd.Series, as_of: pd.Series, weight: pd.Series) -> pd.Series:
    """Percentile rank within each cutoff of rows that stand for `weight` customers each (a
    thinned table, `features.build.ROW_WEIGHT`): the average rank, among the customers they
    stand for, of a tie's weight placed after every lower value's, over the cutoff's weight.
    With weights of 1 it is pandas' average percentile rank; missing values stay missing."""
    frame = pd.DataFrame(
        {"as_of": as_of.to_numpy(), "value": values.to_numpy(float), "w": weight.to_numpy(float)},
        index=values.index,
    ).dropna(subset=["value"])
    ties = frame.groupby(["as_of", "value"], sort=True)["w"].sum()
    below = ties.groupby(level="as_of").cumsum() - ties
    pct = (below + (ties + 1) / 2) / ties.groupby(level="as_of").transform("sum")
    at = pd.MultiIndex.from_frame(frame[["as_of", "value"]])
    return pd.Series(pct.reindex(at).to_numpy(), index=frame.index).reindex(values.index)


def _pct_rank(values: pd.Series, features: pd.DataFrame) -> pd.Series:
    """Percentile rank within each cutoff of the customers the rows stand for: pandas' own
    where every row stands for itself."""
    weight = features.get(ROW_WEIGHT)
    if weight is None or weight.eq(1.0).all():
        return values.groupby(features["as_of"]).rank(pct=True, method="average")
    return weighted_pct_rank(values, features["as_of"], weight)


def _rank_within_cutoff(features: pd.DataFrame, column: str) -> pd.Series:
    """Percentile rank in (0, 1] within each cutoff; a missing value ranks lowest (0)."""
    return _pct_rank(features[column], features).fillna(0.0)


def _quintile_within_cutoff(values: pd.Series, features: pd.DataFrame) -> pd.Series:
    return np.ceil(_pct_rank(values, features) * 5).clip(1, 5)


RFM_FEATURES = ("days_since_last_won", "won_count_365d", "won_revenue_365d")  # rfm_parts reads


def rfm_parts(features: pd.DataFrame) -> pd.DataFrame:
    """R, F and M quintile scores (1 to 5) within each cutoff, each under the feature it
    ranks (so reasons can quote the customer's own value); never-buyers get R = 1."""
    recency = -features["days_since_last_won"].fillna(np.inf)
    return pd.DataFrame(
        {
            "days_since_last_won": _quintile_within_cutoff(
                recency.replace(-np.inf, -1e12), features
            ),
            "won_count_365d": _quintile_within_cutoff(features["won_count_365d"], features),
            "won_revenue_365d": _quintile_within_cutoff(features["won_revenue_365d"], features),
        },
        index=features.index,
    )


def rfm_score(features: pd.DataFrame) -> pd.Series:
    """R + F + M quintile scores (3 to 15) within each cutoff."""
    return rfm_parts(features).sum(axis=1).rename("rfm_score")


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


def last_period_column(columns: Iterable[str], horizon_days: int) -> str | None:
    """The won-revenue window closest to the horizon (None when there is none)."""
    windows = {
        int(c.split("_")[-1][:-1]): c
        for c in columns
        if c.startswith("won_revenue_") and c.endswith("d") and c[-2].isdigit()
    }
    return windows[min(windows, key=lambda w: abs(w - horizon_days))] if windows else None


def last_period_revenue(features: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Won revenue in the window closest to the horizon: 'what they spent, they will spend'."""
    return features[last_period_column(features.columns, horizon_days)].rename(
        "last_period_revenue"
    )


class ScoreMapper:
    """Maps a baseline score to a probability and to expected revenue, both by isotonic
    regression, so the baseline's own ranking is kept. A missing score counts as the lowest."""

    def fit(
        self,
        score: np.ndarray,
        won: np.ndarray,
        revenue: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> ScoreMapper:
        """`weight`: the customers each row stands for (a thinned table's `row_weight`)."""
        score = np.asarray(score, dtype=float)
        finite = score[np.isfinite(score)]
        self.missing_ = float(finite.min() - 1.0) if len(finite) else 0.0
        score = self._filled(score)
        won = np.asarray(won, dtype=int)
        self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(
            score, won, sample_weight=weight
        )
        self.revenue_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0).fit(
            score, np.asarray(revenue, dtype=float), sample_weight=weight
        )
        return self

    def _filled(self, score: np.ndarray) -> np.ndarray:
        values = np.asarray(score, dtype=float)
        return np.where(np.isnan(values), self.missing_, values)

    def probability(self, score: np.ndarray) -> np.ndarray:
        return self.isotonic_.predict(self._filled(score))

    def revenue(self, score: np.ndarray) -> np.ndarray:
        """Expected revenue, monotone in the score; where the fit pools several scores into
        one level, the raw score still breaks the tie (by a billionth: no visible money)."""
        filled = self._filled(score)
        return self.revenue_.predict(filled) + 1e-9 * filled
