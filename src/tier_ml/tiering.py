"""Tier policies, overlays and hysteresis: from expected value to A/B/C/D with an action.

`TierAssigner.fit` learns value cut points from the population scored now (quantile shares,
or fixed thresholds). `fit_assign` tiers that population: the quantile policy by rank, so each
tier gets exactly its share whatever the ties (broken by customer_id); `assign` tiers rows
scored elsewhere on the fitted cut points. Both then apply the overlays (inactivity
downgrade, spend upgrade) and hysteresis (a customer close to a boundary value keeps its
previous tier), and name every effect in `tier_change_reason`. A missing score ranks last:
tier D, "no score", and a warning with the count.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tier_ml.distinct import per_distinct
from tier_ml.language import Language, Text
from tier_ml.models.baselines import last_period_revenue

TIERS = ("A", "B", "C", "D")
ACTIONS = {
    "en": {"A": "Follow up now", "B": "Quarterly focus", "C": "Long-term nurture", "D": "Hold off"},
    "zh": {"A": "立即跟进", "B": "季度重点", "C": "长期培育", "D": "暂缓接触"},
}
# the same actions in no language: what BI tables store, with a label column per language
ACTION_CODES = {
    "A": "follow_up_now",
    "B": "quarterly_focus",
    "C": "long_term_nurture",
    "D": "hold_off",
}
RANK = {t: i for i, t in enumerate(TIERS)}
SILENCE_FEATURE = "days_since_last_touch"  # the feature the inactivity overlay reads
# in the reason of a move by value alone (no overlay, no hysteresis)
MOVED = Text("moved it from", "使其从")
MEASURES = {  # the value tiers are cut on, as a tier-change reason names it
    "expected value": Text("expected value", "预期价值"),
    "scorecard score": Text("scorecard score", "评分卡得分"),
}
CHANGE_REASONS = {  # why a customer's tier is what it is, beyond where its value falls
    "unscored": Text("no score ({measure} missing)", "无评分（缺少{measure}）"),
    "inactive": Text(
        "inactivity downgrade to {tier}: no deal opened or closed, no activity and no new "
        "customer record in the last {days} days",
        "因不活跃降至 {tier}：最近 {days} 天没有新建或关闭商机、没有互动，也没有新建客户记录",
    ),
    "spend": Text(
        "spend upgrade to {tier}: won revenue above {amount:,.0f} in the last period",
        "因消费升至 {tier}：上一期成交收入超过 {amount:,.0f}",
    ),
    "kept": Text(
        "kept {tier}: {measure} within the hysteresis band of the boundary",
        "保持 {tier}：{measure}在分级边界的缓冲带内",
    ),
    "first": Text("first scoring", "首次评分"),
    "moved": Text(
        "{measure} {moved} {before} to {after}", "{measure}{moved} {before} 调至 {after}"
    ),
    "joined": Text("{first}; {second}", "{first}；{second}"),
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overlays:
    """Business rules on top of the model's tiers."""

    inactivity_days: int | None = 90  # no touch (days_since_last_touch) this long: at most C
    inactivity_cap: str = "C"
    spend_threshold: float | None = None  # won revenue in the last period above it: at least B
    spend_floor: str = "B"


@dataclass(frozen=True)
class TierPolicy:
    """How tiers are cut: quantile shares, top N per owner, or value thresholds."""

    kind: Literal["quantile", "capacity", "threshold"] = "quantile"
    shares: Mapping[str, float] = field(
        default_factory=lambda: {"A": 0.10, "B": 0.20, "C": 0.30, "D": 0.40}
    )
    capacity: Mapping[str, int] = field(default_factory=lambda: {"A": 10, "B": 25, "C": 60})
    thresholds: Mapping[str, float] = field(
        default_factory=lambda: {"A": 20_000.0, "B": 5_000.0, "C": 1_000.0}
    )
    hysteresis: float = 0.10  # relative band around a value cut point
    overlays: Overlays = Overlays()
    language: Language = "en"

    @classmethod
    def from_dict(cls, params: Mapping) -> TierPolicy:
        overlays = params.get("overlays", {})
        return cls(
            kind=params["policy"],
            shares=dict(params.get("shares", {})) or cls().shares,
            capacity=dict(params.get("capacity", {})) or cls().capacity,
            thresholds={k: float(v) for k, v in params.get("thresholds", {}).items()}
            or cls().thresholds,
            hysteresis=float(params.get("hysteresis", 0.1)),
            overlays=Overlays(
                inactivity_days=overlays.get("inactivity_days", 90),
                inactivity_cap=overlays.get("inactivity_cap", "C"),
                spend_threshold=overlays.get("spend_threshold"),
                spend_floor=overlays.get("spend_floor", "B"),
            ),
            language=params.get("language", "en"),
        )


def _by_cuts(value: np.ndarray, cuts: Mapping[str, float]) -> np.ndarray:
    """A at or above the A cut, B at or above the B cut, ..., D below all. A cut at the
    lowest value (many customers tied there, e.g. at zero) admits only values above it,
    so the tied customers fall to the lower tier rather than fill the upper one."""
    tiers = np.full(len(value), "D", dtype=object)
    lowest = np.nanmin(value) if len(value) else 0.0
    for tier in reversed(TIERS[:-1]):
        cut = cuts[tier]
        tiers[(value > cut) if cut <= lowest else (value >= cut)] = tier
    return tiers


def _by_capacity(frame: pd.DataFrame, capacity: Mapping[str, int]) -> np.ndarray:
    """Each owner's best accounts: the first N get A, the next M get B, and so on (ties by
    customer_id)."""
    order = _best_first(frame["expected_value"].to_numpy(float), frame["customer_id"])
    owners = frame["owner"].fillna("(no owner)").to_numpy(object)[order]
    rank = np.empty(len(frame), dtype=int)
    rank[order] = pd.Series(owners).groupby(owners).cumcount().to_numpy() + 1
    tiers = np.full(len(frame), "D", dtype=object)
    upper = 0
    for tier in TIERS[:-1]:
        lower, upper = upper, upper + int(capacity.get(tier, 0))
        tiers[(rank > lower) & (rank <= upper)] = tier
    return tiers


def _best_first(value: np.ndarray, key: pd.Series) -> np.ndarray:
    """Row positions from the highest value down, ties by `key` (the customer id), missing
    values last: the same customers always get the same ranks, whatever the row order."""
    return (
        pd.DataFrame({"missing": np.isnan(value), "value": value, "key": key.to_numpy()})
        .sort_values(["missing", "value", "key"], ascending=[True, False, True], kind="stable")
        .index.to_numpy()
    )


def _boundaries(n: int, shares: Mapping[str, float]) -> np.ndarray:
    """Customers ranked above each of the B, C and D boundaries: the cumulative shares of n
    rounded half up, so the tiers always add up to n (3 customers: 0 A, 1 B, 1 C, 1 D)."""
    cumulative = np.cumsum([shares[t] for t in TIERS[:-1]]) * n
    return np.floor(np.round(cumulative, 9) + 0.5).astype(int)


def _by_rank(value: np.ndarray, key: pd.Series, shares: Mapping[str, float]) -> np.ndarray:
    """Quantile tiers by rank, so every tier gets exactly its share."""
    order = _best_first(value, key)
    position = np.searchsorted(_boundaries(len(value), shares), np.arange(len(value)), "right")
    tiers = np.empty(len(value), dtype=object)
    tiers[order] = np.asarray(TIERS, dtype=object)[position]
    return tiers


def _ranks(tiers: np.ndarray) -> np.ndarray:
    """Tier letters as 0 (A) to 3 (D); an int array even when there are none."""
    return np.array([RANK[t] for t in tiers], dtype=int)


def tier_inputs(
    features: pd.DataFrame,
    expected_value: np.ndarray,
    horizon_days: int,
    previous_tier: pd.Series | None = None,
) -> pd.DataFrame:
    """What the assigner reads for each customer: id (the tie-break), the value tiers are cut
    on, owner, silence, recent spend and the previous tier (for hysteresis)."""
    features = features.reset_index(drop=True)
    previous = (
        features["customer_id"].map(previous_tier)
        if previous_tier is not None
        else pd.Series(None, index=features.index)
    )
    return pd.DataFrame(
        {
            # the tie-break; a batch for the portable model may come without ids: row order
            "customer_id": features.get("customer_id", features.index.to_series()),
            "expected_value": np.asarray(expected_value, dtype=float),
            "owner": features["owner"] if "owner" in features else None,
            "previous_tier": previous.astype("object"),
            "days_since_last_touch": features[SILENCE_FEATURE].astype(float),
            "last_period_revenue": last_period_revenue(features, horizon_days).astype(float),
        }
    )


class TierAssigner(BaseEstimator):
    """Tiers from expected value under a policy, with overlays and hysteresis.

    `measure` names the value in the reasons: "expected value", or "scorecard score" when
    rules only have no money value to cut on.
    """

    def __init__(self, policy: TierPolicy = TierPolicy(), measure: str = "expected value"):
        self.policy = policy
        self.measure = measure

    def fit(self, expected_value: pd.Series) -> TierAssigner:
        """Value cut points: the quantiles of the scored values that give the shares, or the
        fixed thresholds. Missing values are left out; with none scored the cuts are NaN,
        which no value reaches."""
        values = np.asarray(expected_value, dtype=float)
        values = values[~np.isnan(values)]
        if self.policy.kind == "threshold":
            self.cuts_ = dict(self.policy.thresholds)
        else:
            shares = np.cumsum([self.policy.shares[t] for t in TIERS[:-1]])
            quantiles = np.quantile(values, 1 - shares) if len(values) else np.full(3, np.nan)
            self.cuts_ = dict(zip(TIERS[:-1], map(float, quantiles), strict=True))
        return self

    def fit_assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit on `frame`, the population scored now, and tier it: the quantile policy by
        rank (ties by customer_id), so each tier gets exactly its share."""
        self.fit(frame["expected_value"])
        if self.policy.kind != "quantile":
            return self.assign(frame)
        value = frame["expected_value"].to_numpy(float)
        return self._assign(frame, _by_rank(value, frame["customer_id"], self.policy.shares))

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Tier rows scored elsewhere (a batch, a Spark partition) on the fitted cut points."""
        return self._assign(frame, self.model_tiers(frame))

    def model_tiers(self, frame: pd.DataFrame) -> np.ndarray:
        if self.policy.kind == "capacity":
            return _by_capacity(frame, self.policy.capacity)
        return _by_cuts(frame["expected_value"].to_numpy(float), self.cuts_)

    def _near_boundary(
        self, value: np.ndarray, previous: np.ndarray, tier: np.ndarray
    ) -> np.ndarray:
        """Moved by one tier, and within the hysteresis band of the boundary it crossed."""
        band = self.policy.hysteresis
        near = np.zeros(len(value), dtype=bool)
        if self.policy.kind == "capacity" or band <= 0:
            return near
        for upper, lower in zip(TIERS[:-1], TIERS[1:], strict=False):
            cut = self.cuts_[upper]
            crossed = ((previous == upper) & (tier == lower)) | (
                (previous == lower) & (tier == upper)
            )
            near |= crossed & (np.abs(value - cut) <= band * max(abs(cut), 1e-9))
        return near

    def _said(self, reason: str, **values: object) -> str:
        """A tier-change reason in the policy's language, naming the value it cuts on."""
        language = self.policy.language
        measure = MEASURES.get(self.measure, Text(self.measure, self.measure)).said(language)
        return CHANGE_REASONS[reason].said(language).format(measure=measure, **values)

    def _assign(self, frame: pd.DataFrame, tier: np.ndarray) -> pd.DataFrame:
        """Tier, action and the reason for any change, for each row of `frame`, from the
        policy's tiers `tier`.

        `frame` has customer_id and expected_value, and where available owner,
        previous_tier, days_since_last_touch and last_period_revenue.
        """
        overlays = self.policy.overlays
        value = frame["expected_value"].to_numpy(float)
        unscored = np.isnan(value)
        tier[unscored] = TIERS[-1]
        notes = np.where(unscored, self._said("unscored"), "").astype(object)
        if unscored.any():
            logger.warning(
                "%d of %d customers have no %s: tier %s",
                unscored.sum(),
                len(value),
                self.measure,
                TIERS[-1],
            )
        if overlays.inactivity_days is not None:
            silent = frame["days_since_last_touch"].to_numpy(float)
            silent = np.where(np.isnan(silent), np.inf, silent)
            capped = (silent > overlays.inactivity_days) & (
                _ranks(tier) < RANK[overlays.inactivity_cap]
            )
            tier[capped] = overlays.inactivity_cap
            notes[capped] = self._said(
                "inactive", tier=overlays.inactivity_cap, days=overlays.inactivity_days
            )
        if overlays.spend_threshold is not None:
            spent = frame["last_period_revenue"].to_numpy(float) > overlays.spend_threshold
            lifted = spent & (_ranks(tier) > RANK[overlays.spend_floor])
            tier[lifted] = overlays.spend_floor
            note = self._said("spend", tier=overlays.spend_floor, amount=overlays.spend_threshold)
            notes[lifted] = [
                self._said("joined", first=n, second=note) if n else note for n in notes[lifted]
            ]
        previous = frame.get("previous_tier", pd.Series(None, index=frame.index)).to_numpy(object)
        kept = self._near_boundary(value, previous, tier) & (notes == "")
        tier[kept] = previous[kept]
        return pd.DataFrame(
            {
                "tier": tier,
                "action": per_distinct(ACTIONS[self.policy.language].__getitem__, tier),
                "tier_change": per_distinct(_change, previous, tier),
                "tier_change_reason": per_distinct(self._reason, tier, previous, notes, kept),
            },
            index=frame.index,
        )

    def _reason(self, tier: str, previous: object, note: str, kept: bool) -> str:
        """Why a customer is in its tier now: held by hysteresis, an overlay's note, new, the
        same as before, or moved by its value."""
        if kept:
            return self._said("kept", tier=previous)
        if note:
            return note
        if not isinstance(previous, str):
            return self._said("first")
        if previous == tier:
            return ""
        moved = MOVED.said(self.policy.language)
        return self._said("moved", moved=moved, before=previous, after=tier)


def moved_by_value(reason: object) -> bool:
    """The tier changed because the value crossed a boundary, and the reason says no more:
    the report then says what changed."""
    return isinstance(reason, str) and any(words in reason for words in MOVED)


def _change(previous: object, tier: str) -> str:
    if not isinstance(previous, str):
        return "new"
    if previous == tier:
        return "same"
    return "up" if RANK[tier] < RANK[previous] else "down"
