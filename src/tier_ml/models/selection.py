"""Choosing the champion from replays, with paired bootstrap intervals.

Every candidate predicted the same customers at the same origins, so candidates are compared
pairwise: each bootstrap draw resamples customers within every origin (the same draw for all
candidates), computes each metric per origin and averages over origins. The rule:

1. the reference is the best baseline: among the baselines no other baseline beats with 95 %
   confidence on a primary metric (AUC, and the revenue captured by the top 10 % of
   customers), the highest mean AUC (the simpler on a tie);
2. a model candidate replaces the current choice only if its interval against the current
   choice lies above zero for at least one primary metric and below zero for none, and
   against *every* baseline below zero for none. So the champion is never significantly
   worse than any baseline on the primary metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.evaluation import classification_metrics, normalized_gini, top_share_capture
from tier_ml.models.candidates import BASELINES, CANDIDATES, LABELS

PRIMARY = ("auc", "top_decile_capture")
TOP_SHARE = 0.10


def methods_of(predictions: pd.DataFrame) -> list[str]:
    """Methods with a finite prediction for every row: a method missing at some origin (a
    model that did not pass the minimum data check there) is not compared at all, so every
    comparison is on the same customers and origins."""
    present = {c[2:] for c in predictions.columns if c.startswith("p_")}
    return [
        m
        for m in CANDIDATES
        if m in present
        and np.isfinite(predictions[f"p_{m}"].to_numpy(float)).all()
        and np.isfinite(predictions[f"value_{m}"].to_numpy(float)).all()
    ]


BOOTSTRAP_CELLS = 8_000_000  # customers x draws at once: 32 MB of int32 counts, 64 MB running sums


def resample_counts(rng: np.random.Generator, customers: int, draws: int) -> np.ndarray:
    """How often each customer is drawn (rows) in each of `draws` resamples with replacement
    (columns), drawn one resample after another from `rng`. A customer's draws lie side by
    side, so reading customers in a ranking's order fetches all its draws at once."""
    return np.stack(
        [
            np.bincount(rng.integers(0, customers, customers), minlength=customers).astype(np.int32)
            for _ in range(draws)
        ],
        axis=1,
    )


@dataclass(frozen=True)
class AucRanks:
    """A ranking, laid out once for the AUC of any resample of it: the count columns of the
    positives and of the negatives (those in score order), and for each positive how many
    negatives score below it (`below`) and at most as high (`upto`)."""

    positives: np.ndarray
    negatives: np.ndarray
    below: np.ndarray
    upto: np.ndarray


def auc_ranks(won: np.ndarray, p_win: np.ndarray, columns: np.ndarray | None = None) -> AucRanks:
    """`columns`: each row's column in the counts (default: its own position)."""
    won, p_win = np.asarray(won, bool), np.asarray(p_win, float)
    columns = np.arange(len(won)) if columns is None else np.asarray(columns)
    order = np.argsort(p_win[~won], kind="stable")
    negative_scores = p_win[~won][order]
    return AucRanks(
        positives=columns[won],
        negatives=columns[~won][order],
        below=np.searchsorted(negative_scores, p_win[won], side="left"),
        upto=np.searchsorted(negative_scores, p_win[won], side="right"),
    )


def weighted_auc(counts: np.ndarray, ranks: AucRanks) -> np.ndarray:
    """Per column of `counts` (customers x draws), the AUC of the sample that holds each
    customer that many times: the Mann-Whitney AUC, ties counted half, in integers (twice
    the wins: below + at most as high), without materialising the sample. NaN with one
    outcome only."""
    negatives = np.zeros((len(ranks.negatives) + 1, counts.shape[1]), dtype=np.int64)
    np.cumsum(counts[ranks.negatives], axis=0, out=negatives[1:])
    positives = counts[ranks.positives]
    twice_wins = (positives * (negatives[ranks.below] + negatives[ranks.upto])).sum(axis=0)
    pairs = positives.sum(axis=0, dtype=np.int64) * negatives[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, twice_wins / (2 * pairs), np.nan)


@dataclass(frozen=True)
class CaptureOrder:
    """Customers by value, laid out once for the capture of the top `share` of any resample:
    their count columns highest value first (ties by row order) with their revenue, and the
    count columns and revenue of the customers who have any."""

    columns: np.ndarray
    revenue: np.ndarray
    earners: np.ndarray
    earned: np.ndarray
    share: float


def capture_order(
    revenue: np.ndarray, value: np.ndarray, share: float, columns: np.ndarray | None = None
) -> CaptureOrder:
    """`columns`: each row's column in the counts (default: its own position)."""
    revenue = np.asarray(revenue, float)
    columns = np.arange(len(revenue)) if columns is None else np.asarray(columns)
    order = np.argsort(-np.asarray(value, float), kind="stable")
    earning = revenue != 0
    return CaptureOrder(columns[order], revenue[order], columns[earning], revenue[earning], share)


def weighted_top_share_capture(
    counts: np.ndarray, order: CaptureOrder, size: np.ndarray | None = None
) -> np.ndarray:
    """Per column of `counts` (customers x draws), `top_share_capture` of the sample that
    holds each customer that many times: the top `share` of the sample by value, ties broken
    by row order, so copies of one customer are adjacent and the last one in may be taken in
    part. Only the head of the order that fills the top is read (lengthened until it does in
    every draw). `size`: each draw's count over the ranked customers, where the caller has
    it (one sum serves every ranking of the same customers)."""
    if size is None:
        size = counts[order.columns].sum(axis=0, dtype=np.int64)
    top = np.maximum(1, np.rint(order.share * size))
    everyone = len(order.columns)
    head = min(everyone, int(1.5 * order.share * everyone) + 64)  # room for an uneven draw
    while True:
        taken = counts[order.columns[:head]]
        filled = np.cumsum(taken, axis=0, dtype=np.int64)
        if head == everyone or (filled[-1] >= top).all():
            break
        head = min(everyone, 2 * head)
    inside = np.clip(top - (filled - taken), 0, taken)
    total = order.earned @ counts[order.earners]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (order.revenue[:head] @ inside) / total, np.nan)


def bootstrap_primary(
    predictions: pd.DataFrame, methods: Sequence[str], draws: int, seed: int
) -> dict[str, np.ndarray]:
    """Per method, `draws` x len(PRIMARY) metrics averaged over origins. Each draw resamples
    customers once and uses that same sample at every origin (a customer recurs across
    origins, so origins are not independent) and for every method (paired). A draw is held
    as how often it takes each customer, and the metrics are weighted by those counts: the
    same values as on the resampled rows, at a fraction of the cost. Each method's ranking
    at each origin is sorted once, not once per chunk of draws."""
    rng = np.random.default_rng(seed)
    universe = pd.Index(predictions["customer_id"].unique())
    groups = [group for _, group in predictions.groupby("origin", sort=True)]
    at = [universe.get_indexer(group["customer_id"]) for group in groups]
    ranks = {
        m: [
            auc_ranks(g["won_any"].to_numpy(bool), g[f"p_{m}"].to_numpy(float), at[o])
            for o, g in enumerate(groups)
        ]
        for m in methods
    }
    orders = {
        m: [
            capture_order(
                g["won_revenue"].to_numpy(float), g[f"value_{m}"].to_numpy(float), TOP_SHARE, at[o]
            )
            for o, g in enumerate(groups)
        ]
        for m in methods
    }
    per_origin = {m: np.full((len(groups), draws, len(PRIMARY)), np.nan) for m in methods}
    chunk = max(1, BOOTSTRAP_CELLS // max(1, len(universe)))
    for first in range(0, draws, chunk):
        counts = resample_counts(rng, len(universe), min(chunk, draws - first))
        for o in range(len(groups)):
            size = counts[at[o]].sum(axis=0, dtype=np.int64)
            for m in methods:
                metrics = per_origin[m][o, first : first + counts.shape[1]]
                metrics[:, 0] = weighted_auc(counts, ranks[m][o])
                metrics[:, 1] = weighted_top_share_capture(counts, orders[m][o], size)
    out = {}
    for m in methods:
        seen = (~np.isnan(per_origin[m])).sum(axis=0)  # a metric undefined at every origin: NaN
        total = np.nansum(per_origin[m], axis=0)
        out[m] = np.where(seen > 0, total / np.maximum(seen, 1), np.nan)
    return out


def origin_table(predictions: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Per origin and method: AUC, PR-AUC, Brier, ECE, normalised Gini and top-10 % capture."""
    rows = []
    for origin, group in predictions.groupby("origin", sort=True):
        won = group["won_any"].to_numpy(bool)
        revenue = group["won_revenue"].to_numpy(float)
        for m in methods:
            p, v = group[f"p_{m}"].to_numpy(float), group[f"value_{m}"].to_numpy(float)
            probability = (
                classification_metrics(won, p)
                if np.isfinite(p).all()
                else dict.fromkeys(("auc", "pr_auc", "brier", "ece"), float("nan"))
            )
            rows.append(
                {
                    "origin": origin,
                    "method": m,
                    "auc": probability["auc"],
                    "pr_auc": probability["pr_auc"],
                    "brier": probability["brier"],
                    "ece": probability["ece"],
                    "normalized_gini": normalized_gini(revenue, v),
                    "top_decile_capture": top_share_capture(revenue, v, TOP_SHARE),
                    "customers": len(group),
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Selection:
    """The champion, the reference baseline, why, and the per-candidate table."""

    champion: str
    best_baseline: str
    reason: str
    table: pd.DataFrame
    evidence: str
    origins: list[str] = field(default_factory=list)
    sound: bool = True  # the champion's primary metrics are finite: fit to promote

    @property
    def baseline_is_champion(self) -> bool:
        return self.champion in BASELINES

    def as_dict(self) -> dict[str, Any]:
        return {
            "champion": self.champion,
            "champion_label": LABELS[self.champion],
            "best_baseline": self.best_baseline,
            "baseline_is_champion": self.baseline_is_champion,
            "reason": self.reason,
            "evidence": self.evidence,
            "origins": self.origins,
            "sound": self.sound,
        }


def _interval(draws: np.ndarray) -> tuple[float, float, float]:
    finite = draws[~np.isnan(draws)]
    if len(finite) == 0:
        return float("nan"), float("nan"), float("nan")
    return float(np.mean(finite)), *map(float, np.percentile(finite, [2.5, 97.5]))


def _verdict(diff: np.ndarray) -> str:
    """'better', 'worse' or 'tied' from a difference's 95 % interval; unknown counts as worse."""
    _, low, high = _interval(diff)
    if np.isnan(low):
        return "worse"
    return "better" if low > 0 else "worse" if high < 0 else "tied"


def reference_baseline(
    baselines: list[str], means: pd.DataFrame, boot: dict[str, np.ndarray]
) -> str:
    """The best baseline: among those no other baseline beats with confidence on AUC or on
    revenue capture, the highest mean AUC (the simpler on a tie)."""
    undominated = [
        b
        for b in baselines
        if not any(
            _verdict(boot[b][:, i] - boot[o][:, i]) == "worse"
            for o in baselines
            if o != b
            for i in range(len(PRIMARY))
        )
    ]
    pool = undominated or baselines
    return max(pool, key=lambda m: np.nan_to_num(means.loc[m, "auc"], nan=-1.0))


def choose_champion(
    predictions: pd.DataFrame, evidence: str, draws: int = 200, seed: int = 0
) -> Selection:
    """Apply the champion rule (module docstring) to replay predictions."""
    methods = methods_of(predictions)
    per_origin = origin_table(predictions, methods)
    means = per_origin.groupby("method").mean(numeric_only=True).reindex(methods)
    boot = bootstrap_primary(predictions, methods, draws, seed)
    baselines = [m for m in methods if m in BASELINES]
    best = reference_baseline(baselines, means, boot)
    champion = best
    reason = f"{LABELS[best]} is the best baseline on AUC and revenue capture"
    for m in (m for m in methods if m not in BASELINES):
        against_current = [
            _verdict(boot[m][:, i] - boot[champion][:, i]) for i in range(len(PRIMARY))
        ]
        never_worse = "worse" not in against_current and all(
            _verdict(boot[m][:, i] - boot[b][:, i]) != "worse"
            for b in baselines
            for i in range(len(PRIMARY))
        )
        if never_worse and "better" in against_current:
            champion = m
            reason = f"{LABELS[m]} beats {LABELS[best]} with 95 % confidence and is worse on none"
        elif champion == best:
            reason = (
                f"on this history the model ranks customers no better than {LABELS[best]}; "
                f"tiers use {LABELS[best]}"
            )
    rows = []
    for m in methods:
        row = {"method": m, "label": LABELS[m], "baseline": m in BASELINES}
        row.update(means.loc[m].drop("customers", errors="ignore").to_dict())
        for i, metric in enumerate(PRIMARY):
            mean, low, high = _interval(boot[m][:, i] - boot[best][:, i])
            row.update(
                {f"{metric}_vs_best_baseline": mean, f"{metric}_low": low, f"{metric}_high": high}
            )
        row["champion"] = m == champion
        rows.append(row)
    origins = sorted({pd.Timestamp(o).date().isoformat() for o in predictions["origin"]})
    sound = bool(np.isfinite(means.loc[champion, list(PRIMARY)].to_numpy(float)).all())
    if not sound:
        reason = "no candidate has finite AUC and revenue capture at the evaluation origins"
    return Selection(champion, best, reason, pd.DataFrame(rows), evidence, origins, sound)
