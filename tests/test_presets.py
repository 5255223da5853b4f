"""Presets: a vendor's export runs with `preset` and its paths; the user's keys win."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import base_parameters
from tier_ml.sources.adapters import load_source
from tier_ml.sources.presets import PRESETS, merge_over

TODAY = pd.Timestamp("2026-01-15")

# A Salesforce report export (field labels), US dates, its default stage words.
SALESFORCE_ACCOUNTS = (
    "Account ID,Account Name,Industry,Billing Country,Employees,Annual Revenue,Account Owner,"
    "Created Date\n"
    "001A,Acme Robotics,Manufacturing,Germany,1200,250000000,Ann Lee,2/13/2023\n"
    "001B,Blue Harbor Bank,Finance,France,5400,1800000000,Bo Chan,6/12/2023\n"
)
SALESFORCE_OPPORTUNITIES = (
    "Opportunity ID,Opportunity Name,Account ID,Stage,Amount,Close Date,Created Date,"
    "Opportunity Owner\n"
    "006A1,Line 2 upgrade,001A,Closed Won,48000,3/28/2025,11/4/2024,Ann Lee\n"
    "006A2,Service renewal,001A,Negotiation/Review,15000,2/27/2026,9/15/2025,Ann Lee\n"
    "006B1,Analytics,001B,Closed Lost,35000,6/30/2025,1/20/2025,Bo Chan\n"
)
SALESFORCE_ACTIVITIES = """Account ID,Subject,Type,Created Date
001A,Kick-off,Meeting,10/1/2024
001B,Follow-up,Call,2/14/2025
"""


def write(folder: Path, **files: str) -> dict[str, str]:
    """Each file written under its table's name; `<table>_path` parameters for them."""
    paths = {}
    for table, text in files.items():
        path = folder / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        paths[f"{table}_path"] = str(path)
    return paths


def shipped(**params) -> dict:
    """The shipped crm_export parameters with the user's keys over them."""
    return {**base_parameters("ingest")["ingest"]["crm_export"], **params}


def test_a_salesforce_report_export_runs_with_the_preset_and_its_paths(tmp_path):
    paths = write(
        tmp_path,
        customers=SALESFORCE_ACCOUNTS,
        deals=SALESFORCE_OPPORTUNITIES,
        activities=SALESFORCE_ACTIVITIES,
    )
    tables = load_source("crm_export", shipped(preset="salesforce", **paths), today=TODAY)
    deals = tables.deals.set_index("deal_id")
    assert deals["status"].to_dict() == {"006A1": "won", "006A2": "open", "006B1": "lost"}
    assert deals["customer_id"].tolist() == ["001A", "001A", "001B"]
    assert deals.at["006A1", "closed_at"] == pd.Timestamp("2025-03-28")
    assert deals.at["006A2", "expected_close_at"] == pd.Timestamp("2026-02-27")  # a plan
    customers = tables.customers.set_index("customer_id")
    assert customers["region"].to_dict() == {"001A": "Germany", "001B": "France"}
    assert customers["employees"].tolist() == [1200.0, 5400.0]
    assert tables.activities["type"].tolist() == ["meeting", "call"]
    assert tables.quarantine.empty


def test_the_users_keys_override_the_presets_key_by_key(tmp_path):
    """A renamed account column and a custom stage: only those two keys are given; every
    other column and stage word still comes from the preset."""
    opportunities = SALESFORCE_OPPORTUNITIES.replace(",Account ID,", ",Acct,").replace(
        "Negotiation/Review", "Pilot"
    )
    paths = write(tmp_path, customers=SALESFORCE_ACCOUNTS, deals=opportunities)
    params = shipped(
        preset="salesforce",
        columns={"deals": {"customer_id": "Acct"}},
        status_map={"Pilot": "open"},
        **paths,
    )
    tables = load_source("crm_export", params, today=TODAY)
    assert tables.deals["customer_id"].tolist() == ["001A", "001A", "001B"]
    assert tables.deals["status"].tolist() == ["won", "open", "lost"]
    assert tables.deals["owner"].tolist() == ["Ann Lee", "Ann Lee", "Bo Chan"]


def test_merge_over_keeps_the_bases_keys_that_are_not_given_or_null():
    base = {"columns": {"deals": {"deal_id": "Id", "amount": "Amount"}}, "date_format": "%Y"}
    user = {"columns": {"deals": {"amount": "Value"}}, "date_format": None, "preset": "x"}
    assert merge_over(base, user) == {
        "columns": {"deals": {"deal_id": "Id", "amount": "Value"}},
        "date_format": "%Y",
        "preset": "x",
    }


OUTCOMES = ("won", "lost", "open")
# Three rows of each table: customers A, B and C; deals won, lost and open.
VALUES = {
    "customer_id": ["A", "A", "B"],
    "deal_id": ["d1", "d2", "d3"],
    "created_at": ["2024-01-05"] * 3,
    "closed_at": ["2024-03-01", "2024-03-02", ""],
    "expected_close_at": ["", "", "2024-09-30"],
    "amount": ["100", "200", "300"],
    "industry": ["Software"] * 3,
    "region": ["DE"] * 3,
    "employees": ["10"] * 3,
    "annual_revenue": ["1000"] * 3,
    "owner": ["u1"] * 3,
    "occurred_at": ["2024-02-01"] * 3,
    "type": ["Call"] * 3,
}


def vendor_file(columns: dict, pick: int, **values: list[str]) -> str:
    """A file with the preset's name for each contract column (`pick`: which of its names)."""
    values = {**VALUES, **values}
    return pd.DataFrame(
        {
            ([names] if isinstance(names, str) else names)[pick]: values[contract]
            for contract, names in columns.items()
        }
    ).to_csv(index=False)


def outcome_words(status_map: dict[str, str]) -> list[str]:
    """One of the preset's stage words for each outcome, in the order of OUTCOMES."""
    return [next(w for w, s in status_map.items() if s == outcome) for outcome in OUTCOMES]


@pytest.mark.parametrize("pick", [0, -1], ids=["first-name", "last-name"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_maps_the_required_columns_and_every_outcome(name, pick, tmp_path):
    """Each preset, under either of its names for a column (a report's label or an API name),
    yields the contract's tables: its columns cover every required one, its stage words all
    three outcomes."""
    preset = PRESETS[name]
    columns = preset["columns"]
    paths = write(
        tmp_path,
        customers=vendor_file(columns["customers"], pick, customer_id=["A", "B", "C"]),
        deals=vendor_file(columns["deals"], pick, status=outcome_words(preset["status_map"])),
        activities=vendor_file(columns["activities"], pick),
    )
    tables = load_source("crm_export", shipped(preset=name, **paths), today=TODAY)
    assert tables.deals["status"].tolist() == list(OUTCOMES)
    assert tables.deals["customer_id"].tolist() == ["A", "A", "B"]
    assert len(tables.customers) == 3 and len(tables.activities) == 3
    assert tables.quarantine.empty


def test_an_unknown_preset_is_named():
    with pytest.raises(ValueError, match=r"preset is 'zoho'; choose one of \['dynamics'"):
        load_source("crm_export", shipped(preset="zoho"))
