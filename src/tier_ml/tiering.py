"""Tier policies, overlays and hysteresis: from expected value to A/B/C/D with an action.

`TierAssigner.fit` learns value cut points from the population scored now (quantile shares,
or fixed thresholds); `assign` applies them, then the overlays (inactivity downgrade, spend
upgrade), then hysteresis (a customer close to a boundary keeps its previous tier), and names
every effect in `tier_change_reason`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tier_ml.models.baselines import last_period_revenue

TIERS = ("A", "B", "C", "D")
ACTIONS = {
    "en": {"A": "Follow up now", "B": "Quarterly focus", "C": "Long-term nurture", "D": "Hold off"},
    "zh": {"A": "立即跟进", "B": "季度重点", "C": "长期培育", "D": "暂缓接触"},
}
RANK = {t: i for i, t in enumerate(TIERS)}


@dataclass(frozen=True)
class Overlays:
    """Business rules on top of the model's tiers."""

    inactivity_days: int | None = 90  # no won deal or activity for this long: at most C
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
    language: str = "en"

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
    """Each owner's best accounts: the first N get A, the next M get B, and so on."""
    rank = (
        frame.groupby(frame["owner"].fillna("(no owner)"))["expected_value"]
        .rank(ascending=False, method="first")
        .to_numpy()
    )
    tiers = np.full(len(frame), "D", dtype=object)
    upper = 0
    for tier in TIERS[:-1]:
        lower, upper = upper, upper + int(capacity.get(tier, 0))
        tiers[(rank > lower) & (rank <= upper)] = tier
    return tiers


def tier_inputs(
    features: pd.DataFrame,
    expected_value: np.ndarray,
    horizon_days: int,
    previous_tier: pd.Series | None = None,
) -> pd.DataFrame:
    """What the assigner reads for each customer: value, owner, silence, recent spend and
    the previous tier (for hysteresis)."""
    features = features.reset_index(drop=True)
    previous = (
        features["customer_id"].map(previous_tier)
        if previous_tier is not None
        else pd.Series(None, index=features.index)
    )
    return pd.DataFrame(
        {
            "expected_value": np.asarray(expected_value, dtype=float),
            "owner": features["owner"] if "owner" in features else None,
            "previous_tier": previous.astype("object"),
            "days_since_last_won": features["days_since_last_won"].astype(float),
            "days_since_last_activity": features["days_since_last_activity"].astype(float),
            "last_period_revenue": last_period_revenue(features, horizon_days).astype(float),
        }
    )


class TierAssigner(BaseEstimator):
    """Tiers from expected value under a policy, with overlays and hysteresis."""

    def __init__(self, policy: TierPolicy = TierPolicy()):
        self.policy = policy

    def fit(self, expected_value: pd.Series) -> TierAssigner:
        """Value cut points: the quantiles that give the shares, or the fixed thresholds."""
        values = np.asarray(expected_value, dtype=float)
        if self.policy.kind == "threshold":
            self.cuts_ = dict(self.policy.thresholds)
        else:
            shares = np.cumsum([self.policy.shares[t] for t in TIERS[:-1]])
            quantiles = np.quantile(values, 1 - shares) if len(values) else np.zeros(3)
            self.cuts_ = dict(zip(TIERS[:-1], map(float, quantiles), strict=True))
        return self

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

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Tier, action and the reason for any change, for each row of `frame`.

        `frame` has expected_value, and where available owner, previous_tier,
        days_since_last_won, days_since_last_activity and last_period_revenue.
        """
        overlays = self.policy.overlays
        value = frame["expected_value"].to_numpy(float)
        tier = self.model_tiers(frame)
        notes = np.full(len(frame), "", dtype=object)
        if overlays.inactivity_days is not None:
            silent = np.fmin(
                frame["days_since_last_won"].to_numpy(float),
                frame["days_since_last_activity"].to_numpy(float),
            )
            silent = np.where(np.isnan(silent), np.inf, silent)
            capped = (silent > overlays.inactivity_days) & (
                np.vectorize(RANK.get)(tier) < RANK[overlays.inactivity_cap]
            )
            tier[capped] = overlays.inactivity_cap
            notes[capped] = (
                f"inactivity downgrade to {overlays.inactivity_cap}: no won deal "
                f"or activity for over {overlays.inactivity_days} days"
            )
        if overlays.spend_threshold is not None:
            spent = frame["last_period_revenue"].to_numpy(float) > overlays.spend_threshold
            lifted = spent & (np.vectorize(RANK.get)(tier) > RANK[overlays.spend_floor])
            tier[lifted] = overlays.spend_floor
            note = (
                f"spend upgrade to {overlays.spend_floor}: won revenue above "
                f"{overlays.spend_threshold:,.0f} in the last period"
            )
            notes[lifted] = [f"{n}; {note}" if n else note for n in notes[lifted]]
        previous = frame.get("previous_tier", pd.Series(None, index=frame.index)).to_numpy(object)
        kept = self._near_boundary(value, previous, tier) & (notes == "")
        tier[kept] = previous[kept]
        reasons = self._reasons(tier, previous, notes, kept)
        return pd.DataFrame(
            {
                "tier": tier,
                "action": [ACTIONS[self.policy.language][t] for t in tier],
                "tier_change": [_change(p, t) for p, t in zip(previous, tier, strict=True)],
                "tier_change_reason": reasons,
            },
            index=frame.index,
        )

    @staticmethod
    def _reasons(tier, previous, notes, kept) -> list[str]:
        out = []
        for t, p, note, hold in zip(tier, previous, notes, kept, strict=True):
            if hold:
                out.append(f"kept {p}: expected value within the hysteresis band of the boundary")
            elif note:
                out.append(note)
            elif not isinstance(p, str):
                out.append("first scoring")
            elif p == t:
                out.append("")
            else:
                out.append(f"expected value moved it from {p} to {t}")
        return out


def _change(previous: object, tier: str) -> str:
    if not isinstance(previous, str):
        return "new"
    if previous == tier:
        return "same"
    return "up" if RANK[tier] < RANK[previous] else "down"
