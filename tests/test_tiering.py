"""Tier policies, overlays and hysteresis: known answers."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from tests.test_features import CONFIG, TOUCH_ACTIVITIES, TOUCH_CUSTOMERS, TOUCH_DEALS, T
from tier_ml.features.build import build_features
from tier_ml.tiering import ACTIONS, Overlays, TierAssigner, TierPolicy, tier_inputs

QUIET = Overlays(inactivity_days=None, spend_threshold=None)


def frame(values, **extra) -> pd.DataFrame:
    n = len(values)
    base = {
        "customer_id": [f"c{i:03d}" for i in range(n)],
        "expected_value": np.asarray(values, dtype=float),
        "owner": ["o"] * n,
        "previous_tier": [None] * n,
        "days_since_last_touch": [1.0] * n,
        "last_period_revenue": [0.0] * n,
    }
    return pd.DataFrame({**base, **extra})


def quantile_tiers(values, **extra) -> pd.DataFrame:
    return TierAssigner(TierPolicy(overlays=QUIET)).fit_assign(frame(values, **extra))


def test_quantile_policy_gives_the_configured_shares():
    values = np.arange(100)
    tiers = quantile_tiers(values)
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


def test_capacity_ties_go_to_the_lower_customer_id_whatever_the_row_order():
    policy = TierPolicy(kind="capacity", capacity={"A": 1, "B": 1, "C": 1}, overlays=QUIET)
    rows = frame([5.0] * 4, customer_id=["d", "c", "b", "a"])
    assert TierAssigner(policy).fit_assign(rows)["tier"].tolist() == ["D", "C", "B", "A"]


SILENCE = (
    "inactivity downgrade to C: no deal opened or closed, no activity and no new customer "
    "record in the last 90 days"
)


def test_inactivity_downgrade_caps_at_c_and_says_what_it_measures():
    policy = TierPolicy(
        kind="threshold",
        thresholds={"A": 100, "B": 50, "C": 10},
        overlays=Overlays(inactivity_days=90, spend_threshold=None),
    )
    rows = frame([150, 150, 5, 150], days_since_last_touch=[120.0, 10.0, 400.0, np.nan])
    tiers = TierAssigner(policy).fit([]).assign(rows)
    assert tiers["tier"].tolist() == ["C", "A", "D", "C"]
    assert tiers["tier_change_reason"].tolist() == [
        SILENCE,
        "first scoring",
        "first scoring",
        SILENCE,
    ]


def test_a_new_deal_a_lost_deal_or_a_young_account_is_not_silence():
    features = build_features(TOUCH_CUSTOMERS, TOUCH_DEALS, TOUCH_ACTIVITIES, T, CONFIG)
    rows = tier_inputs(features, np.full(len(features), 1_000.0), horizon_days=180)
    policy = TierPolicy(
        kind="threshold",
        thresholds={"A": 100, "B": 50, "C": 10},
        overlays=Overlays(inactivity_days=90, spend_threshold=None),
    )
    tiers = TierAssigner(policy).fit([]).assign(rows).set_axis(features["customer_id"])
    assert tiers["tier"].to_dict() == {
        "CALL": "A",
        "LOST": "A",
        "NEW": "A",
        "NOTHING": "C",
        "OPEN": "A",
        "SILENT": "C",
    }
    assert tiers.loc["SILENT", "tier_change_reason"] == SILENCE


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


def test_ties_are_broken_by_customer_id_so_every_tier_gets_its_share():
    # 70 customers tied at zero, listed in reverse id order: the tie goes to the lower ids
    values = np.array([0.0] * 70 + list(range(1, 31)), dtype=float)
    ids = [f"z{i:02d}" for i in reversed(range(70))] + [f"p{i:02d}" for i in range(30)]
    tiers = quantile_tiers(values, customer_id=ids).set_axis(ids)["tier"]
    assert tiers.value_counts().to_dict() == {"A": 10, "B": 20, "C": 30, "D": 40}
    assert tiers[[f"z{i:02d}" for i in range(30)]].eq("C").all()
    assert tiers[[f"z{i:02d}" for i in range(30, 70)]].eq("D").all()


def test_equal_scores_are_split_by_customer_id_whatever_the_row_order():
    ids = ["c07", "c02", "c09", "c00", "c05", "c01", "c08", "c03", "c06", "c04"]
    tiers = quantile_tiers([5.0] * 10, customer_id=ids).set_axis(ids)["tier"]
    assert tiers.sort_index().tolist() == ["A", "B", "B", "C", "C", "C", "D", "D", "D", "D"]


def test_a_missing_score_ranks_last_says_so_and_is_counted(caplog):
    values = np.arange(100, dtype=float)
    values[50] = np.nan
    with caplog.at_level(logging.WARNING, logger="tier_ml.tiering"):
        tiers = quantile_tiers(values)
    assert tiers["tier"].value_counts().to_dict() == {"A": 10, "B": 20, "C": 30, "D": 40}
    assert tiers.index[tiers["tier"] == "A"].tolist() == list(range(90, 100))
    unscored = tiers["tier_change_reason"] == "no score (expected value missing)"
    assert tiers.index[unscored].tolist() == [50] and tiers.loc[50, "tier"] == "D"
    assert "1 of 100 customers have no expected value: tier D" in caplog.text


def test_an_empty_population_gets_no_tiers_and_no_error():
    for kind in ("quantile", "capacity", "threshold"):
        tiers = TierAssigner(TierPolicy(kind=kind)).fit_assign(frame([]))
        assert tiers.empty
        assert tiers.columns.tolist() == ["tier", "action", "tier_change", "tier_change_reason"]


def test_fewer_customers_than_tiers_get_the_shares_rounded_to_whole_customers():
    # cumulative shares 10 %, 30 %, 60 % of 3 customers: 0.3, 0.9, 1.8 -> 0, 1, 2 ranked above
    assert quantile_tiers([3.0, 2.0, 1.0])["tier"].tolist() == ["B", "C", "D"]
    assert quantile_tiers([7.0])["tier"].tolist() == ["C"]


def test_hysteresis_uses_the_value_cut_points_of_ranked_tiers():
    # the A cut is the 90th percentile, 89.1: 89 is within 10 % of it, 80 is not
    previous = [None] * 100
    previous[89] = previous[80] = "A"
    tiers = quantile_tiers(np.arange(100), previous_tier=previous)
    assert tiers.loc[[89, 80], "tier"].tolist() == ["A", "B"]
    assert tiers.loc[[89, 80], "tier_change_reason"].tolist() == [
        "kept A: expected value within the hysteresis band of the boundary",
        "expected value moved it from A to B",
    ]
