"""Reading a source file as raw strings, so that the contract can name every bad value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tier_ml.contract import ContractError, RawTable, Violation


@dataclass(frozen=True)
class CsvOptions:
    """How a CSV export is written: separator, encoding (utf-8-sig strips a BOM), decimal mark."""

    sep: str = ","
    encoding: str = "utf-8-sig"
    decimal: str = "."


def _unreadable(name: str, path: Path, rule: str) -> ContractError:
    return ContractError([Violation(name, str(path), "*", rule, 0, pd.DataFrame())])


# A contract column's name in the source: one name, or several to try in order.
ColumnNames = str | Sequence[str]


def contract_renames(columns: Mapping[str, ColumnNames], header: Sequence[str]) -> dict[str, str]:
    """Source column -> contract column. A contract column may list several source names (a
    vendor's report label and its API name); the first one the file has is used."""
    renames = {}
    for contract, names in columns.items():
        candidates = [names] if isinstance(names, str) else list(names or [])
        present = [n for n in candidates if n in header]
        if present:
            renames[present[0]] = contract
    return renames


def read_raw_table(
    name: str,
    path: str | Path,
    columns: Mapping[str, ColumnNames] | None = None,
    csv: CsvOptions = CsvOptions(),
) -> RawTable:
    """Read a CSV or Parquet file with every cell as text and rename columns to the contract's.

    `columns` maps contract names to the source's own column names.
    """
    path = Path(path)
    if not path.exists():
        raise _unreadable(name, path, "file exists")
    parquet = path.suffix.lower() == ".parquet"
    frame = _read_parquet(path) if parquet else _read_csv(name, path, csv)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.rename(columns=contract_renames(columns or {}, list(frame.columns)))
    decimal = "." if parquet else csv.decimal
    return RawTable(name=name, source_file=str(path), frame=frame, decimal=decimal)


def _read_csv(name: str, path: Path, csv: CsvOptions) -> pd.DataFrame:
    """Every cell as text; the header row is read as data so that a repeated column name is
    kept as written (pandas would rename it to 'name.1') and the contract can refuse it."""
    try:
        frame = pd.read_csv(
            path,
            sep=csv.sep,
            encoding=csv.encoding,
            header=None,
            dtype="str",
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except UnicodeDecodeError as exc:
        raise _unreadable(name, path, f"decodes as {csv.encoding} ({exc.reason})") from None
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = [c if pd.notna(c) else f"Unnamed: {i}" for i, c in enumerate(frame.iloc[0])]
    return body


def _as_text(values: pd.Series) -> pd.Series:
    """A Parquet column as text in the contract's plain format: integral floats are written as
    integers (an id stored as 1.0 must match "1"), other numbers with a "." decimal point."""
    present = values.dropna()
    integral = (
        pd.api.types.is_float_dtype(values)
        and present.abs().lt(2**53).all()
        and present.mod(1).eq(0).all()
    )
    text = (values.astype("Int64") if integral else values).astype("str")
    return text.where(values.notna())


def _read_parquet(path: Path) -> pd.DataFrame:
    """Parquet keeps its own types: numbers are not subject to a CSV decimal setting."""
    frame = pd.read_parquet(path)
    return pd.DataFrame(
        {i: _as_text(values) for i, (_, values) in enumerate(frame.items())}
    ).set_axis(frame.columns, axis=1)
