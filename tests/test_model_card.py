"""The model card's known limits, from the data profile and the training's evidence."""

from __future__ import annotations

from tier_ml.model_card import known_limits

PASSED = {"passed": True, "message": "900 positive and 2000 negative examples"}
REPLAY = "rolling origins 2025-03-06, 2025-05-05, 2025-07-04"


def test_a_full_crm_export_with_a_long_history_has_no_known_limit():
    profile = {"activities": 75_766, "deal_history": 1_200}
    assert known_limits(profile, REPLAY, PASSED, ("amount",)) == []


def test_each_gap_in_the_data_or_the_history_is_a_known_limit():
    profile = {"activities": 0, "deal_history": 0}
    evidence = "customer cross-validation at the latest labelled cutoff"
    failed = {"passed": False, "message": "Not enough training data for a model: 30 more"}
    limits = known_limits(profile, evidence, failed, ("amount", "owner"))
    assert [limit["code"] for limit in limits] == [
        "no_activities",
        "no_deal_history",
        "cross_validation",
        "minimum_data",
    ]
    assert limits[0]["text"].startswith("No activities in this data")
    assert "open deals' amount, owner are read as set at creation" in limits[1]["text"]
    assert limits[3]["text"] == failed["message"]
