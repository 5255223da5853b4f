"""The data contract: each bad-input case gets its exact error or quarantine."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tier_ml.contract import ContractError, ParseOptions, RawTable, enforce_contract
from tier_ml.sources.files import CsvOptions, read_raw_table

TODAY = pd.Timestamp("2026-01-15")
# Tables of a few rows: one set-aside row is a large share, so the share is not limited here.
OPTIONS = ParseOptions(
    status_map={"Closed Won": "won", "Closed Lost": "lost", "Open": "open"},
    max_quarantine_share=1.0,
)


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
    assert (v.source_file, v.column, v.count) == ("deals.csv", "amount", 0)
    assert v.rule == (
        "required column is present (found 5 column(s): "
        "'deal_id', 'customer_id', 'created_at', 'closed_at', 'status')"
    )
    assert "deals.csv" in str(err.value) and "'amount'" in str(err.value)


def test_a_file_read_as_one_column_asks_for_its_separator(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("customer_id;industry\nA;x\n")
    with pytest.raises(ContractError) as err:
        run(c=read_raw_table("customers", path))
    v = only_violation(err.value)
    assert (v.source_file, v.column) == (str(path), "customer_id")
    assert v.rule == (
        "required column is present (found 1 column(s): 'customer_id;industry' "
        "— is the separator ';'? set ingest.crm_export.csv.sep)"
    )


def test_the_found_columns_of_a_wide_export_are_cut_short():
    wide = pd.DataFrame({f"Field {i}": ["v"] for i in range(45)})
    with pytest.raises(ContractError) as err:
        run(c=RawTable("customers", "accounts.csv", wide))
    rule = only_violation(err.value).rule
    assert rule.startswith("required column is present (found 45 column(s): 'Field 0', ")
    assert rule.endswith(", 'Field 29', ... and 15 more)")


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


def test_a_header_only_activities_file_is_no_activities(tmp_path):
    """Transaction data has no activities: a file with only a header says so."""
    path = tmp_path / "activities.csv"
    path.write_text("customer_id,occurred_at,type\n")
    tables = run(a=read_raw_table("activities", path))
    assert tables.activities.empty
    assert tables.activities.columns.tolist() == ["customer_id", "occurred_at", "type"]
    assert tables.deals["status"].tolist() == ["won", "lost", "open"]


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
    raw = deals([deal(amount="1.234,5")])
    raw = RawTable("deals", "deals.csv", raw.frame.replace({"50.5": "50,5"}), decimal=",")
    assert run(d=raw).deals["amount"].tolist() == [100.0, 50.5, 70.0, 1234.5]


GARBAGE = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from(
        [
            "",
            " ",
            "A",
            "A ",
            "1",
            "1.0",
            "won",
            "Closed Won",
            "Open",
            "2025-01-01",
            "2025-01-01T10:00:00Z",
            "2025-01-01T10:00:00+02:00",
            "2025-01-02 00:00:00-05:00",
            "03/04/2025",
            "25/12/2025",
            "2107-01-01",
            "1.234,5",
            "1,234.56",
            "-5",
            "inf",
            "1e309",
            "nan",
            "NaT",
        ]
    ),
    st.text(max_size=8),
)


DATES = st.sampled_from(["2025-01-01", "2025-01-02T10:00:00Z", "2025-01-03 08:00:00+02:00"])
PLAUSIBLE = {
    "customer_id": st.sampled_from(["A", "B", "C"]),
    "deal_id": st.text("abc", min_size=1, max_size=3),
    "created_at": DATES,
    "occurred_at": DATES,
    "closed_at": st.sampled_from([None, "2025-02-01"]),
    "status": st.sampled_from(["Closed Won", "Closed Lost", "Open"]),
    "amount": st.sampled_from(["0", "12", "1.5"]),
    "employees": st.sampled_from([None, "10"]),
    "type": st.sampled_from(["call", "Meeting"]),
}


@st.composite
def garbage_table(draw, name: str, columns: tuple[str, ...], key: str | None = None) -> RawTable:
    """Plausible rows with, now and then, one column of garbage, one column missing or one
    column name doubled, so that both passing and failing inputs are explored."""

    def sometimes() -> str | None:
        return draw(st.sampled_from([*[None] * 12, *columns]))

    garbage = sometimes()
    row = st.fixed_dictionaries({c: GARBAGE if c == garbage else PLAUSIBLE[c] for c in columns})
    rows = draw(st.lists(row, min_size=1, max_size=6, unique_by=lambda r: str(r.get(key))))
    frame = pd.DataFrame(rows, columns=list(columns), dtype="object")
    frame = frame.drop(columns=[c for c in [sometimes()] if c])
    doubled = [c for c in [sometimes()] if c in frame.columns]
    return RawTable(name, f"{name}.csv", pd.concat([frame, frame[doubled]], axis=1))


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    c=garbage_table("customers", ("customer_id", "created_at", "employees"), "customer_id"),
    d=garbage_table(
        "deals",
        ("deal_id", "customer_id", "created_at", "closed_at", "status", "amount"),
        "deal_id",
    ),
    a=garbage_table("activities", ("customer_id", "occurred_at", "type")),
    decimal=st.sampled_from([".", ","]),
)
def test_fuzzed_tables_pass_the_contract_or_raise_a_contract_error(c, d, a, decimal):
    options = ParseOptions(status_map=OPTIONS.status_map)  # the default quarantine share
    tables = [RawTable(t.name, t.source_file, t.frame, decimal=decimal) for t in (c, d, a)]
    try:
        out = enforce_contract(*tables, options, TODAY)
    except ContractError as exc:
        assert exc.violations and all(v.source_file.endswith(".csv") for v in exc.violations)
        return
    assert np.isfinite(out.deals["amount"]).all() and (out.deals["amount"] >= 0).all()
    assert out.deals["deal_id"].is_unique and out.customers["customer_id"].is_unique
    for frame, column in [
        (out.customers, "created_at"),
        (out.deals, "created_at"),
        (out.deals, "closed_at"),
        (out.activities, "occurred_at"),
    ]:
        assert not (frame[column] > out.data_end + pd.Timedelta(days=1)).any()
    for record in out.quarantine["record"]:
        strict_json(record)


def strict_json(text: str) -> dict:
    """Parse JSON as strict parsers do: a bare NaN or Infinity fails the test."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in {text}"))


# --- issue 13 item 6: contract gaps found by fuzzing ---


def test_missing_and_empty_statuses_are_a_contract_error_not_a_type_error():
    with pytest.raises(ContractError) as err:
        run(d=deals([deal(status=None), deal(deal_id="d5", status="")]))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("status", 2) and "status_map" in v.rule


def test_inferred_end_covers_customer_creation_and_quarantined_rows():
    orphan = deal(deal_id="d9", customer_id="ZZ", created_at="2025-05-01")
    c = customers(created_at=["2025-01-01", "2025-06-01", None])
    tables = run(c=c, d=deals([orphan]))
    assert tables.data_end == pd.Timestamp("2025-06-01")
    assert (tables.customers["created_at"] <= tables.data_end).all()


def test_day_first_or_month_first_dates_ask_for_a_format():
    with pytest.raises(ContractError) as err:
        run(d=deals([deal(created_at="03/04/2025"), deal(deal_id="d5", created_at="05/06/2025")]))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("created_at", 2)
    assert "ambiguous" in v.rule and "date_format" in v.rule
    assert v.examples["deal_id"].tolist() == ["d4", "d5"]


def day_first_deals(*created: str) -> RawTable:
    """Deals d4, d5, ... created on the given dates, beside the base deals written day-first."""
    frame = deals([deal(deal_id=f"d{i}", created_at=c) for i, c in enumerate(created, 4)]).frame
    frame.loc[:2, "created_at"] = "01/01/2025"
    frame["closed_at"] = frame["closed_at"].where(frame["closed_at"].isna(), "31/03/2025")
    return RawTable("deals", "deals.csv", frame)


def test_a_single_reading_of_day_first_dates_is_used():
    parsed = run(d=day_first_deals("03/04/2025", "25/01/2025")).deals["created_at"]
    assert parsed.tolist()[-2:] == [pd.Timestamp("2025-04-03"), pd.Timestamp("2025-01-25")]


def test_dates_that_read_the_same_either_way_need_no_format():
    parsed = run(d=day_first_deals("05/05/2025")).deals["created_at"]
    assert parsed.iloc[-1] == pd.Timestamp("2025-05-05")


# --- issue 13 item 7: silent wrong numbers found by crafted exports ---


def test_decimal_comma_refuses_numbers_written_another_way():
    rows = [deal(amount="1234.56"), deal(deal_id="d5", amount="1,234.56")]
    frame = deals(rows).frame.assign(
        amount=lambda f: f["amount"].str.replace(".", ",", regex=False)
    )
    frame.loc[3:, "amount"] = ["1234.56", "1,234.56"]
    with pytest.raises(ContractError) as err:
        run(d=RawTable("deals", "deals.csv", frame, decimal=","))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("amount", 2) and "decimal ','" in v.rule
    assert v.examples["deal_id"].tolist() == ["d4", "d5"]


def test_infinite_amounts_are_refused():
    with pytest.raises(ContractError) as err:
        run(d=deals([deal(amount="inf"), deal(deal_id="d5", amount="1e309")]))
    v = only_violation(err.value)
    assert (v.column, v.rule, v.count) == ("amount", "is a finite number", 2)


def test_parquet_float_ids_are_written_as_integers(tmp_path):
    path = tmp_path / "deals.parquet"
    deals().frame.assign(customer_id=[1.0, 2.0, None]).to_parquet(path)
    raw = read_raw_table("deals", path)
    assert raw.frame["customer_id"].tolist()[:2] == ["1", "2"]
    assert pd.isna(raw.frame["customer_id"].iloc[2])


def test_quarantining_more_than_the_declared_share_is_an_error():
    orphans = [deal(customer_id="ZZ"), deal(deal_id="d5", customer_id="ZZ")]
    options = ParseOptions(status_map=OPTIONS.status_map, max_quarantine_share=0.2)
    with pytest.raises(ContractError) as err:
        run(d=deals(orphans), options=options)
    v = only_violation(err.value)
    assert (v.table, v.column, v.count) == ("deals", "customer_id", 2)
    assert "max_quarantine_share" in v.rule and "20%" in v.rule
    assert v.examples["deal_id"].tolist() == ["d4", "d5"]


@pytest.mark.parametrize(
    "header, columns, doubled",
    [
        ("customer_id,industry,industry", None, "industry"),
        ("customer_id,Account,industry", {"customer_id": "Account"}, "customer_id"),
    ],
    ids=["in-file", "after-mapping"],
)
def test_duplicated_column_name_is_refused(tmp_path, header, columns, doubled):
    path = tmp_path / "accounts.csv"
    path.write_text(f"{header}\nA,B,x\n")
    with pytest.raises(ContractError) as err:
        run(c=read_raw_table("customers", path, columns))
    v = only_violation(err.value)
    assert (v.source_file, v.column) == (str(path), doubled) and "unique" in v.rule


def test_missing_customer_created_at_is_the_first_record():
    acts = activities([{"customer_id": "B", "occurred_at": "2024-12-01", "type": "call"}])
    created = run(a=acts).customers.set_index("customer_id")["created_at"]
    assert created.to_dict() == {
        "A": pd.Timestamp("2025-01-01"),
        "B": pd.Timestamp("2024-12-01"),
        "C": pd.Timestamp("2025-02-01"),
    }


def test_customer_with_no_record_and_no_created_at_stays_unknown():
    c = customers(customer_id=["A", "B", "C"]).frame
    c = RawTable("customers", "accounts.csv", pd.concat([c, pd.DataFrame({"customer_id": ["D"]})]))
    created = run(c=c).customers.set_index("customer_id")["created_at"]
    assert pd.isna(created["D"]) and created.notna().sum() == 3


@pytest.mark.parametrize(
    "timezone, expected",
    [
        ("UTC", ["2025-01-02 04:00", "2025-01-02 08:00"]),
        ("Europe/Berlin", ["2025-01-02 05:00", "2025-01-02 09:00"]),
    ],
)
def test_utc_offsets_are_converted_to_the_declared_timezone(timezone, expected):
    rows = [
        deal(created_at="2025-01-01T23:00:00-05:00"),
        deal(deal_id="d5", created_at="2025-01-02T10:00:00+02:00"),
    ]
    options = ParseOptions(status_map=OPTIONS.status_map, timezone=timezone)
    created = run(d=deals(rows), options=options).deals["created_at"]
    assert created.tolist()[-2:] == [pd.Timestamp(t) for t in expected]
    assert created.tolist()[0] == pd.Timestamp("2025-01-01")  # no offset: already local


def test_empty_deal_id_is_reported_as_missing():
    with pytest.raises(ContractError) as err:
        run(d=deals([deal(deal_id=""), deal(deal_id=None)]))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("deal_id", 2) and v.rule == "'deal_id' is not empty"


def test_ids_are_compared_without_surrounding_spaces():
    spaced = {**deals().frame.iloc[0].to_dict(), "deal_id": "d1 "}
    tables = run(d=deals([spaced]))
    assert tables.counts == {("deals", "duplicate row (same deal_id, identical)"): 1}
    with pytest.raises(ContractError) as err:
        run(d=deals([{**spaced, "amount": "7"}]))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("deal_id", 2) and "disagree" in v.rule


def test_iso_dates_with_z_parse_and_the_rule_names_the_inferred_format():
    tables = run(d=deals([deal(created_at="2025-01-01T10:00:00Z")]))
    assert tables.deals["created_at"].iloc[-1] == pd.Timestamp("2025-01-01 10:00")
    with pytest.raises(ContractError) as err:
        run(d=day_first_deals("25/01/2025", "x"))
    v = only_violation(err.value)
    assert (v.column, v.count) == ("created_at", 1) and "%d/%m/%Y" in v.rule


def test_quarantine_records_are_strict_json():
    tables = run(d=deals([deal(customer_id="ZZ")]))
    record = tables.quarantine["record"].iloc[0]
    assert strict_json(record)["closed_at"] is None
