"""The data contract: three tables every source is converted to, and the errors that guard them.

Sources hand over raw string tables (`RawTable`); `enforce_contract` parses, checks and
splits them into clean contract tables plus a quarantine of rows that can be set aside
(exact duplicates, orphans). Anything else that breaks a rule is a `ContractError` that
names the file, the column, the rule, the number of offending rows and the first of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

DEAL_STATUSES = ("won", "lost", "open")
EXAMPLE_ROWS = 5
QUARANTINE_COLUMNS = ["table", "source_file", "reason", "record"]


@dataclass(frozen=True)
class Violation:
    """One broken rule: where, which rule, how many rows, and the first of them."""

    table: str
    source_file: str
    column: str
    rule: str
    count: int
    examples: pd.DataFrame

    def describe(self) -> str:
        rows = self.examples.head(EXAMPLE_ROWS).to_string(max_colwidth=40)
        return (
            f"{self.source_file}: column '{self.column}' breaks rule '{self.rule}' "
            f"in {self.count} row(s) (table {self.table}); first rows:\n{rows}"
        )


class ContractError(ValueError):
    """Input that cannot be repaired or set aside: the run stops and says exactly why."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("\n\n".join(v.describe() for v in violations))


@dataclass(frozen=True)
class RawTable:
    """A source table as read, every cell a string, with the file it came from."""

    name: str
    source_file: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class CRMTables:
    """The contract tables, the rows set aside, and the last date the data covers."""

    customers: pd.DataFrame
    deals: pd.DataFrame
    activities: pd.DataFrame
    quarantine: pd.DataFrame
    data_end: pd.Timestamp
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ParseOptions:
    """How a source writes its values: date format, status words, declared end date."""

    status_map: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    dayfirst: bool = False
    data_end_date: str | None = None
    numeric_attributes: tuple[str, ...] = ("employees", "annual_revenue")
    value_fixes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    decimal: str = "."


REQUIRED = {
    "customers": ("customer_id",),
    "deals": ("deal_id", "customer_id", "created_at", "status", "amount"),
    "activities": ("customer_id", "occurred_at", "type"),
}
KEY_COLUMNS = ("customer_id", "deal_id", "status")
DATE_COLUMNS = {
    "customers": ("created_at",),
    "deals": ("created_at", "closed_at"),
    "activities": ("occurred_at",),
}


def _fail(table: RawTable, column: str, rule: str, mask: pd.Series) -> Violation:
    return Violation(
        table=table.name,
        source_file=table.source_file,
        column=column,
        rule=rule,
        count=int(mask.sum()),
        examples=table.frame.loc[mask].head(EXAMPLE_ROWS),
    )


def _raise_if(violations: list[Violation]) -> None:
    if violations:
        raise ContractError(violations)


def check_shape(table: RawTable) -> None:
    """An empty file or a missing required column stops the run before anything else."""
    if table.frame.empty:
        raise ContractError(
            [
                Violation(
                    table.name,
                    table.source_file,
                    "*",
                    "file has at least one data row",
                    0,
                    table.frame,
                )
            ]
        )
    missing = [c for c in REQUIRED[table.name] if c not in table.frame.columns]
    if missing:
        raise ContractError(
            [
                Violation(
                    table.name,
                    table.source_file,
                    c,
                    "required column is present",
                    0,
                    table.frame.head(0),
                )
                for c in missing
            ]
        )


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("str").str.strip().eq("")


def parse_dates(
    table: RawTable, options: ParseOptions
) -> tuple[dict[str, pd.Series], list[Violation]]:
    """Parse every date column; a value that is present but unparseable is a violation."""
    parsed: dict[str, pd.Series] = {}
    violations = []
    for column in DATE_COLUMNS[table.name]:
        if column not in table.frame.columns:
            continue
        raw = table.frame[column]
        values = pd.to_datetime(
            raw.where(~_blank(raw)),
            format=options.date_format,
            dayfirst=options.dayfirst,
            errors="coerce",
        )
        bad = values.isna() & ~_blank(raw)
        if bad.any():
            rule = f"parses as a date ({options.date_format or 'ISO 8601'})"
            violations.append(_fail(table, column, rule, bad))
        parsed[column] = values.dt.tz_localize(None) if values.dt.tz else values
        parsed[column] = parsed[column].astype("datetime64[us]")
    return parsed, violations


def parse_numbers(
    table: RawTable, column: str, decimal: str = "."
) -> tuple[pd.Series, list[Violation]]:
    """Parse a numeric column; a present value that is not a number is a violation.

    With a decimal comma, dots are thousands separators ("1.234,5" is 1234.5).
    """
    raw = table.frame[column]
    text = raw.where(~_blank(raw))
    if decimal != "." and text.dtype == "str":
        text = text.str.replace(".", "", regex=False).str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = values.isna() & ~_blank(raw)
    violations = [_fail(table, column, "is numeric", bad)] if bad.any() else []
    return values, violations


def map_status(table: RawTable, status_map: Mapping[str, str]) -> tuple[pd.Series, list[Violation]]:
    """Map the source's status words to won/lost/open; unknown words are listed in the error."""
    lookup = {str(k).strip().casefold(): v for k, v in status_map.items()}
    lookup.update({s: s for s in DEAL_STATUSES if s not in lookup})
    raw = table.frame["status"].astype("str").str.strip().str.casefold()
    status = raw.map(lookup)
    bad = status.isna() | ~status.isin(DEAL_STATUSES)
    if not bad.any():
        return status.astype("str"), []
    unknown = sorted(table.frame.loc[bad, "status"].astype("str").unique())[:10]
    rule = f"status maps to won/lost/open (unknown values: {unknown}; add them to status_map)"
    return status, [_fail(table, "status", rule, bad)]


def _record_json(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [json.dumps(r, default=str) for r in frame.to_dict(orient="records")],
        index=frame.index,
        dtype="str",
    )


def quarantine_rows(table: RawTable, mask: pd.Series, reason: str) -> pd.DataFrame:
    """Rows set aside with why, in a shape that fits every table."""
    rows = table.frame.loc[mask]
    return pd.DataFrame(
        {
            "table": table.name,
            "source_file": table.source_file,
            "reason": reason,
            "record": _record_json(rows),
        },
        index=rows.index,
        columns=QUARANTINE_COLUMNS,
    )


def split_duplicates(table: RawTable, key: str) -> tuple[pd.Series, pd.DataFrame]:
    """Identical repeats of a key are quarantined; repeats that disagree are an error.

    Returns the mask of rows to keep and the quarantined repeats.
    """
    frame = table.frame
    repeated = frame.duplicated(keep="first")
    conflicting = frame[key].duplicated(keep=False) & ~frame.duplicated(keep=False)
    conflict_keys = frame.loc[conflicting, key].unique()
    in_conflict = frame[key].isin(conflict_keys)
    if in_conflict.any():
        rule = f"'{key}' is unique (rows that share it disagree)"
        raise ContractError([_fail(table, key, rule, in_conflict)])
    return ~repeated, quarantine_rows(table, repeated, f"duplicate row (same {key}, identical)")


_SCHEMAS = {
    "customers": pa.DataFrameSchema(
        {
            "customer_id": pa.Column("str", nullable=False, unique=True),
            "created_at": pa.Column("datetime64[us]", nullable=True, required=False),
        },
        strict=False,
    ),
    "deals": pa.DataFrameSchema(
        {
            "deal_id": pa.Column("str", nullable=False, unique=True),
            "customer_id": pa.Column("str", nullable=False),
            "created_at": pa.Column("datetime64[us]", nullable=False),
            "closed_at": pa.Column("datetime64[us]", nullable=True),
            "status": pa.Column("str", pa.Check.isin(DEAL_STATUSES)),
            "amount": pa.Column("float64", pa.Check.ge(0, error="amount >= 0"), nullable=False),
        },
        checks=[
            pa.Check(
                lambda d: ~d["status"].isin(["won", "lost"]) | d["closed_at"].notna(),
                error="closed_at is set when status is won or lost",
                name="closed_at_required",
            ),
            pa.Check(
                lambda d: d["closed_at"].isna() | (d["closed_at"] >= d["created_at"]),
                error="closed_at is not before created_at",
                name="closed_after_created",
            ),
        ],
        strict=False,
    ),
    "activities": pa.DataFrameSchema(
        {
            "customer_id": pa.Column("str", nullable=False),
            "occurred_at": pa.Column("datetime64[us]", nullable=False),
            "type": pa.Column("str", nullable=False),
        },
        strict=False,
    ),
}
_FRAME_CHECK_COLUMNS = {
    "closed_at is set when status is won or lost": "closed_at",
    "closed_at is not before created_at": "closed_at",
}


def check_schema(table: RawTable, parsed: pd.DataFrame) -> None:
    """Run the pandera schema lazily and turn its failure cases into one ContractError."""
    try:
        _SCHEMAS[table.name].validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        frame_level = cases["schema_context"].ne("Column")
        cases = cases.assign(
            column=cases["column"].where(
                ~frame_level, cases["check"].map(_FRAME_CHECK_COLUMNS).fillna("*")
            )
        )
        violations = []
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            rows = pd.Index(group["index"].dropna().astype("int64").unique())
            mask = table.frame.index.isin(rows)
            violations.append(
                Violation(
                    table.name,
                    table.source_file,
                    str(column),
                    str(check),
                    int(mask.sum()) or len(group),
                    table.frame.loc[mask].head(EXAMPLE_ROWS),
                )
            )
        raise ContractError(violations) from None


def resolve_data_end(options: ParseOptions, today: pd.Timestamp) -> pd.Timestamp:
    """The declared end of the data, or, when none is declared, the day of the run."""
    if options.data_end_date:
        return pd.Timestamp(options.data_end_date).normalize()
    return today.normalize()


def check_not_after(table: RawTable, parsed: pd.DataFrame, end: pd.Timestamp) -> list[Violation]:
    """No record may be dated after the end of the data: it would be news from the future."""
    limit = end + pd.Timedelta(days=1)
    violations = []
    for column in DATE_COLUMNS[table.name]:
        if column in parsed.columns:
            late = (parsed[column] >= limit).fillna(False)
            if late.any():
                rule = f"date is not after the data's end date {end.date()}"
                violations.append(_fail(table, column, rule, late))
    return violations


def _as_str(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().where(~_blank(values))


def unify_spelling(values: pd.Series) -> pd.Series:
    """Variants that differ only in case, spacing or dashes ("GTXPro", "GTX Pro") take the
    most frequent spelling, so that one category is not split in two."""
    key = values.str.casefold().str.replace(r"[\s\-_]+", "", regex=True)
    counts = values.value_counts()
    spellings = pd.DataFrame(
        {
            "key": counts.index.str.casefold().str.replace(r"[\s\-_]+", "", regex=True),
            "spelling": counts.index,
        }
    ).drop_duplicates("key")
    return key.map(spellings.set_index("key")["spelling"]).where(values.notna())


def clean_categories(
    parsed: pd.DataFrame, options: ParseOptions, text_columns: list[str]
) -> pd.DataFrame:
    """Declared value fixes first (typos such as 'technolgy'), then spelling variants."""
    out = parsed.copy()
    for column in text_columns:
        fixes = options.value_fixes.get(column, {})
        values = out[column].replace(dict(fixes)) if fixes else out[column]
        out[column] = unify_spelling(values)
    return out


def parse_table(table: RawTable, options: ParseOptions, end: pd.Timestamp) -> pd.DataFrame:
    """Types for one table: strings trimmed, dates and numbers parsed, statuses mapped."""
    check_shape(table)
    dates, violations = parse_dates(table, options)
    parsed = table.frame.copy()
    for column in parsed.columns:
        parsed[column] = _as_str(parsed[column])
    for column, values in dates.items():
        parsed[column] = values
    numeric = [c for c in options.numeric_attributes if c in parsed.columns]
    if table.name == "deals":
        numeric = ["amount"]
        status, status_violations = map_status(table, options.status_map)
        parsed["status"] = status
        violations += status_violations
        if "closed_at" not in parsed.columns:
            parsed["closed_at"] = pd.Series(pd.NaT, index=parsed.index, dtype="datetime64[us]")
    for column in numeric:
        parsed[column], number_violations = parse_numbers(table, column, options.decimal)
        violations += number_violations
    violations += check_not_after(table, parsed, end)
    _raise_if(violations)
    text = [
        c
        for c in parsed.columns
        if c not in KEY_COLUMNS and c not in numeric and parsed[c].dtype == "str"
    ]
    return clean_categories(parsed, options, text)


def split_orphans(
    table: RawTable, parsed: pd.DataFrame, keep: pd.Series, customer_ids: pd.Index
) -> tuple[pd.Series, pd.DataFrame]:
    """Deals and activities of customers the customer table does not know are set aside.

    Only rows still kept (not already quarantined as duplicates) are considered.
    """
    missing = keep & parsed["customer_id"].isna()
    unknown = keep & parsed["customer_id"].notna() & ~parsed["customer_id"].isin(customer_ids)
    quarantined = pd.concat(
        [
            quarantine_rows(table, missing, "customer_id is missing"),
            quarantine_rows(table, unknown, "unknown customer"),
        ]
    )
    return keep & ~(missing | unknown), quarantined


def _empty_activities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="str"),
            "occurred_at": pd.Series(dtype="datetime64[us]"),
            "type": pd.Series(dtype="str"),
        }
    )


def enforce_contract(
    customers: RawTable,
    deals: RawTable,
    activities: RawTable | None,
    options: ParseOptions,
    today: pd.Timestamp | None = None,
) -> CRMTables:
    """Parse, check and split raw source tables into the contract tables and a quarantine."""
    end = resolve_data_end(options, today if today is not None else pd.Timestamp.now())
    set_aside = []

    customers_parsed = parse_table(customers, options, end)
    keep, dups = split_duplicates(customers, "customer_id")
    set_aside.append(dups)
    customers_clean = customers_parsed.loc[keep]
    if "created_at" not in customers_clean.columns:
        customers_clean = customers_clean.assign(
            created_at=pd.Series(pd.NaT, index=customers_clean.index, dtype="datetime64[us]")
        )
    check_schema(customers, customers_clean)
    ids = pd.Index(customers_clean["customer_id"])

    deals_parsed = parse_table(deals, options, end)
    keep, dups = split_duplicates(deals, "deal_id")
    keep, orphans = split_orphans(deals, deals_parsed, keep, ids)
    set_aside += [dups, orphans]
    deals_clean = deals_parsed.loc[keep]
    check_schema(deals, deals_clean)

    if activities is None:
        activities_clean = _empty_activities()
    else:
        activities_parsed = parse_table(activities, options, end)
        # Activities have no key: two calls on one day are two calls, not a duplicate.
        everything = pd.Series(True, index=activities_parsed.index)
        keep, orphans = split_orphans(activities, activities_parsed, everything, ids)
        set_aside.append(orphans)
        activities_clean = activities_parsed.loc[keep].copy()
        check_schema(activities, activities_clean)
        activities_clean["type"] = (
            activities_clean["type"].str.casefold().str.replace(r"[\s\-]+", "_", regex=True)
        )

    quarantine = pd.concat(set_aside, ignore_index=True) if set_aside else pd.DataFrame()
    quarantine = quarantine.reindex(columns=QUARANTINE_COLUMNS).astype("str")
    return CRMTables(
        customers=customers_clean.reset_index(drop=True),
        deals=deals_clean.reset_index(drop=True),
        activities=activities_clean.reset_index(drop=True),
        quarantine=quarantine,
        data_end=end
        if options.data_end_date
        else _latest_event(deals_clean, activities_clean, end),
        counts=quarantine.groupby(["table", "reason"]).size().to_dict() if len(quarantine) else {},
    )


def _latest_event(deals: pd.DataFrame, activities: pd.DataFrame, end: pd.Timestamp) -> pd.Timestamp:
    """With no declared end, the data covers up to the day of its latest recorded event."""
    stamps = [deals["created_at"].max(), deals["closed_at"].max(), activities["occurred_at"].max()]
    latest = max((s for s in stamps if pd.notna(s)), default=end)
    return min(pd.Timestamp(latest).normalize(), end)
