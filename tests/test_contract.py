"""The data contract: each bad-input case gets its exact error or quarantine."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tier_ml.contract import ContractError, ParseOptions, RawTable, enforce_contract
from tier_ml.sources.files import CsvOptions, read_raw_table

TODAY = pd.Timestamp("2026-01-15")
OPTIONS = ParseOptions(status_map={"Closed Won": "won", "Closed Lost": "lost", "Open": "open"})


def customers(**overrides) -> RawTable:
    frame = pd.DataFrame({"customer_id": ["A", "B", "C"], "industry": ["x", "y", "x"]})
    return RawTable("customers", "accounts.csv", frame.assign(**overrides))


def deals(rows: list[dict] | None = None) -> RawTable:
    base = [
        {
            "deal_id": "d1",
            "customer_id": "A",
            "created_at": "2025-01-01",
            "closed_at": "2025-02-01",
            "status": "Closed Won",
            "amount": "100",
        },
        {
            "deal_id": "d2",
            "customer_id": "B",
            "created_at": "2025-01-05",
            "closed_at": "2025-03-01",
            "status": "Closed Lost",
            "amount": "50.5",
        },
        {
            "deal_id": "d3",
            "customer_id": "C",
            "created_at": "2025-02-01",
            "closed_at": None,
            "status": "Open",
            "amount": "70",
        },
    ]
    return RawTable("deals", "deals.csv", pd.DataFrame(base + (rows or []), dtype="str"))


def deal(**overrides) -> dict:
    """An open deal of customer A, with the given fields changed."""
    base = {
        "deal_id": "d4",
        "customer_id": "A",
        "created_at": "2025-01-01",
        "closed_at": None,
        "status": "Open",
        "amount": "1",
    }
    return {**base, **overrides}


def activities(rows: list[dict] | None = None) -> RawTable:
    base = [{"customer_id": "A", "occurred_at": "2025-01-10", "type": "Meeting"}]
    return RawTable("activities", "acts.csv", pd.DataFrame(base + (rows or []), dtype="str"))


def run(c=None, d=None, a=None, options=OPTIONS):
    return enforce_contract(c or customers(), d or deals(), a or activities(), options, TODAY)


def only_violation(exc: ContractError):
    assert len(exc.violations) == 1, exc
    return exc.violations[0]


def test_clean_input_passes_with_types_and_statuses():
    tables = run()
    assert tables.deals["status"].tolist() == ["won", "lost", "open"]
    assert tables.deals["amount"].tolist() == [100.0, 50.5, 70.0]
    assert str(tables.deals["created_at"].dtype) == "datetime64[us]"
    assert tables.activities["type"].tolist() == ["meeting"]
    assert tables.quarantine.empty
    assert tables.data_end == pd.Timestamp("2025-03-01")


def test_missing_required_column_names_file_and_column():
    raw = deals()
    raw = RawTable("deals", "deals.csv", raw.frame.drop(columns=["amount"]))
    with pytest.raises(ContractError) as err:
        run(d=raw)
    v = only_violation(err.value)
    assert (v.source_file, v.column, v.rule) == (
        "deals.csv",
        "amount",
        "required column is present",
    )
    assert "deals.csv" in str(err.value) and "'amount'" in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("")
    with pytest.raises(ContractError) as err:
        run(c=read_raw_table("customers", path))
    v = only_violation(err.value)
    assert v.source_file == str(path) and v.rule == "file has at least one data row"


def test_header_only_file_is_empty(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("customer_id,industry\n")
    with pytest.raises(ContractError, match="file has at least one data row"):
        run(c=read_raw_table("customers", path))


def test_unparseable_date_lists_rows():
    bad = deal(created_at="31/31/2025")
    with pytest.raises(ContractError) as err:
        run(d=deals([bad]))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("created_at", 1)
    assert v.rule.startswith("parses as a date")
    assert v.examples["deal_id"].tolist() == ["d4"]
    assert "31/31/2025" in str(err.value)


def test_non_numeric_amount():
    bad = deal(amount="ten")
    with pytest.raises(ContractError) as err:
        run(d=deals([bad, {**bad, "deal_id": "d5", "amount": "1e3x"}]))
    v = only_violation(err.value)
    assert (v.column, v.rule, v.count) == ("amount", "is numeric", 2)
    assert v.examples["amount"].tolist() == ["ten", "1e3x"]


def test_negative_amount():
    bad = deal(amount="-5")
    with pytest.raises(ContractError) as err:
        run(d=deals([bad]))
    v = only_violation(err.value)
    assert (v.column, v.rule, v.count) == ("amount", "amount >= 0", 1)
    assert v.examples["deal_id"].tolist() == ["d4"]


def test_unknown_status_values_are_listed():
    rows = [
        {
            "deal_id": f"d{i}",
            "customer_id": "A",
            "created_at": "2025-01-01",
            "closed_at": None,
            "status": s,
            "amount": "1",
        }
        for i, s in [(4, "Pending"), (5, "Maybe"), (6, "Pending")]
    ]
    with pytest.raises(ContractError) as err:
        run(d=deals(rows))
    v = only_violation(err.value)
    assert v.column == "status" and v.count == 3
    assert "['Maybe', 'Pending']" in v.rule and "status_map" in v.rule


def test_status_mapping_from_parameters_is_case_insensitive():
    row = deal(closed_at="2025-01-02", status=" closed won ")
    assert run(d=deals([row])).deals["status"].tolist()[-1] == "won"


def test_won_deal_without_closed_at():
    row = deal(status="Closed Won")
    with pytest.raises(ContractError) as err:
        run(d=deals([row]))
    v = only_violation(err.value)
    assert (v.column, v.rule, v.count) == (
        "closed_at",
        "closed_at is set when status is won or lost",
        1,
    )
    assert v.examples["deal_id"].tolist() == ["d4"]


def test_deal_closed_before_it_was_created():
    row = deal(created_at="2025-03-01", closed_at="2025-02-01", status="Closed Lost")
    with pytest.raises(ContractError) as err:
        run(d=deals([row]))
    v = only_violation(err.value)
    assert (v.rule, v.count) == ("closed_at is not before created_at", 1)
    assert v.examples["deal_id"].tolist() == ["d4"]


def test_identical_duplicate_deal_is_quarantined_and_counted():
    tables = run(d=deals([deals().frame.iloc[0].to_dict()]))
    assert len(tables.deals) == 3
    assert tables.counts == {("deals", "duplicate row (same deal_id, identical)"): 1}
    record = json.loads(tables.quarantine["record"].iloc[0])
    assert record["deal_id"] == "d1" and tables.quarantine["source_file"].iloc[0] == "deals.csv"


def test_conflicting_duplicate_deal_is_an_error():
    conflicting = {**deals().frame.iloc[0].to_dict(), "amount": "999"}
    with pytest.raises(ContractError) as err:
        run(d=deals([conflicting]))
    v = only_violation(err.value)
    assert v.column == "deal_id" and v.count == 2
    assert v.examples["amount"].tolist() == ["100", "999"]


def test_orphan_deal_and_activity_are_quarantined_with_reason():
    orphan = deal(customer_id="ZZ")
    no_account = deal(deal_id="d5", customer_id=None)
    act = {"customer_id": "ZZ", "occurred_at": "2025-01-01", "type": "call"}
    tables = run(d=deals([orphan, no_account]), a=activities([act]))
    assert len(tables.deals) == 3 and len(tables.activities) == 1
    assert tables.counts == {
        ("deals", "unknown customer"): 1,
        ("deals", "customer_id is missing"): 1,
        ("activities", "unknown customer"): 1,
    }
    assert set(tables.quarantine.columns) == {"table", "source_file", "reason", "record"}


def test_dates_after_declared_end_are_an_error():
    options = ParseOptions(status_map=OPTIONS.status_map, data_end_date="2025-02-15")
    with pytest.raises(ContractError) as err:
        run(options=options)
    v = only_violation(err.value)
    assert v.column == "closed_at" and v.count == 1
    assert v.rule == "date is not after the data's end date 2025-02-15"
    assert v.examples["deal_id"].tolist() == ["d2"]


def test_dates_in_the_future_are_an_error_when_no_end_is_declared():
    row = deal(created_at="2107-01-01")
    with pytest.raises(ContractError, match="data's end date 2026-01-15"):
        run(d=deals([row]))


def test_declared_end_is_the_data_end():
    options = ParseOptions(status_map=OPTIONS.status_map, data_end_date="2025-06-30")
    assert run(options=options).data_end == pd.Timestamp("2025-06-30")


def test_spelling_variants_and_value_fixes_are_unified():
    frame = pd.DataFrame(
        {
            "customer_id": list("ABCDE"),
            "industry": ["Software", " software ", "Software", "technolgy", None],
        }
    )
    options = ParseOptions(
        status_map=OPTIONS.status_map, value_fixes={"industry": {"technolgy": "Technology"}}
    )
    tables = run(c=RawTable("customers", "accounts.csv", frame), options=options)
    assert tables.customers["industry"].tolist()[:4] == [
        "Software",
        "Software",
        "Software",
        "Technology",
    ]
    assert pd.isna(tables.customers["industry"].iloc[4])


@pytest.mark.parametrize(
    "csv, write",
    [
        (CsvOptions(), lambda p, text: p.write_text(text, encoding="utf-8-sig")),
        (CsvOptions(sep=";"), lambda p, text: p.write_text(text.replace(",", ";"))),
        (CsvOptions(encoding="latin-1"), lambda p, text: p.write_bytes(text.encode("latin-1"))),
    ],
    ids=["bom", "semicolon", "latin-1"],
)
def test_csv_dialects_are_readable_through_options(tmp_path, csv, write):
    path = tmp_path / "accounts.csv"
    write(path, "Account,Owner\nA,José\nB,Zoë\n")
    raw = read_raw_table("customers", path, {"customer_id": "Account", "owner": "Owner"}, csv)
    assert raw.frame.columns.tolist() == ["customer_id", "owner"]
    assert raw.frame["owner"].tolist() == ["José", "Zoë"]


def test_wrong_encoding_names_the_file(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes("customer_id,owner\nA,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ContractError, match="decodes as utf-8-sig") as err:
        read_raw_table("customers", path)
    assert str(path) in str(err.value)


def test_decimal_comma_with_thousands_dots():
    row = deal(amount="1.234,5")
    options = ParseOptions(status_map=OPTIONS.status_map, decimal=",")
    assert run(d=deals([row]), options=options).deals["amount"].iloc[-1] == 1234.5
