"""Reading a source file as raw strings, so that the contract can name every bad value."""

from __future__ import annotations

from collections.abc import Mapping
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


def read_raw_table(
    name: str,
    path: str | Path,
    columns: Mapping[str, str] | None = None,
    csv: CsvOptions = CsvOptions(),
) -> RawTable:
    """Read a CSV or Parquet file with every cell as text and rename columns to the contract's.

    `columns` maps contract names to the source's own column names.
    """
    path = Path(path)
    if not path.exists():
        raise _unreadable(name, path, "file exists")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path).astype("str").where(lambda f: f.ne("nan") & f.ne("None"))
    else:
        try:
            frame = pd.read_csv(
                path,
                sep=csv.sep,
                encoding=csv.encoding,
                dtype="str",
                keep_default_na=False,
                na_values=[""],
            )
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
        except UnicodeDecodeError as exc:
            raise _unreadable(name, path, f"decodes as {csv.encoding} ({exc.reason})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    rename = {source: contract for contract, source in (columns or {}).items()}
    frame = frame.rename(columns=rename)
    return RawTable(name=name, source_file=str(path), frame=frame)
