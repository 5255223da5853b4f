"""Behavioural segments: k-means on log-RFM and engagement, named from their centroids.

k is chosen in a range by silhouette. Segment ids stay stable across retrains: new centroids
are matched to the previous model's (Hungarian assignment on the log-scale profile), and a
matched segment keeps its id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

PROFILE = ("days_since_last_won", "won_count_365d", "won_revenue_365d", "act_total_90d")
NEVER_WON_DAYS = 3 * 365.0


def profile_matrix(features: pd.DataFrame) -> np.ndarray:
    """log1p of recency (never won counts as three years), frequency, spend and engagement."""
    frame = features[list(PROFILE)].astype("float64")
    frame["days_since_last_won"] = (
        frame["days_since_last_won"].fillna(NEVER_WON_DAYS).clip(upper=NEVER_WON_DAYS)
    )
    return np.log1p(frame.fillna(0).clip(lower=0).to_numpy())


def name_segments(centroids: pd.DataFrame) -> list[str]:
    """Readable names from centroid profiles in natural units, unique within a model."""
    buyers = centroids["won_count_365d"] >= 0.5
    spend = centroids["won_revenue_365d"]
    big = spend >= spend[buyers].quantile(2 / 3) if buyers.any() else spend > spend
    median_engagement = centroids["act_total_90d"].median()
    names = []
    for i, c in centroids.iterrows():
        engaged = c["act_total_90d"] >= max(median_engagement, 1.0)
        if c["won_count_365d"] < 0.5:
            names.append("Engaged prospects" if engaged else "Dormant accounts")
        else:
            size = "Big" if big[i] else "Small"
            when = "recent" if c["days_since_last_won"] <= 120 else "lapsed"
            noun = "buyers" if when == "recent" else "spenders"
            names.append(f"{size} {when} {noun}")
    return _unique(names, centroids)


def _unique(names: list[str], centroids: pd.DataFrame) -> list[str]:
    counts = pd.Series(names).value_counts()
    out = []
    for name, (_, c) in zip(names, centroids.iterrows(), strict=True):
        if counts[name] > 1:
            name = f"{name}, {'engaged' if c['act_total_90d'] >= 1 else 'quiet'}"
        out.append(name)
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            out[i] = f"{name} ({seen[name]})"
    return out


def match_ids(
    new: np.ndarray, previous: np.ndarray | None, previous_ids: list[int] | None
) -> list[int]:
    """Ids for new centroids: a previous segment's id when matched to it, else a fresh one."""
    if previous is None or not len(previous):
        return list(range(len(new)))
    cost = ((new[:, None, :] - previous[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    ids = [-1] * len(new)
    for r, c in zip(rows, cols, strict=True):
        ids[r] = previous_ids[c]
    fresh = max(previous_ids) + 1
    for i, value in enumerate(ids):
        if value < 0:
            ids[i], fresh = fresh, fresh + 1
    return ids


def feasible_k(k_range: tuple[int, int], n_customers: int) -> range:
    """The configured k that the data allow: at most one segment per customer but one (so
    silhouettes exist), and a single segment for one or two customers."""
    high = min(k_range[1], max(1, n_customers - 1))
    return range(min(k_range[0], high), high + 1)


class SegmentModel(BaseEstimator):
    """k-means segments with stable ids and generated names."""

    def __init__(self, k_range: tuple[int, int] = (3, 7), sample_size: int = 5000, seed: int = 0):
        self.k_range = k_range
        self.sample_size = sample_size
        self.seed = seed

    def fit(self, features: pd.DataFrame, previous: SegmentModel | None = None) -> SegmentModel:
        """Cluster, then keep the ids of `previous` (the last model) for matched segments."""
        points = profile_matrix(features)
        self.scaler_ = StandardScaler().fit(points)
        scaled = self.scaler_.transform(points)
        rng = np.random.default_rng(self.seed)
        sample = rng.choice(len(scaled), size=min(self.sample_size, len(scaled)), replace=False)
        fits = {
            k: KMeans(k, n_init=10, random_state=self.seed).fit(scaled)
            for k in feasible_k(self.k_range, len(scaled))
        }
        self.silhouettes_ = {
            k: float(silhouette_score(scaled[sample], m.labels_[sample]))
            if 1 < k < len(sample)
            else 0.0
            for k, m in fits.items()
        }
        self.k_ = max(self.silhouettes_, key=self.silhouettes_.get)
        self.kmeans_ = fits[self.k_]
        self.centroids_log_ = self.scaler_.inverse_transform(self.kmeans_.cluster_centers_)
        self.ids_ = match_ids(
            self.centroids_log_,
            previous.centroids_log_ if previous is not None else None,
            previous.ids_ if previous is not None else None,
        )
        natural = pd.DataFrame(np.expm1(self.centroids_log_), columns=list(PROFILE))
        self.names_ = dict(zip(self.ids_, name_segments(natural), strict=True))
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        labels = self.kmeans_.predict(self.scaler_.transform(profile_matrix(features)))
        return np.asarray(self.ids_)[labels]

    def name(self, segment_ids: np.ndarray) -> np.ndarray:
        return np.array([self.names_[i] for i in segment_ids], dtype=object)

    def profiles(self) -> pd.DataFrame:
        """Each segment's id, name and centroid in natural units."""
        natural = pd.DataFrame(np.expm1(self.centroids_log_), columns=list(PROFILE))
        return natural.assign(segment_id=self.ids_, segment=[self.names_[i] for i in self.ids_])
