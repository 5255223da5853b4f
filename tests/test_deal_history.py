"""Deal fields as they were at T (deal history, trusted fields) and expected close dates."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT, base_parameters
from tests.test_contract import OPTIONS, TODAY, activities, customers, deal, deals
from tests.test_features import CONFIG, frame_activities, frame_customers
from tier_ml.contract import ContractError, RawTable, enforce_contract
from tier_ml.features.build import build_features
from tier_ml.features.config import FeatureParams
from tier_ml.features.deal_state import deals_at
from tier_ml.models.opportunity import open_deals_at
from tier_ml.sources.adapters import load_source

START = pd.Timestamp("2024-01-01")
TRUST_NOTHING = replace(CONFIG, deal_fields_known_at_creation=())
DEAL_TYPES = {
    "deal_id": "str",
    "customer_id": "str",
    "created_at": "datetime64[us]",
    "closed_at": "datetime64[us]",
    "expected_close_at": "datetime64[us]",
    "status": "str",
    "amount": "float64",
    "stage": "str",
}
HISTORY_TYPES = {
    "deal_id": "str",
    "changed_at": "datetime64[us]",
    "field": "str",
    "value": "str",
    "old_value": "str",
}


def day(offset: int) -> pd.Timestamp:
    return START + pd.Timedelta(days=offset)


def frame(rows: list[dict], types: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(types)).astype(types)


def canonical(field: str, value: object) -> str | None:
    """A value as the contract writes it into the history's text column."""
    if value is None or pd.isna(value):
        return None
    if field == "amount":
        return repr(float(value))
    if field == "expected_close_at":
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)


# --- the contract ---------------------------------------------------------------------------


def test_an_open_deal_may_expect_to_close_after_the_data_end():
    """Salesforce requires a close date on open opportunities, often in the future."""
    future = deal(deal_id="d9", closed_at="2026-06-30")
    tables = enforce_contract(
        customers(),
        deals([future]),
        activities(),
        replace(OPTIONS, data_end_date="2025-12-31"),
        TODAY,
    )
    row = tables.deals.set_index("deal_id").loc["d9"]
    assert row["status"] == "open" and pd.isna(row["closed_at"])
    assert row["expected_close_at"] == pd.Timestamp("2026-06-30")


def history_table(rows: list[dict]) -> RawTable:
    return RawTable("deal_history", "OpportunityFieldHistory.csv", pd.DataFrame(rows, dtype="str"))


def test_deal_history_is_mapped_typed_and_set_aside_when_unusable():
    options = replace(
        OPTIONS, history_fields={"Amount": "amount", "CloseDate": "expected_close_at"}
    )
    raw = history_table(
        [
            {
                "deal_id": "d3",
                "changed_at": "2025-03-01",
                "field": "Amount",
                "value": "90",
                "old_value": "70",
            },
            {
                "deal_id": "d3",
                "changed_at": "2025-03-02",
                "field": "CloseDate",
                "value": "2026-02-01",
                "old_value": None,
            },
            {
                "deal_id": "d3",
                "changed_at": "2025-03-03",
                "field": "Description",
                "value": "x",
                "old_value": None,
            },
            {
                "deal_id": "zz",
                "changed_at": "2025-03-03",
                "field": "Amount",
                "value": "1",
                "old_value": None,
            },
        ]
    )
    tables = enforce_contract(customers(), deals(), activities(), options, TODAY, raw)
    history = tables.deal_history
    assert history[["field", "value", "old_value"]].fillna("-").values.tolist() == [
        ["amount", "90.0", "70.0"],
        ["expected_close_at", "2026-02-01T00:00:00", "-"],
    ]
    assert tables.counts == {
        ("deal_history", "field is not a tracked deal field"): 1,
        ("deal_history", "unknown deal"): 1,
    }
    bad = history_table(
        [{"deal_id": "d3", "changed_at": "2025-03-01", "field": "amount", "value": "lots"}]
    )
    with pytest.raises(ContractError, match="'value' breaks rule 'is numeric'"):
        enforce_contract(customers(), deals(), activities(), OPTIONS, TODAY, bad)


def test_a_history_of_mostly_unknown_deals_stops_the_run():
    """Ids that do not match (e.g. read as floats) would leave deals looking unchanged."""
    rows = [
        {"deal_id": f"{i}.0", "changed_at": "2025-03-01", "field": "amount", "value": "1"}
        for i in range(3)
    ]
    options = replace(OPTIONS, max_quarantine_share=0.2)
    with pytest.raises(ContractError, match="max_quarantine_share"):
        enforce_contract(customers(), deals(), activities(), options, TODAY, history_table(rows))


# --- deals as of T --------------------------------------------------------------------------


def test_a_field_takes_its_last_change_before_t_or_the_first_change_old_value():
    def change(deal_id: str, at: int, value: str, old: str | None) -> dict:
        return {"deal_id": deal_id, "changed_at": day(at), "field": "amount", "value": value,
                "old_value": old}  # fmt: skip

    history = frame(
        [
            change("a", 10, "1.0", "0.5"),
            change("a", 20, "2.0", "1.0"),
            change("b", 30, "3.0", None),
            # two changes at one instant: the one listed later is the later
            change("c", 30, "7.0", "5.0"),
            change("c", 30, "8.0", "6.0"),
        ],
        HISTORY_TYPES,
    )
    open_deal = {"customer_id": "A", "created_at": day(1), "closed_at": None, "status": "open"}
    deals_ = frame(
        [{"deal_id": d, "amount": 9.0, **open_deal} for d in ("a", "b", "c", "unchanged")],
        DEAL_TYPES,
    ).set_axis([10, 11, 12, 13])

    def at(t: int, changes: pd.DataFrame = history) -> dict:
        state = deals_at(deals_, day(t), changes, ())
        assert list(state.index) == [10, 11, 12, 13]  # the export's rows, in its order
        return state.set_index("deal_id")["amount"].fillna(-1).to_dict()

    assert at(5) == {"a": 0.5, "b": -1, "c": 5.0, "unchanged": 9.0}
    assert at(15) == {"a": 1.0, "b": -1, "c": 5.0, "unchanged": 9.0}
    assert at(40) == {"a": 2.0, "b": 3.0, "c": 8.0, "unchanged": 9.0}
    # without old values, a field is unknown before its first change
    assert at(15, history.drop(columns="old_value")) == {
        "a": 1.0, "b": -1, "c": -1, "unchanged": 9.0
    }  # fmt: skip


def test_an_exports_own_columns_pass_through_as_exported():
    """Columns the contract does not map keep the export's names, which need not be SQL names
    (a Salesforce report's "Opportunity Name") and may differ only in case."""
    own = {"Opportunity Name": ["Big one", "Small one"], "Select": [1, 2], "name": ["x", "y"],
           "Name": ["X", "Y"]}  # fmt: skip
    deals_ = frame(
        [
            {
                "deal_id": "won",
                "customer_id": "A",
                "created_at": day(1),
                "closed_at": day(20),
                "status": "won",
                "amount": 5.0,
            },
            {
                "deal_id": "open",
                "customer_id": "A",
                "created_at": day(2),
                "closed_at": day(90),
                "status": "lost",
                "amount": 0.0,
            },
        ],
        DEAL_TYPES,
    ).assign(**own)
    state = deals_at(deals_, day(30), None, ())
    pd.testing.assert_frame_equal(state[list(own)], deals_[list(own)])
    assert state["status"].tolist() == ["won", "open"]
    assert state["amount"].isna().tolist() == [False, True]  # the open deal's is not trusted
    rows = open_deals_at(deals_, day(30), 180, TRUST_NOTHING)
    assert rows["deal_id"].tolist() == ["open"] and not rows["won_in_horizon"].any()


def test_open_deal_fields_not_trusted_are_unknown_without_history():
    """Maven's shape: a lost deal's exported amount is 0, which tells the outcome at T."""
    deals_ = frame(
        [
            {
                "deal_id": "lost",
                "customer_id": "A",
                "created_at": day(100),
                "closed_at": day(600),
                "status": "lost",
                "amount": 0.0,
                "stage": "Lost",
            },
            {
                "deal_id": "won",
                "customer_id": "A",
                "created_at": day(100),
                "closed_at": day(600),
                "status": "won",
                "amount": 900.0,
                "stage": "Won",
            },
        ],
        DEAL_TYPES,
    )
    state = deals_at(deals_, day(300), None, ())
    assert state["amount"].isna().all() and state["stage"].isna().all()
    assert state["status"].eq("open").all()
    rows = open_deals_at(deals_, day(300), 400, TRUST_NOTHING)
    assert rows["amount"].isna().all()
    trusted = open_deals_at(deals_, day(300), 400)  # the default trusts amount, product, owner
    assert trusted["amount"].tolist() == [0.0, 900.0]


def test_a_misspelt_trusted_field_is_refused_when_parameters_are_read():
    params = {**base_parameters("features")["features"], "deal_fields_known_at_creation": ["amout"]}
    with pytest.raises(ValueError, match=r"has \['amout'\]; choose from"):
        FeatureParams.from_dict(params)


def test_overdue_open_deals_count_the_same_in_features_and_opportunity_rows():
    customers_ = frame_customers([("A", "2024-01-01"), ("B", "2024-01-01")])
    deals_ = frame(
        [
            {
                "deal_id": "late",
                "customer_id": "A",
                "created_at": day(10),
                "expected_close_at": day(100),
                "status": "open",
                "amount": 5.0,
            },
            {
                "deal_id": "soon",
                "customer_id": "A",
                "created_at": day(10),
                "expected_close_at": day(900),
                "status": "open",
                "amount": 5.0,
            },
            {
                "deal_id": "won",
                "customer_id": "B",
                "created_at": day(10),
                "closed_at": day(400),
                "status": "won",
                "amount": 5.0,
            },
        ],
        DEAL_TYPES,
    )
    # the won deal had been expected to close on day 50: overdue at day 200 as of its history
    history = frame(
        [
            {
                "deal_id": "won",
                "changed_at": day(400),
                "field": "expected_close_at",
                "value": None,
                "old_value": canonical("expected_close_at", day(50)),
            },
        ],
        HISTORY_TYPES,
    )
    t = day(200)
    features = build_features(customers_, deals_, frame_activities([]), t, CONFIG, history)
    rows = open_deals_at(deals_, t, 180, CONFIG, history)
    per_customer = rows.groupby("customer_id")["overdue"].sum().to_dict()
    assert features.set_index("customer_id")["open_deal_overdue_count"].to_dict() == {
        "A": 1.0,
        "B": 1.0,
    }
    assert per_customer == {"A": 1.0, "B": 1.0}
    # without a history, expected close dates are not trusted by default: nobody is overdue
    plain = build_features(customers_, deals_, frame_activities([]), t, CONFIG)
    assert plain["open_deal_overdue_count"].eq(0).all()
    assert open_deals_at(deals_, t, 180)["overdue"].eq(0).all()


# --- the invariant: rewriting outcomes after T never changes features at T -----------------

OUTCOME_FIELDS = ("amount", "stage", "expected_close_at")
deal_rows = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(0, 500),  # created day
    st.integers(0, 300),  # cycle days
    st.sampled_from(["won", "lost", "open"]),
    st.floats(0, 1e5, allow_nan=False),
    st.sampled_from(["Qualify", "Propose", "Negotiate"]),
)
change_rows = st.tuples(
    st.integers(0, 40),  # which deal (modulo the deal count)
    st.integers(0, 900),  # day of the change
    st.sampled_from(OUTCOME_FIELDS),
    st.floats(0, 1e5, allow_nan=False),
)
rewrites = st.tuples(
    st.sampled_from(["won", "lost", "open"]),
    st.integers(0, 200),  # close day after T
    st.floats(0, 1e5, allow_nan=False),
    st.sampled_from(["Closed Won", "Closed Lost", "Stalled"]),
)


def _deals(rows) -> pd.DataFrame:
    records = []
    for i, (c, d, cyc, s, amount, stage) in enumerate(rows):
        end = day(d + cyc)
        records.append(
            {
                "deal_id": f"d{i}",
                "customer_id": c,
                "created_at": day(d),
                "closed_at": None if s == "open" else end,
                "expected_close_at": end if s == "open" else None,
                "status": s,
                "amount": amount,
                "stage": stage,
            }
        )
    return frame(records, DEAL_TYPES)


def _history(deals_: pd.DataFrame, changes) -> pd.DataFrame:
    records = []
    for which, d, field, number in changes:
        deal_ = deals_.iloc[which % len(deals_)]
        value = {"amount": number, "stage": f"S{int(number) % 3}", "expected_close_at": day(d)}
        records.append(
            {
                "deal_id": deal_["deal_id"],
                "changed_at": day(d),
                "field": field,
                "value": canonical(field, value[field]),
                "old_value": None,
            }
        )
    return frame(records, HISTORY_TYPES)


def _rewrite(deals_, history, t, new, record: bool):
    """Rewrite the outcome fields of every deal open at T; with `record`, log the changes
    in the history after everything already there."""
    open_at_t = (deals_["created_at"] < t) & (
        deals_["closed_at"].isna() | (deals_["closed_at"] >= t)
    )
    out, changes = deals_.copy(), []
    for k, idx in enumerate(deals_.index[open_at_t]):
        status, close_in, amount, stage = new[k % len(new)]
        closed = None if status == "open" else t + pd.Timedelta(days=close_in)
        values = {
            "status": status,
            "closed_at": closed,
            "amount": amount,
            "stage": stage,
            "expected_close_at": t + pd.Timedelta(days=close_in) if status == "open" else None,
        }
        when = max([t, *history.loc[history["deal_id"] == out.at[idx, "deal_id"], "changed_at"]])
        for field in OUTCOME_FIELDS:
            changes.append(
                {
                    "deal_id": out.at[idx, "deal_id"],
                    "changed_at": when + pd.Timedelta(days=1),
                    "field": field,
                    "value": canonical(field, values[field]),
                    "old_value": canonical(field, out.at[idx, field]),
                }
            )
        for field, value in values.items():
            out.at[idx, field] = value
    logged = pd.concat([history, frame(changes, HISTORY_TYPES)], ignore_index=True)
    return out.astype(DEAL_TYPES), (logged if record else history)


def _at_t(deals_, history, t, config):
    customers_ = frame_customers([("A", "2023-06-01"), ("B", None), ("C", "2024-03-01")])
    features = build_features(customers_, deals_, frame_activities([]), t, config, history)
    rows = open_deals_at(deals_, t, 180, config, history).drop(columns="won_in_horizon")
    return features, rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(deal_rows, min_size=1, max_size=12),
    changes=st.lists(change_rows, min_size=1, max_size=12),
    new=st.lists(rewrites, min_size=1, max_size=4),
    cutoff=st.integers(50, 700),
    with_history=st.booleans(),
    trusted=st.sets(st.sampled_from(["product", "owner"])),
)
def test_rewriting_outcome_fields_after_t_never_changes_features_at_t(
    rows, changes, new, cutoff, with_history, trusted
):
    t = day(cutoff)
    config = replace(CONFIG, deal_fields_known_at_creation=tuple(trusted))
    deals_ = _deals(rows)
    history = _history(deals_, changes) if with_history else None
    before = _at_t(deals_, history, t, config)
    rewritten, logged = _rewrite(
        deals_, history if with_history else frame([], HISTORY_TYPES), t, new, with_history
    )
    after = _at_t(rewritten, logged if with_history else None, t, config)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])


def test_the_salesforce_example_reads_amounts_and_close_dates_as_of_t(monkeypatch):
    """Opportunity 006B1 was quoted at 35,000 and set to 0 when lost on 2025-06-30."""
    monkeypatch.chdir(PROJECT)
    params = yaml.safe_load((PROJECT / "examples/salesforce/parameters_ingest.yml").read_text())
    tables = load_source("crm_export", params["ingest"]["crm_export"])
    assert tables.counts == {("deal_history", "field is not a tracked deal field"): 1}
    open_b3 = tables.deals.set_index("deal_id").loc["006B3"]
    assert open_b3["expected_close_at"] == pd.Timestamp("2025-11-30")
    history = tables.deal_history

    def at(day_: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        t = pd.Timestamp(day_)
        features = build_features(
            tables.customers, tables.deals, tables.activities, t, CONFIG, history
        )
        rows = open_deals_at(tables.deals, t, 180, CONFIG, history)
        return features.set_index("customer_id"), rows.set_index("deal_id")

    features, rows = at("2025-06-01")
    assert features.at["001B", "open_deal_amount"] == 35_000 + 22_000
    assert rows.at["006B1", "amount"] == 35_000
    features, rows = at("2025-12-15")  # 006B3 was expected on 2025-11-30; 006A2 was moved
    assert features["open_deal_overdue_count"].to_dict() == {
        "001A": 0.0,
        "001B": 1.0,
        "001C": 0.0,
        "001D": 0.0,
    }
    assert rows["overdue"].to_dict() == {"006A2": 0.0, "006B3": 1.0, "006C1": 0.0, "006D2": 0.0}
