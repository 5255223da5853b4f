"""The data contract: three tables every source is converted to, and the errors that guard them.

Sources hand over raw string tables (`RawTable`); `enforce_contract` parses, checks and
splits them into clean contract tables plus a quarantine of rows that can be set aside
(exact duplicates, orphans). Anything else that breaks a rule is a `ContractError` that
names the file, the column, the rule, the number of offending rows and the first of them.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.tseries.api import guess_datetime_format

logger = logging.getLogger(__name__)

DEAL_STATUSES = ("won", "lost", "open")
# Deal fields that change over a deal's life; a deal history records them (long form).
DEAL_HISTORY_FIELDS = ("amount", "stage", "product", "owner", "expected_close_at")
EXAMPLE_ROWS = 5
# A missing column's error names at most this many of the columns the file has.
NAMED_COLUMNS = 30
CSV_SEPARATORS = (";", ",", "\t", "|")
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
    """A source table as read, every cell a string, with the file it came from.

    `decimal` is the file's own decimal mark: a CSV setting, "." for Parquet's typed numbers.
    """

    name: str
    source_file: str
    frame: pd.DataFrame
    decimal: str = "."


@dataclass(frozen=True)
class CRMTables:
    """The contract tables, the rows set aside, and the last date the data covers."""

    customers: pd.DataFrame
    deals: pd.DataFrame
    activities: pd.DataFrame
    quarantine: pd.DataFrame
    data_end: pd.Timestamp
    counts: dict[str, int] = field(default_factory=dict)
    deal_history: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class ParseOptions:
    """How a source writes its values: date format, status words, declared end date, the
    timezone offsets are converted to, and the share of a table that may be quarantined."""

    status_map: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    data_end_date: str | None = None
    numeric_attributes: tuple[str, ...] = ("employees", "annual_revenue")
    value_fixes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    timezone: str = "UTC"
    max_quarantine_share: float = 0.2
    history_fields: Mapping[str, str] = field(default_factory=dict)


REQUIRED = {
    "customers": ("customer_id",),
    "deals": ("deal_id", "customer_id", "created_at", "status", "amount"),
    "activities": ("customer_id", "occurred_at", "type"),
    "deal_history": ("deal_id", "changed_at", "field", "value"),
}
# Kept as written: ids, statuses, and deal history values (typed per field, not categories).
KEY_COLUMNS = ("customer_id", "deal_id", "status", "field", "value", "old_value")
ID_COLUMNS = ("customer_id", "deal_id")

DATE_COLUMNS = {
    "customers": ("created_at",),
    "deals": ("created_at", "closed_at", "expected_close_at"),
    "activities": ("occurred_at",),
    "deal_history": ("changed_at",),
}
# Plans, not records: an expected close date may lie after the data's end.
PLANNED_DATES = ("expected_close_at",)


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
    doubled = table.frame.columns[table.frame.columns.duplicated()].unique()
    if len(doubled):
        rule = "column name is unique (two columns would feed one contract column)"
        raise ContractError(
            [
                Violation(table.name, table.source_file, str(c), rule, 0, table.frame.head(0))
                for c in doubled
            ]
        )
    missing = [c for c in REQUIRED[table.name] if c not in table.frame.columns]
    if missing:
        rule = f"required column is present ({found_columns(table.frame.columns)})"
        raise ContractError(
            [
                Violation(table.name, table.source_file, c, rule, 0, table.frame.head(0))
                for c in missing
            ]
        )


def likely_separator(columns: pd.Index) -> str | None:
    """The separator a file was probably written with, when it was read as one column whose
    name holds another one ("a;b;c" read with ",")."""
    if len(columns) != 1:
        return None
    counts = {sep: str(columns[0]).count(sep) for sep in CSV_SEPARATORS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else None


def found_columns(columns: pd.Index) -> str:
    """The columns a file has instead, so that a wrong mapping or separator shows at once."""
    names = [str(c) for c in columns]
    shown = ", ".join(repr(n) for n in names[:NAMED_COLUMNS])
    more = f", ... and {len(names) - NAMED_COLUMNS} more" if len(names) > NAMED_COLUMNS else ""
    found = f"found {len(names)} column(s): {shown}{more}"
    sep = likely_separator(columns)
    if sep is not None:
        found += f" — is the separator {sep!r}? set ingest.crm_export.csv.sep"
    return found


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("str").str.strip().eq("")


ISO_8601 = "ISO8601"
# A time of day followed by Z or an offset: "10:00:00Z", "10:00+02:00", "10:00:00.5 -0500".
_UTC_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _read_dates(text: pd.Series, date_format: str) -> pd.Series:
    return pd.to_datetime(text, format=date_format, utc=True, errors="coerce")


def infer_date_formats(text: pd.Series) -> list[str]:
    """The formats a date column may be read with, when the source declares none.

    ISO 8601 when every value is; else pandas' month-first and day-first guesses for the
    first other value, kept when they read the most values. Two formats left mean the column
    is ambiguous ("03/04/2025" is 3 April or 4 March), and the source must declare one.
    """
    values = text.dropna()
    others = values[_read_dates(values, ISO_8601).isna()]
    if others.empty:
        return [ISO_8601]
    with warnings.catch_warnings():  # pandas warns when a month-first guess fails
        warnings.simplefilter("ignore", UserWarning)
        guesses = {guess_datetime_format(others.iloc[0], dayfirst=d) for d in (False, True)}
    read = {f: int(_read_dates(values, f).notna().sum()) for f in sorted(guesses - {None})}
    if not any(read.values()):
        return [ISO_8601]
    return [f for f, n in read.items() if n == max(read.values())]


def to_local_time(text: pd.Series, utc: pd.Series, timezone: str, where: str) -> pd.Series:
    """Naive timestamps in one timezone: values with a UTC offset are converted to it, values
    without one are taken as already local. Mixed offsets thus compare correctly."""
    offset = text.str.contains(_UTC_OFFSET, regex=True, na=False) & utc.notna()
    if offset.any():
        logger.info(
            "Converted %d date(s) with a UTC offset in %s to %s", offset.sum(), where, timezone
        )
    local = utc.dt.tz_convert(timezone).dt.tz_localize(None)
    return local.where(offset, utc.dt.tz_localize(None)).astype("datetime64[us]")


def parse_date_column(
    table: RawTable, column: str, options: ParseOptions
) -> tuple[pd.Series, list[Violation]]:
    """One date column in the declared format, or in the one format its values allow."""
    text = _as_str(table.frame[column])
    formats = [options.date_format] if options.date_format else infer_date_formats(text)
    where = f"{table.source_file} column '{column}'"
    if len(formats) > 1:
        first, second = (_read_dates(text, f) for f in formats)
        differ = first.notna() & second.notna() & first.ne(second)
        if differ.any():
            rule = f"date format is ambiguous ({' or '.join(formats)}); set date_format"
            return pd.Series(pd.NaT, index=text.index), [_fail(table, column, rule, differ)]
    fmt = formats[0]

    utc = _read_dates(text, fmt)
    inferred = fmt not in (options.date_format, ISO_8601)
    if inferred:
        logger.info("Read dates in %s as %s (inferred; set date_format to change)", where, fmt)
    named = (
        "ISO 8601" if fmt == ISO_8601 else fmt + (", inferred; set date_format" if inferred else "")
    )
    bad = utc.isna() & text.notna()
    violations = [_fail(table, column, f"parses as a date ({named})", bad)] if bad.any() else []
    return to_local_time(text, utc, options.timezone, where), violations


def parse_dates(
    table: RawTable, options: ParseOptions
) -> tuple[dict[str, pd.Series], list[Violation]]:
    """Parse every date column; a value that is present but unparseable is a violation."""
    parsed: dict[str, pd.Series] = {}
    violations = []
    for column in DATE_COLUMNS[table.name]:
        if column in table.frame.columns:
            parsed[column], bad = parse_date_column(table, column, options)
            violations += bad
    return parsed, violations


def parse_numbers(
    table: RawTable, column: str, decimal: str = "."
) -> tuple[pd.Series, list[Violation]]:
    """Parse a numeric column strictly in the file's format; a present value that is not a
    finite number is a violation.

    With a decimal comma, dots may only group thousands ("1.234,5" is 1234.5): "1234.56" and
    "1,234.56" are refused rather than read as 123456 and 1.23456.
    """
    text = _as_str(table.frame[column])
    rule = "is numeric"
    if decimal != ".":
        grouped = rf"[+-]?(?:\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:{re.escape(decimal)}\d+)?"
        written = text.str.fullmatch(grouped).fillna(False).astype("bool")
        text = text.where(written).str.replace(".", "", regex=False)
        text = text.str.replace(decimal, ".", regex=False)
        rule = f"is numeric (decimal '{decimal}', thousands '.')"
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = values.isna() & ~_blank(table.frame[column])
    infinite = pd.Series(np.isinf(values), index=values.index)
    violations = [_fail(table, column, rule, bad)] if bad.any() else []
    if infinite.any():
        violations.append(_fail(table, column, "is a finite number", infinite))
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
    unknown = sorted(_as_str(table.frame.loc[bad, "status"]).fillna("").unique())[:10]
    rule = f"status maps to won/lost/open (unknown values: {unknown}; add them to status_map)"
    return status, [_fail(table, "status", rule, bad)]


def _record_json(frame: pd.DataFrame) -> pd.Series:
    """Each row as strict JSON: a missing value is null, never a bare NaN."""
    records = frame.astype("object").where(frame.notna(), None).to_dict(orient="records")
    return pd.Series(
        [json.dumps(r, default=str, allow_nan=False) for r in records],
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


def split_duplicates(
    table: RawTable, parsed: pd.DataFrame, key: str
) -> tuple[pd.Series, pd.DataFrame]:
    """Identical repeats of a key are quarantined; repeats that disagree are an error.

    Rows are compared as parsed (ids stripped of spaces), so "d1 " repeats "d1". An empty key
    is its own error. Returns the mask of rows to keep and the quarantined repeats.
    """
    empty = parsed[key].isna()
    if empty.any():
        raise ContractError([_fail(table, key, f"'{key}' is not empty", empty)])
    repeated = parsed.duplicated(keep="first")
    conflicting = parsed[key].duplicated(keep=False) & ~parsed.duplicated(keep=False)
    conflict_keys = parsed.loc[conflicting, key].unique()
    in_conflict = parsed[key].isin(conflict_keys)
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
    "deal_history": pa.DataFrameSchema(
        {
            "deal_id": pa.Column("str", nullable=False),
            "changed_at": pa.Column("datetime64[us]", nullable=False),
            "field": pa.Column("str", pa.Check.isin(DEAL_HISTORY_FIELDS)),
            "value": pa.Column("str", nullable=True),
            "old_value": pa.Column("str", nullable=True, required=False),
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
        if column in parsed.columns and column not in PLANNED_DATES:
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
    for column in set(ID_COLUMNS) & set(parsed.columns):
        spaced = parsed[column].ne(table.frame[column]) & parsed[column].notna()
        if spaced.any():
            logger.warning(
                "Stripped spaces around %d %s value(s) in %s",
                spaced.sum(),
                column,
                table.source_file,
            )
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
        parsed = split_expected_close(parsed)
    for column in numeric:
        parsed[column], number_violations = parse_numbers(table, column, table.decimal)
        violations += number_violations
    violations += check_not_after(table, parsed, end)
    _raise_if(violations)
    text = [
        c
        for c in parsed.columns
        if c not in KEY_COLUMNS and c not in numeric and parsed[c].dtype == "str"
    ]
    return clean_categories(parsed, options, text)


def split_expected_close(deals: pd.DataFrame) -> pd.DataFrame:
    """An open deal's close date is a plan (Salesforce requires one), not an outcome: it moves
    to `expected_close_at`, which may lie after the data's end, and `closed_at` stays empty."""
    is_open = deals["status"].eq("open")
    planned = deals["closed_at"].where(is_open)
    if "expected_close_at" in deals.columns:
        planned = deals["expected_close_at"].fillna(planned)
    return deals.assign(
        closed_at=deals["closed_at"].where(~is_open),
        expected_close_at=planned.astype("datetime64[us]"),
    )


def parse_history_values(
    table: RawTable, parsed: pd.DataFrame, options: ParseOptions
) -> tuple[pd.DataFrame, list[Violation]]:
    """Deal history values typed per field and written back as canonical text (a number, an
    ISO date), so that one `value` column holds every field and features parse it exactly."""
    out = parsed.copy()
    amounts = out.index[out["field"].eq("amount")]
    planned = out.index[out["field"].eq("expected_close_at")]
    only_amounts = replace(table, frame=table.frame.loc[amounts])
    only_dates = replace(table, frame=table.frame.loc[planned])
    violations = []
    for column in ("value", "old_value"):
        if column not in out.columns:
            continue
        numbers, bad_numbers = parse_numbers(only_amounts, column, table.decimal)
        dates, bad_dates = parse_date_column(only_dates, column, options)
        violations += bad_numbers + bad_dates
        out.loc[amounts, column] = numbers.map(repr).where(numbers.notna())
        out.loc[planned, column] = dates.dt.strftime("%Y-%m-%dT%H:%M:%S").where(dates.notna())
    return out, violations


def split_history(
    table: RawTable, parsed: pd.DataFrame, options: ParseOptions, deal_ids: pd.Index
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The deal history in the contract's words; changes of fields not tracked
    (`history_fields` maps the source's field names) or of unknown deals are set aside,
    returned by the column each reason is about."""
    lookup = {**{f: f for f in DEAL_HISTORY_FIELDS}, **options.history_fields}
    out = parsed.assign(field=parsed["field"].map(lookup))
    untracked = out["field"].isna()
    unknown = ~untracked & ~out["deal_id"].isin(deal_ids)
    out, violations = parse_history_values(table, out.loc[~(untracked | unknown)], options)
    _raise_if(violations)
    return out, {
        "field": quarantine_rows(table, untracked, "field is not a tracked deal field"),
        "deal_id": quarantine_rows(table, unknown, "unknown deal"),
    }


def check_quarantine_share(
    table: RawTable, set_aside: Mapping[str, pd.DataFrame], limit: float
) -> None:
    """Setting aside more than `limit` of a table means broken input (ids read as floats, the
    wrong file), not a few bad rows: the run stops rather than writing a thin result.

    `set_aside` maps the column each reason is about to the rows set aside for it.
    """
    parts = {column: rows for column, rows in set_aside.items() if len(rows)}
    count = sum(len(rows) for rows in parts.values())
    if count <= limit * len(table.frame):
        return
    rows = pd.concat(parts.values())
    reasons = rows["reason"].value_counts().to_dict()
    rule = (
        f"at most {limit:.0%} of rows are quarantined (max_quarantine_share); "
        f"{count / len(table.frame):.0%} were: {reasons}"
    )
    mask = pd.Series(table.frame.index.isin(rows.index), index=table.frame.index)
    raise ContractError([_fail(table, ", ".join(parts), rule, mask)])


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


def _empty_deal_history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": pd.Series(dtype="str"),
            "changed_at": pd.Series(dtype="datetime64[us]"),
            "field": pd.Series(dtype="str"),
            "value": pd.Series(dtype="str"),
        }
    )


def with_rows(table: RawTable | None) -> RawTable | None:
    """An optional table whose file has a header and no rows holds none (transaction data has
    no activities): it is read as absent, not refused as an empty file."""
    if table is not None and table.frame.empty and len(table.frame.columns):
        logger.info("%s has a header and no rows: no %s", table.source_file, table.name)
        return None
    return table


def enforce_contract(
    customers: RawTable,
    deals: RawTable,
    activities: RawTable | None,
    options: ParseOptions,
    today: pd.Timestamp | None = None,
    deal_history: RawTable | None = None,
) -> CRMTables:
    """Parse, check and split raw source tables into the contract tables and a quarantine."""
    end = resolve_data_end(options, today if today is not None else pd.Timestamp.now())
    activities, deal_history = with_rows(activities), with_rows(deal_history)
    set_aside = []

    limit = options.max_quarantine_share
    customers_parsed = parse_table(customers, options, end)
    keep, dups = split_duplicates(customers, customers_parsed, "customer_id")
    check_quarantine_share(customers, {"customer_id": dups}, limit)
    set_aside.append(dups)
    customers_clean = customers_parsed.loc[keep]
    if "created_at" not in customers_clean.columns:
        customers_clean = customers_clean.assign(
            created_at=pd.Series(pd.NaT, index=customers_clean.index, dtype="datetime64[us]")
        )
    check_schema(customers, customers_clean)
    ids = pd.Index(customers_clean["customer_id"])

    deals_parsed = parse_table(deals, options, end)
    dated = [customers_parsed, deals_parsed]
    keep, dups = split_duplicates(deals, deals_parsed, "deal_id")
    keep, orphans = split_orphans(deals, deals_parsed, keep, ids)
    check_quarantine_share(deals, {"deal_id": dups, "customer_id": orphans}, limit)
    set_aside += [dups, orphans]
    deals_clean = deals_parsed.loc[keep]
    check_schema(deals, deals_clean)

    if activities is None:
        activities_clean = _empty_activities()
    else:
        activities_parsed = parse_table(activities, options, end)
        dated.append(activities_parsed)
        # Activities have no key: two calls on one day are two calls, not a duplicate.
        everything = pd.Series(True, index=activities_parsed.index)
        keep, orphans = split_orphans(activities, activities_parsed, everything, ids)
        check_quarantine_share(activities, {"customer_id": orphans}, limit)
        set_aside.append(orphans)
        activities_clean = activities_parsed.loc[keep].copy()
        check_schema(activities, activities_clean)
        activities_clean["type"] = (
            activities_clean["type"].str.casefold().str.replace(r"[\s\-]+", "_", regex=True)
        )

    customers_clean = fill_created_at(customers_clean, deals_clean, activities_clean)

    if deal_history is None:
        history_clean = _empty_deal_history()
    else:
        history_parsed = parse_table(deal_history, options, end)
        history_clean, history_aside = split_history(
            deal_history, history_parsed, options, pd.Index(deals_clean["deal_id"])
        )
        # Untracked fields are expected (a CRM logs many); unknown deals mean broken ids.
        check_quarantine_share(deal_history, {"deal_id": history_aside["deal_id"]}, limit)
        set_aside += history_aside.values()
        check_schema(deal_history, history_clean)

    quarantine = pd.concat(set_aside, ignore_index=True) if set_aside else pd.DataFrame()
    quarantine = quarantine.reindex(columns=QUARANTINE_COLUMNS).astype("str")
    return CRMTables(
        customers=customers_clean.reset_index(drop=True),
        deals=deals_clean.reset_index(drop=True),
        activities=activities_clean.reset_index(drop=True),
        quarantine=quarantine,
        data_end=end if options.data_end_date else latest_date(dated, end),
        counts=quarantine.groupby(["table", "reason"]).size().to_dict() if len(quarantine) else {},
        deal_history=history_clean.reset_index(drop=True),
    )


def latest_date(tables: list[pd.DataFrame], end: pd.Timestamp) -> pd.Timestamp:
    """With no declared end, the data covers up to the day of its latest recorded date, in any
    table and in quarantined rows too, so that the newest customers are scored. Planned dates
    (an expected close) are not records."""
    stamps = [
        frame[column].max()
        for frame in tables
        for column in frame.select_dtypes("datetime").columns
        if column not in PLANNED_DATES
    ]
    latest = max((s for s in stamps if pd.notna(s)), default=end)
    return min(pd.Timestamp(latest).normalize(), end)


def fill_created_at(
    customers: pd.DataFrame, deals: pd.DataFrame, activities: pd.DataFrame
) -> pd.DataFrame:
    """A customer with no `created_at` is known from its first deal or activity: left empty,
    it would exist at every past cutoff, and appending it would change features there.
    A customer with no record at all stays empty."""
    first = pd.concat(
        [
            deals.set_index("customer_id")["created_at"],
            activities.set_index("customer_id")["occurred_at"],
        ]
    )
    first = first.groupby(level=0).min()
    filled = customers["created_at"].fillna(customers["customer_id"].map(first))
    count = int((filled.notna() & customers["created_at"].isna()).sum())
    if count:
        logger.info("Set created_at of %d customer(s) without one to their first record", count)
    return customers.assign(created_at=filled.astype("datetime64[us]"))
