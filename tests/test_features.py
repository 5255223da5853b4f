"""Point-in-time features and labels: known answers and the no-leakage invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tier_ml.features.build import (
    KEY_COLUMNS,
    ROW_WEIGHT,
    build_feature_table,
    build_features,
    label_counts,
    training_cutoffs,
)
from tier_ml.features.engine import collected
from tier_ml.features.registry import FeatureConfig, feature_registry
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm
from tier_ml.spark_scoring import POPULATION

T = pd.Timestamp("2025-06-01")
CONFIG = FeatureConfig(activity_types=("meeting", "call", "web_visit"))


def ts(text: str) -> np.datetime64:
    return pd.Timestamp(text).to_datetime64()


def frame_customers(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array([r[0] for r in rows], dtype="str"),
            "created_at": pd.array([r[1] for r in rows], dtype="datetime64[us]"),
            "industry": pd.array(["Software"] * len(rows), dtype="str"),
            "region": pd.array(["EMEA"] * len(rows), dtype="str"),
            "employees": [50.0] * len(rows),
            "annual_revenue": [1e6] * len(rows),
        }
    )


def frame_deals(rows: list[tuple]) -> pd.DataFrame:
    columns = ["deal_id", "customer_id", "created_at", "closed_at", "status", "amount"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(
        {
            "deal_id": "str",
            "customer_id": "str",
            "status": "str",
            "created_at": "datetime64[us]",
            "closed_at": "datetime64[us]",
            "amount": "float64",
        }
    )


def frame_activities(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at", "type"])
    return frame.astype({"customer_id": "str", "occurred_at": "datetime64[us]", "type": "str"})


CUSTOMERS = frame_customers([("A", "2024-01-01"), ("B", None), ("LATE", "2025-07-01")])
DEALS = frame_deals(
    [
        ("w1", "A", "2024-02-01", "2024-03-01", "won", 100.0),
        ("w2", "A", "2025-03-01", "2025-05-02", "won", 300.0),
        ("l1", "A", "2024-06-01", "2024-07-01", "lost", 50.0),
        # Created before T, won after T: open at T, and a label of the horizon.
        ("x1", "A", "2025-05-01", "2025-06-10", "won", 1000.0),
        ("o1", "B", "2025-04-01", None, "open", 70.0),
        # Closes exactly on T: known at T? No, T itself is not before T: open at T.
        ("e1", "B", "2025-05-20", "2025-06-01", "won", 10.0),
        # Won at T + 180 days exactly: outside the horizon [T, T + 180).
        ("f1", "B", "2025-07-01", "2025-11-28", "won", 5.0),
    ]
)
ACTIVITIES = frame_activities(
    [
        ("A", "2025-05-25", "meeting"),
        ("A", "2025-05-10", "meeting"),
        ("A", "2025-03-15", "call"),
        ("A", "2024-09-01", "web_visit"),
        ("A", "2025-06-02", "meeting"),  # after T: does not exist yet
        ("B", "2025-05-31", "ignored_type"),
    ]
)


@pytest.fixture(scope="module")
def at_t() -> pd.DataFrame:
    return build_features(CUSTOMERS, DEALS, ACTIVITIES, T, CONFIG).set_index("customer_id")


def test_only_customers_known_at_t(at_t):
    assert at_t.index.tolist() == ["A", "B"]
    assert (at_t["as_of"] == T).all()


def test_rfm_and_win_history_known_answers(at_t):
    a = at_t.loc["A"]
    assert a["won_count_total"] == 2 and a["won_revenue_total"] == 400
    assert a["days_since_last_won"] == pytest.approx(30.0)  # 2025-05-02 -> 2025-06-01
    assert a["won_count_90d"] == 1 and a["won_revenue_365d"] == 300
    assert a["lost_count_total"] == 1 and a["win_rate"] == pytest.approx(2 / 3)
    assert a["avg_won_amount"] == 200


def test_deal_won_after_t_is_open_at_t(at_t):
    a, b = at_t.loc["A"], at_t.loc["B"]
    assert a["open_deal_count"] == 1 and a["open_deal_amount"] == 1000
    assert a["open_deal_age_max_days"] == pytest.approx(31.0)
    assert b["open_deal_count"] == 2  # o1 and e1, which closes on T itself
    assert b["won_count_total"] == 0 and np.isnan(b["days_since_last_won"])
    assert np.isnan(b["win_rate"])


def test_engagement_known_answers(at_t):
    a = at_t.loc["A"]
    assert a["act_meeting_30d"] == 2 and a["act_call_30d"] == 0 and a["act_call_90d"] == 1
    assert a["act_web_visit_365d"] == 1 and a["act_total_365d"] == 4
    assert a["days_since_last_activity"] == pytest.approx(7.0)
    assert a["activity_trend"] == pytest.approx(2 - 3 / 3)
    b = at_t.loc["B"]
    assert b["act_total_30d"] == 1  # types outside the list still count in totals


def test_tenure_and_firmographics(at_t):
    assert at_t.loc["A", "tenure_days"] == pytest.approx((T - pd.Timestamp("2024-01-01")).days)
    # no created_at: tenure from the first deal
    assert at_t.loc["B", "tenure_days"] == pytest.approx(61.0)
    assert at_t.loc["A", "industry"] == "Software" and at_t.loc["A", "employees"] == 50


# One customer per kind of touch before T; SILENT's only recent records are not touches.
TOUCH_CUSTOMERS = frame_customers(
    [
        ("OPEN", "2020-01-01"),
        ("LOST", "2020-01-01"),
        ("NEW", "2025-05-02"),
        ("SILENT", "2020-01-01"),
        ("CALL", "2020-01-01"),
        ("NOTHING", None),
    ]
)
TOUCH_DEALS = frame_deals(
    [
        ("o_won", "OPEN", "2024-12-01", "2025-01-01", "won", 500.0),
        ("o_new", "OPEN", "2025-05-22", None, "open", 63_700.0),  # opened 10 days before T
        ("l1", "LOST", "2024-01-01", "2025-05-12", "lost", 50.0),  # lost 20 days before T
        ("s_won", "SILENT", "2024-11-01", "2024-12-01", "won", 100.0),  # won 182 days before
        ("s_late", "SILENT", "2024-10-01", "2025-06-15", "won", 100.0),  # closes after T
        ("s_next", "SILENT", "2025-06-05", None, "open", 10.0),  # opened after T
        ("s_due", "SILENT", "2024-09-01", "2025-05-30", "open", 10.0),  # expected close date
    ]
)
TOUCH_ACTIVITIES = frame_activities(
    [("CALL", "2025-05-27", "call"), ("SILENT", "2025-06-02", "meeting")]  # the latter after T
)


def test_last_touch_is_the_latest_deal_opened_or_closed_activity_or_sign_up_before_t():
    touch = build_features(TOUCH_CUSTOMERS, TOUCH_DEALS, TOUCH_ACTIVITIES, T, CONFIG)
    days = touch.set_index("customer_id")["days_since_last_touch"]
    assert days.drop("NOTHING").to_dict() == {
        "CALL": 5,
        "LOST": 20,
        "NEW": 30,
        "OPEN": 10,
        "SILENT": 182,
    }
    assert np.isnan(days["NOTHING"])  # no created_at and no record: silent since ever
    spec = feature_registry(CONFIG)["days_since_last_touch"]
    assert spec.sentence(10.0) == "last deal, activity or sign-up 10 days ago"
    assert spec.sentence(np.nan) == "no deal, activity or sign-up date on record"


def test_labels_count_exactly_the_deals_closed_in_the_horizon():
    def labels(horizon_days: int) -> pd.DataFrame:
        table = build_feature_table(CUSTOMERS, DEALS, ACTIVITIES, [T], horizon_days, CONFIG)
        return table.set_index("customer_id")

    long = labels(180)
    assert long.loc["A", "won_revenue"] == 1000 and long.loc["A", "won_any"]
    # e1 closes on T (inside); f1 closes on T + 180 days (outside)
    assert long.loc["B", "won_revenue"] == 10
    short = labels(5)
    assert not short.loc["A", "won_any"] and short.loc["B", "won_revenue"] == 10


def test_feature_columns_all_have_a_registry_entry(at_t):
    registry = feature_registry(CONFIG)
    assert list(at_t.columns) == ["as_of", *registry]
    a = at_t.loc["A"]
    assert registry["act_meeting_30d"].sentence(a["act_meeting_30d"]) == (
        "2 meetings in the last 30 days"
    )
    assert registry["days_since_last_won"].sentence(np.nan) == "no won deal yet"


@pytest.mark.parametrize(
    "feature, value, sentence",
    [
        ("open_deal_count", 1.0, "1 open deal"),
        ("open_deal_count", 2.0, "2 open deals"),
        ("open_deal_count", 0.0, "no open deal"),
        ("won_count_total", 0.0, "no won deal yet"),
        ("act_total_30d", 1.0, "1 activity in the last 30 days"),
        ("act_total_30d", 3.0, "3 activities in the last 30 days"),
        ("act_meeting_90d", 1.0, "1 meeting in the last 90 days"),
        ("won_count_180d", 1.0, "1 deal won in the last 180 days"),
        ("open_deal_overdue_count", 1.0, "1 open deal past its expected close date"),
        ("days_since_last_activity", 0.0, "contacted today"),
        ("days_since_last_activity", 0.4, "contacted today"),
        ("days_since_last_activity", 1.0, "no contact for 1 day"),
        ("days_since_last_activity", 40.0, "no contact for 40 days"),
        ("days_since_last_won", 0.0, "last won deal today"),
        ("days_since_last_won", 1.0, "last won deal 1 day ago"),
        ("purchase_gap_mean_days", 1.0, "buys every day on average"),
    ],
)
def test_sentences_say_counts_in_the_singular_and_zero_days_as_today(feature, value, sentence):
    assert feature_registry(CONFIG)[feature].sentence(value) == sentence


def test_training_cutoffs_have_complete_labels():
    end = pd.Timestamp("2025-12-31")
    cutoffs = training_cutoffs(end, 180, 6)
    assert len(cutoffs) == 6 and cutoffs == sorted(cutoffs)
    assert all(t + pd.Timedelta(days=180) <= end for t in cutoffs)
    assert cutoffs[-1] == pd.Timestamp("2025-07-01")
    assert all(t.day == 1 for t in cutoffs)


def test_feature_table_stacks_cutoffs_with_labels():
    table = build_feature_table(
        CUSTOMERS, DEALS, ACTIVITIES, [pd.Timestamp("2025-01-01"), T], 180, CONFIG
    )
    assert table.groupby("as_of").size().tolist() == [2, 2]
    assert not table.duplicated(list(KEY_COLUMNS)).any()
    assert table.loc[table["as_of"].eq(T), "won_revenue"].tolist() == [1000, 10]
    # every row carries its own key's labels: the won deals it closes in [as_of, as_of + 180d)
    won = DEALS[DEALS["status"].eq("won")]
    for _, row in table.iterrows():
        end = row["as_of"] + pd.Timedelta(days=180)
        mine = won[won["customer_id"].eq(row["customer_id"]) & won["closed_at"].between(
            row["as_of"], end, inclusive="left"
        )]  # fmt: skip
        assert (row["won_any"], row["won_revenue"]) == (len(mine) > 0, mine["amount"].sum())


def test_label_counts_before_building_are_the_built_tables_outcomes():
    """The stacked table is thinned as each cutoff is built, at rates set by every cutoff's
    outcomes: counted first, they must be the ones the built rows carry (customers created
    after a cutoff are in neither)."""
    customers, deals, activities = generate_crm(SyntheticSpec(n_customers=400, seed=3))
    cutoffs = [pd.Timestamp("2024-07-01"), pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")]
    table = build_feature_table(customers, deals, activities, cutoffs, 180, CONFIG)
    counts = label_counts(customers, deals, cutoffs, 180)
    built = table.groupby("as_of")["won_any"].agg(won="sum", rows="size")
    assert counts["won"].tolist() == built["won"].tolist()
    assert (counts["won"] + counts["lost"]).tolist() == built["rows"].tolist()
    assert 0 < counts["won"].sum() < counts["lost"].sum()  # both outcomes occur
    assert (table[ROW_WEIGHT] == 1.0).all()  # built whole: each row stands for itself


# --- the leakage invariant ----------------------------------------------------------------

START = pd.Timestamp("2024-01-01")


def _day(offset: int) -> pd.Timestamp:
    return START + pd.Timedelta(days=offset)


deal_rows = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(0, 700),  # created day
    st.integers(0, 200),  # cycle days
    st.sampled_from(["won", "lost", "open"]),
    st.floats(0, 1e5, allow_nan=False),
)
activity_rows = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(0, 700),
    st.sampled_from(["meeting", "call", "web_visit", "other"]),
)


def _deals_from(rows, prefix: str) -> pd.DataFrame:
    return frame_deals(
        [
            (f"{prefix}{i}", c, _day(d), None if s == "open" else _day(d + cyc), s, amt)
            for i, (c, d, cyc, s, amt) in enumerate(rows)
        ]
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    past_deals=st.lists(deal_rows, max_size=15),
    past_acts=st.lists(activity_rows, max_size=15),
    future_deals=st.lists(deal_rows, min_size=1, max_size=10),
    future_acts=st.lists(activity_rows, max_size=10),
    new_customers=st.lists(st.integers(0, 300), max_size=3),
    cutoff=st.integers(100, 600),
)
def test_appending_records_dated_on_or_after_t_never_changes_features(
    past_deals, past_acts, future_deals, future_acts, new_customers, cutoff
):
    t = _day(cutoff)
    customers = frame_customers([("A", "2023-06-01"), ("B", None), ("C", "2024-03-01")])
    deals = _deals_from(past_deals, "p")
    activities = frame_activities([(c, _day(d), k) for c, d, k in past_acts])
    before = build_features(customers, deals, activities, t, CONFIG)

    # Records dated on or after T: deals created on/after T, activities and customers too.
    later_deals = _deals_from(
        [(c, cutoff + d % 100, cyc, s, amt) for c, d, cyc, s, amt in future_deals], "f"
    )
    later_acts = frame_activities([(c, _day(cutoff + d % 100), k) for c, d, k in future_acts])
    later_customers = frame_customers(
        [(f"N{i}", _day(cutoff + d)) for i, d in enumerate(new_customers)]
    )
    after = build_features(
        pd.concat([customers, later_customers], ignore_index=True),
        pd.concat([deals, later_deals], ignore_index=True),
        pd.concat([activities, later_acts], ignore_index=True),
        t,
        CONFIG,
    )
    pd.testing.assert_frame_equal(before, after)


@settings(max_examples=30, deadline=None)
@given(created=st.integers(0, 300), cycle=st.integers(1, 300), cutoff=st.integers(1, 600))
def test_a_deal_is_open_until_the_day_it_closes(created, cycle, cutoff):
    t = _day(cutoff)
    deals = _deals_from([("A", created, cycle, "won", 10.0)], "d")
    customers = frame_customers([("A", "2023-01-01")])
    row = build_features(customers, deals, frame_activities([]), t, CONFIG).iloc[0]
    closed_at, created_at = _day(created + cycle), _day(created)
    assert row["won_count_total"] == float(closed_at < t)
    assert row["open_deal_count"] == float(created_at < t <= closed_at)


def test_purchase_rhythm_known_answer():
    """Purchases on days 31, 91 and 121 before T (gaps 30 and 60), half-life 90 days."""
    t = pd.Timestamp("2024-06-01")
    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "created_at": pd.to_datetime(["2024-01-01"] * 2)}
    )
    days = pd.to_datetime(["2024-02-01", "2024-03-02", "2024-05-01", "2024-02-01", "2024-07-01"])
    deals = pd.DataFrame(
        {
            "deal_id": list("12345"),
            "customer_id": ["a", "a", "a", "b", "b"],
            "created_at": days,
            "closed_at": days,
            "status": ["won"] * 5,
            "amount": [10.0, 20.0, 30.0, 5.0, 999.0],  # b's last purchase is after T
        }
    )
    activities = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype="str"),
            "occurred_at": pd.Series([], dtype="datetime64[us]"),
            "type": pd.Series([], dtype="str"),
        }
    )
    f = build_features(
        customers, deals, activities, t, FeatureConfig(decay_half_life_days=90)
    ).set_index("customer_id")
    a, b = f.loc["a"], f.loc["b"]
    assert a["purchase_gap_mean_days"] == 45.0
    assert a["purchase_gap_cv"] == pytest.approx(np.std([30, 60], ddof=1) / 45)
    assert a["recency_gap_ratio"] == pytest.approx(31 / 45)
    decay = [np.exp(-np.log(2) * d / 90) for d in (121, 91, 31)]
    assert a["purchases_decayed"] == pytest.approx(sum(decay))
    assert a["spend_decayed"] == pytest.approx(10 * decay[0] + 20 * decay[1] + 30 * decay[2])
    assert a["spend_trend"] == 0.0  # 30 in the last 90 days, 10 + 20 in the 90 before
    assert (a["active_months_365d"], a["first_purchase_age_days"]) == (3, 121)
    assert b["spend_trend"] == -1.0 and np.isnan(b["purchase_gap_mean_days"])
    assert b["purchases_decayed"] == pytest.approx(np.exp(-np.log(2) * 121 / 90))


class _TooLargeToCollect:
    """A Spark result the driver may not collect, as Spark refuses it."""

    def toPandas(self) -> pd.DataFrame:  # noqa: N802 (Spark's name)
        raise RuntimeError(
            "Job aborted due to stage failure: Total size of serialized results of 5 tasks "
            "(1167.6 MiB) is bigger than spark.driver.maxResultSize (1024.0 MiB)"
        )


def test_a_result_too_large_for_the_spark_driver_is_refused_with_what_to_set():
    with pytest.raises(RuntimeError, match="spark-submit --conf spark.driver.maxResultSize") as e:
        collected(_TooLargeToCollect())
    assert "1167.6 MiB" in str(e.value.__cause__)
    assert str(e.value).startswith("The features come back to the Spark driver")
    with pytest.raises(RuntimeError, match="^The scoring rows' population columns come back"):
        collected(_TooLargeToCollect(), POPULATION)


def test_a_table_without_a_column_the_query_reads_is_refused_by_name():
    customers, deals, activities = generate_crm(SyntheticSpec(n_customers=50, seed=1))
    t = pd.Timestamp("2025-06-30")
    with pytest.raises(ValueError, match="The deals table has no status column") as e:
        build_features(customers, deals.drop(columns="status"), activities, t)
    assert "it has deal_id, customer_id, created_at" in str(e.value)
    with pytest.raises(ValueError, match="The activities table has no type column"):
        build_features(customers, deals, activities.drop(columns="type"), t)
    # an attribute the query would otherwise take as missing (empty) for every customer
    misnamed = customers.rename(columns={"industry": "Industry"})
    with pytest.raises(ValueError, match=r"otherwise: Industry \(the contract's industry\)"):
        build_features(misnamed, deals, activities, t)
