"""The score store: Parquet partitioned by `as_of`, plus a DuckDB file for SQL and BI tools.

A run's scores and reasons are written to a staging folder and moved into place with one
rename, so a failed run leaves the previous partition intact and a re-run of the same
`as_of` replaces its partition whole. The DuckDB file is rebuilt beside it and swapped in
the same way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from kedro.io import AbstractDataset

SCORES, REASONS = "scores.parquet", "reasons.parquet"


@dataclass(frozen=True)
class ScoreRun:
    """One scoring run: its date, the scores and the long-format contributions."""

    as_of: pd.Timestamp
    scores: pd.DataFrame
    reasons: pd.DataFrame


def partition_name(as_of: pd.Timestamp) -> str:
    return f"as_of={pd.Timestamp(as_of).date().isoformat()}"


def write_partition(root: Path, run: ScoreRun) -> Path:
    """Write to a staging folder, then swap it in for the partition with renames only."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / partition_name(run.as_of)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    staging.chmod(0o755)
    try:
        run.scores.to_parquet(staging / SCORES, index=False)
        run.reasons.to_parquet(staging / REASONS, index=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = None
    if final.exists():
        retired = root / f".retired-{final.name}-{os.getpid()}"
        final.rename(retired)
    staging.rename(final)
    if retired is not None:
        shutil.rmtree(retired)
    return final


def read_history(root: Path, table: str = SCORES) -> pd.DataFrame:
    """Every partition's rows of one table, oldest first."""
    files = sorted(root.glob(f"as_of=*/{table}"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def rebuild_duckdb(root: Path, database: Path) -> None:
    """Tables `scores` and `reasons` over all partitions, swapped in atomically."""
    database.parent.mkdir(parents=True, exist_ok=True)
    staging = database.with_name(f".{database.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    con = duckdb.connect(str(staging))
    try:
        for table, file in (("scores", SCORES), ("reasons", REASONS)):
            pattern = str(root / "as_of=*" / file)
            source = f"read_parquet('{pattern}', union_by_name = true)"
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {source}")
    finally:
        con.close()
    os.replace(staging, database)


class ScoreStoreDataset(AbstractDataset[ScoreRun, pd.DataFrame]):
    """Save a `ScoreRun` (partition + DuckDB); load the history of all runs, of the scores
    or (with `table: reasons`) of the long-format contributions."""

    def __init__(
        self, path: str, duckdb_path: str, table: str = "scores", metadata: dict | None = None
    ):
        self._root = Path(path)
        self._database = Path(duckdb_path)
        self._file = {"scores": SCORES, "reasons": REASONS}[table]
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_history(self._root, self._file)

    def save(self, data: ScoreRun) -> None:
        write_partition(self._root, data)
        rebuild_duckdb(self._root, self._database)

    def _exists(self) -> bool:
        return any(self._root.glob("as_of=*"))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root), "duckdb_path": str(self._database)}
