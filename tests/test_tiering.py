"""Tier policies, overlays and hysteresis: known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tier_ml.tiering import ACTIONS, Overlays, TierAssigner, TierPolicy

QUIET = Overlays(inactivity_days=None, spend_threshold=None)


def frame(values, **extra) -> pd.DataFrame:
    n = len(values)
    base = {
        "expected_value": np.asarray(values, dtype=float),
        "owner": ["o"] * n,
        "previous_tier": [None] * n,
        "days_since_last_won": [1.0] * n,
        "days_since_last_activity": [1.0] * n,
        "last_period_revenue": [0.0] * n,
    }
    return pd.DataFrame({**base, **extra})


def test_quantile_policy_gives_the_configured_shares():
    values = np.arange(100)
    tiers = TierAssigner(TierPolicy(overlays=QUIET)).fit(values).assign(frame(values))
    assert tiers["tier"].value_counts().to_dict() == {"A": 10, "B": 20, "C": 30, "D": 40}
    assert (tiers.loc[tiers["tier"] == "A", "action"] == "Follow up now").all()
    assert tiers["tier_change"].eq("new").all()


def test_threshold_policy_and_chinese_actions():
    policy = TierPolicy(
        kind="threshold", thresholds={"A": 100, "B": 50, "C": 10}, overlays=QUIET, language="zh"
    )
    tiers = TierAssigner(policy).fit([]).assign(frame([150, 100, 60, 10, 9]))
    assert tiers["tier"].tolist() == ["A", "A", "B", "C", "D"]
    assert tiers["action"].tolist()[0] == "立即跟进" and tiers["action"].tolist()[-1] == "暂缓接触"
    assert set(ACTIONS["zh"].values()) == {"立即跟进", "季度重点", "长期培育", "暂缓接触"}


def test_capacity_policy_is_top_n_per_owner():
    policy = TierPolicy(kind="capacity", capacity={"A": 1, "B": 1, "C": 1}, overlays=QUIET)
    rows = frame([5, 4, 3, 2, 9, 1], owner=["x", "x", "x", "x", "y", "y"])
    tiers = TierAssigner(policy).fit(rows["expected_value"]).assign(rows)
    assert tiers["tier"].tolist() == ["A", "B", "C", "D", "A", "B"]


def test_inactivity_downgrade_caps_at_c_and_says_so():
    policy = TierPolicy(
        kind="threshold",
        thresholds={"A": 100, "B": 50, "C": 10},
        overlays=Overlays(inactivity_days=90, spend_threshold=None),
    )
    rows = frame(
        [150, 150, 5],
        days_since_last_won=[400.0, 10.0, 400.0],
        days_since_last_activity=[120.0, np.nan, np.nan],
    )
    tiers = TierAssigner(policy).fit([]).assign(rows)
    assert tiers["tier"].tolist() == ["C", "A", "D"]
    assert tiers["tier_change_reason"][0].startswith("inactivity downgrade to C")


def test_spend_upgrade_lifts_to_b():
    policy = TierPolicy(
        kind="threshold",
        thresholds={"A": 100, "B": 50, "C": 10},
        overlays=Overlays(inactivity_days=None, spend_threshold=1000),
    )
    rows = frame([5, 5, 150], last_period_revenue=[5000.0, 10.0, 5000.0])
    tiers = TierAssigner(policy).fit([]).assign(rows)
    assert tiers["tier"].tolist() == ["B", "D", "A"]
    assert "spend upgrade to B" in tiers["tier_change_reason"][0]


def test_hysteresis_keeps_the_previous_tier_near_a_boundary():
    policy = TierPolicy(
        kind="threshold", thresholds={"A": 100, "B": 50, "C": 10}, hysteresis=0.1, overlays=QUIET
    )
    rows = frame([95, 80, 105, 40], previous_tier=["A", "A", "B", "C"])
    tiers = TierAssigner(policy).fit([]).assign(rows)
    # 95 is within 10 % of the A cut: stays A; 80 is not: drops to B; 105 rises to A
    # (within the band, so it keeps B); 40 moves C->C? no: 40 is C, same tier
    assert tiers["tier"].tolist() == ["A", "B", "B", "C"]
    assert tiers["tier_change"].tolist() == ["same", "down", "same", "same"]
    assert tiers["tier_change_reason"][0].startswith("kept A")
    assert tiers["tier_change_reason"][1] == "expected value moved it from A to B"


def test_customers_tied_at_zero_fall_to_the_lowest_tier():
    values = np.array([0.0] * 70 + list(range(1, 31)), dtype=float)
    tiers = TierAssigner(TierPolicy(overlays=QUIET)).fit(values).assign(frame(values))
    assert (tiers["tier"][:70] == "D").all()
    assert tiers["tier"].value_counts()["A"] == 10


def test_backtest_origins_from_a_list_or_a_range_need_complete_outcomes():
    import pytest

    from tier_ml.backtest import backtest_origins

    end = pd.Timestamp("2025-12-31")
    assert backtest_origins(["2025-01-01"], end, 180) == [pd.Timestamp("2025-01-01")]
    ranged = backtest_origins(
        {"start": "2024-10-01", "end": "2025-04-01", "step_months": 3}, end, 180
    )
    assert ranged == [pd.Timestamp(d) for d in ("2024-10-01", "2025-01-01", "2025-04-01")]
    with pytest.raises(ValueError, match=r"\['2025-08-01'\] have no complete outcome window"):
        backtest_origins(["2025-01-01", "2025-08-01"], end, 180)
