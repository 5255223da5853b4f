"""The score store: immutable Parquet runs behind one atomic pointer per `as_of`, and a
DuckDB file of views that read through the pointers.

Layout under the store's root::

    as_of=2025-12-31/
        run-20261124T052000Z-k3j9x/   scores.parquet, reasons.parquet, run.parquet,
                                      drift.parquet, distribution.parquet (never changed)
        current -> run-20261124T052000Z-k3j9x
    .lock                             the writer's pid while a run writes

The DuckDB views, for BI tools: `scores` (with `action` as a code), `reasons` (the feature's
label, its numeric `value` or its `category`), `runs` (each run's horizon and data end), the
lookups `tiers` (tier and action codes, an action label per language) and `features` (feature
codes and labels of the latest run), and `drift` (each run's population stability per
feature, against the training data and the previous run). `distribution.parquet` holds the
run's own bins and shares (see `tier_ml.drift`), what the next run's drift is measured against.

A writer stages a run in `.staging-*`, renames it to `run-*`, then swaps the `current`
symlink with one `os.replace`. That swap is the only commit point: Parquet readers (through
`current`) and the DuckDB views (which glob `as_of=*/current/`) see the old run or the new
one, never neither, whenever the writer dies. One writer at a time holds an `flock` on
`.lock`; the kernel drops it when the writer dies, and the next writer removes what the dead
one left.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tier_ml.drift import empty_distribution, empty_drift
from tier_ml.tiering import ACTION_CODES, ACTIONS, TIERS

FILES = {
    "scores": "scores.parquet",
    "reasons": "reasons.parquet",
    "runs": "run.parquet",
    "drift": "drift.parquet",
    "distribution": "distribution.parquet",
}
CURRENT = "current"
LOCK = ".lock"
KILL_AT = "TIER_ML_SCORE_STORE_KILL_AT"

logger = logging.getLogger(__name__)

# flock conflicts between two open files even in one process: a process that holds a
# store's lock (for a whole run) re-enters it for each save instead of opening it again.
_HELD: set[Path] = set()


class StoreLockedError(RuntimeError):
    """Another process is writing to the score store."""


@dataclass(frozen=True)
class ScoreRun:
    """One scoring run: its date, the scores, the long-format contributions, the horizon
    its predictions look ahead, the last date of the data it scored (what the report shows
    beside `as_of`: the export's end, or `as_of` for a backdated run, which sees only what
    came before it), the labels of the feature codes it may name, its drift table and the
    distribution the next run's drift is measured against."""

    as_of: pd.Timestamp
    scores: pd.DataFrame
    reasons: pd.DataFrame
    horizon_days: int
    data_end: pd.Timestamp
    feature_labels: Mapping[str, str] = field(default_factory=dict)
    drift: pd.DataFrame = field(default_factory=empty_drift)
    distribution: pd.DataFrame = field(default_factory=empty_distribution)

    def runs_row(self) -> pd.DataFrame:
        """The run's own row of the `runs` table."""
        return pd.DataFrame(
            {
                "as_of": [pd.Timestamp(self.as_of)],
                "horizon_days": [int(self.horizon_days)],
                "data_end": [pd.Timestamp(self.data_end)],
                "scored_at": [pd.Timestamp.now("UTC").tz_localize(None)],
            }
        ).astype(
            {"as_of": "datetime64[us]", "data_end": "datetime64[us]", "scored_at": "datetime64[us]"}
        )


def partition_name(as_of: pd.Timestamp) -> str:
    return f"as_of={pd.Timestamp(as_of).date().isoformat()}"


def _checkpoint(step: str) -> None:
    """Fault injection for the crash tests: SIGKILL this process at the named write step."""
    if os.environ.get(KILL_AT) == step:
        os.kill(os.getpid(), signal.SIGKILL)


# Reading: only through the pointers


def current_runs(root: Path) -> dict[pd.Timestamp, Path]:
    """The run folder each `as_of` pointer names, oldest first."""
    return {
        pd.Timestamp(pointer.parent.name.removeprefix("as_of=")): pointer.resolve()
        for pointer in sorted(root.glob(f"as_of=*/{CURRENT}"))
    }


def read_table(run: Path, table: str) -> pd.DataFrame:
    """One table of one run; empty where the run predates it (runs before drift monitoring
    have no drift or distribution)."""
    path = run / FILES[table]
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def read_scores(root: Path, table: str = "scores") -> pd.DataFrame:
    """Every `as_of`'s current run of one table (a key of `FILES`), oldest first."""
    frames = [read_table(run, table) for run in current_runs(root).values()]
    frames = [frame for frame in frames if len(frame.columns)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def previous_run(
    runs: Mapping[pd.Timestamp, Callable[[], pd.DataFrame]], as_of: pd.Timestamp
) -> pd.DataFrame:
    """The scores of the latest run before `as_of` (empty when none): tier changes are
    measured against it, so no other run needs reading."""
    earlier = [t for t in runs if t < pd.Timestamp(as_of)]
    return runs[max(earlier)]() if earlier else pd.DataFrame()


# DuckDB: views that read through the pointers


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _current(root: Path, table: str, typed: Mapping[str, str]) -> str:
    """Every current run of one table. The columns a view names are typed even before the
    first run (DuckDB binds a view when it creates it, and no file has them yet)."""
    pattern = (root.resolve() / "as_of=*" / CURRENT / FILES[table]).as_posix()
    anchor = ", ".join(f"NULL::{kind} AS {column}" for column, kind in typed.items())
    return (
        f"(SELECT * FROM read_parquet({_sql_string(pattern)}, union_by_name = true, "
        f"allow_empty = true) UNION ALL BY NAME SELECT {anchor} WHERE false)"
    )


def _lookup(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A small table of text written into the view itself (typed, even when empty)."""
    header = ", ".join(f"NULL::VARCHAR AS {c}" for c in columns)
    body = "".join(f" UNION ALL SELECT {', '.join(map(_sql_string, r))}" for r in rows)
    return f"SELECT {header} WHERE false{body}"


def tier_rows() -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Tier and action codes, with the action's label in every language of the scores."""
    columns = ("tier", "action", *(f"action_{language}" for language in ACTIONS))
    rows = [(t, ACTION_CODES[t], *(labels[t] for labels in ACTIONS.values())) for t in TIERS]
    return columns, rows


def view_definitions(root: Path, feature_labels: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Per view, the `CREATE VIEW` statement and the comment that identifies it (what it
    holds, and a digest of its definition). Paths are absolute so that notebooks and BI tools
    can open the file from any folder. `scores.action` is the language-free code of the
    `tiers` lookup (the Parquet files keep the label of the scoring language); `reasons`
    values of runs from before they were stored as numbers are cast."""
    tiers_columns, tiers = tier_rows()
    queries = {
        "tiers": (
            "tier and action codes, action labels per language",
            _lookup(tiers_columns, tiers),
        ),
        "features": (
            "feature codes and labels of the latest scoring run",
            _lookup(("feature", "label"), sorted(feature_labels.items())),
        ),
        "scores": (
            f"current score runs under {root.resolve().as_posix()}",
            "SELECT s.* REPLACE (t.action AS action) FROM "
            f"{_current(root, 'scores', {'tier': 'VARCHAR', 'action': 'VARCHAR'})} AS s "
            "LEFT JOIN tiers AS t USING (tier)",
        ),
        "reasons": (
            f"contributions of the current score runs under {root.resolve().as_posix()}",
            "SELECT * REPLACE (TRY_CAST(value AS DOUBLE) AS value) FROM "
            f"{_current(root, 'reasons', {'value': 'DOUBLE'})}",
        ),
        "runs": (
            f"horizon, data end and time of the current score runs under "
            f"{root.resolve().as_posix()}",
            "SELECT * FROM "
            + _current(root, "runs", {"horizon_days": "INTEGER", "data_end": "TIMESTAMP"}),
        ),
        "drift": (
            f"population stability of the current score runs under {root.resolve().as_posix()}",
            "SELECT * FROM "
            + _current(
                root,
                "drift",
                {
                    "as_of": "TIMESTAMP",
                    "feature": "VARCHAR",
                    "against": "VARCHAR",
                    "psi": "DOUBLE",
                    "level": "VARCHAR",
                },
            ),
        ),
    }
    definitions = {}
    for view, (about, query) in queries.items():
        statement = f"CREATE OR REPLACE VIEW {view} AS {query}"
        digest = hashlib.sha256(statement.encode()).hexdigest()[:12]
        definitions[view] = statement, f"{about} [{digest}]"
    return definitions


def ensure_views(root: Path, database: Path, feature_labels: Mapping[str, str]) -> None:
    """Create or update the views, in one transaction. The file is not opened for writing
    when they are already as wanted, so that readers may keep it open (read-only) between
    runs."""
    wanted = view_definitions(root, feature_labels)
    if database.exists():
        with duckdb.connect(str(database), read_only=True) as con:
            found = dict(con.execute("SELECT view_name, comment FROM duckdb_views()").fetchall())
        if all(found.get(view) == comment for view, (_, comment) in wanted.items()):
            return
    database.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as con:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        con.begin()
        for view, (statement, comment) in wanted.items():
            if view in tables:  # the old layout copied the runs into tables
                con.execute(f"DROP TABLE {view}")
            _checkpoint("duckdb")
            con.execute(statement)
            con.execute(f"COMMENT ON VIEW {view} IS {_sql_string(comment)}")
        con.commit()


# Writing: one writer at a time, leftovers recovered when the lock is taken


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk: a rename survives a power cut
    only with what it points at."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _commit(folder: Path, staging: Path, name: str) -> Path:
    """Rename a complete staging folder to `run-<name>-…`, swap the pointer to it with one
    `os.replace` (the commit), then remove the run it replaced."""
    for item in [*staging.iterdir(), staging]:
        _fsync(item)
    run = staging.rename(folder / f"run-{name}-{staging.name.removeprefix('.staging-')}")
    _fsync(folder)
    _checkpoint("staged")
    pointer, swap = folder / CURRENT, folder / f".{CURRENT}-{run.name}"
    replaced = os.readlink(pointer) if pointer.is_symlink() else None
    swap.symlink_to(run.name)
    _checkpoint("pointer")
    os.replace(swap, pointer)
    _fsync(folder)
    _checkpoint("committed")
    if replaced is not None:
        _remove(folder / replaced)
    return run


def _adopt_legacy(folder: Path) -> None:
    """Turn a partition of the old layout (files directly in `as_of=…/`) into a run. The
    files are hard-linked, so they exist until the pointer does, whenever this stops."""
    if (folder / CURRENT).is_symlink() or not (folder / FILES["scores"]).exists():
        return
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    for file in FILES.values():
        if (folder / file).exists():
            os.link(folder / file, staging / file)
    _commit(folder, staging, "legacy")
    for file in FILES.values():
        (folder / file).unlink(missing_ok=True)
    logger.warning("Converted %s from the old layout to a run and its pointer", folder)


def recover(root: Path) -> None:
    """Remove what killed writers left: staging folders, runs no pointer names, half-made
    pointers; adopt partitions of the old layout. Call with the lock held."""
    for retired in root.glob(".retired-as_of=*"):  # the old layout's swap, cut in half
        partition = root / retired.name.removeprefix(".retired-").rsplit("-", 1)[0]
        if not partition.exists():
            retired.rename(partition)
    removed = [*root.glob(".retired-as_of=*"), *root.glob(".staging-*")]
    for folder in root.glob("as_of=*"):
        _adopt_legacy(folder)
        pointer = folder / CURRENT
        keep = {CURRENT, os.readlink(pointer)} if pointer.is_symlink() else set()
        removed += [item for item in folder.iterdir() if item.name not in keep]
    for path in removed:
        _remove(path)
        logger.warning("Removed %s, left by a scoring run that did not finish", path)
    for folder in root.glob("as_of=*"):
        if not any(folder.iterdir()):
            folder.rmdir()


@contextmanager
def store_lock(root: Path, wait: bool = False) -> Iterator[None]:
    """Hold the store's writer lock: fail at once when another process holds it (or wait
    for it), record this pid, recover a dead writer's leftovers. Re-entrant in a process."""
    root.mkdir(parents=True, exist_ok=True)
    key = root.resolve()
    if key in _HELD:
        yield
        return
    with open(root / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            raise StoreLockedError(
                f"The score store {root} is being written by "
                f"{handle.read().strip() or 'another process'}. "
                "Wait for that run to end, or run with --params=scoring.wait_for_lock=true "
                "to queue behind it."
            ) from None
        handle.seek(0)
        if last := handle.read().strip():
            logger.warning("The last writer of %s (%s) did not finish; recovering", root, last)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} since {pd.Timestamp.now('UTC'):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        _HELD.add(key)
        try:
            recover(root)
            yield
        finally:
            _HELD.discard(key)
            handle.truncate(0)  # an empty lock file means the last writer finished


def write_run(root: Path, run: ScoreRun) -> Path:
    """Stage the run's files, then commit them as the `as_of`'s run. Call with the lock
    held."""
    folder = root / partition_name(run.as_of)
    folder.mkdir(parents=True, exist_ok=True)
    _checkpoint("before_staging")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    staging.chmod(0o755)
    try:
        run.scores.to_parquet(staging / FILES["scores"], index=False)
        _checkpoint("staging")
        run.reasons.to_parquet(staging / FILES["reasons"], index=False)
        run.runs_row().to_parquet(staging / FILES["runs"], index=False)
        run.drift.to_parquet(staging / FILES["drift"], index=False)
        run.distribution.to_parquet(staging / FILES["distribution"], index=False)
    except BaseException:
        shutil.rmtree(staging)
        raise
    return _commit(folder, staging, pd.Timestamp.now("UTC").strftime("%Y%m%dT%H%M%SZ"))


def save_run(root: Path, database: Path, run: ScoreRun, wait: bool = False) -> Path:
    """Write one run to the store and keep the DuckDB views on it."""
    with store_lock(root, wait):
        ensure_views(root, database, run.feature_labels)
        return write_run(root, run)


class ScoreStoreDataset(AbstractDataset[ScoreRun, pd.DataFrame]):
    """Save a `ScoreRun`; load every `as_of`'s current run of the scores or (with `table`)
    of another of its tables: `reasons` (the long-format contributions), `runs` (horizon and
    data end), `drift`. `lock()` holds the writer lock for a whole Kedro run (see
    `tier_ml.hooks`)."""

    def __init__(
        self,
        path: str,
        duckdb_path: str,
        table: str = "scores",
        wait_for_lock: bool = False,
        metadata: dict | None = None,
    ):
        self._root = Path(path)
        self._database = Path(duckdb_path)
        self._table = table
        self._wait = wait_for_lock
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_scores(self._root, self._table)

    def save(self, data: ScoreRun) -> None:
        save_run(self._root, self._database, data, self._wait)

    def lock(self) -> AbstractContextManager[None]:
        return store_lock(self._root, self._wait)

    def _exists(self) -> bool:
        return bool(current_runs(self._root))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root), "duckdb_path": str(self._database)}


class ScoreRunsDataset(AbstractDataset[None, dict[pd.Timestamp, Callable[[], pd.DataFrame]]]):
    """Each `as_of`'s current scores (or, with `table`, another of its tables), read only when
    called (as `PartitionedDataset` does), so that scoring reads the one run it compares
    with."""

    def __init__(self, path: str, table: str = "scores", metadata: dict | None = None):
        self._root = Path(path)
        self._table = table
        self.metadata = metadata

    def load(self) -> dict[pd.Timestamp, Callable[[], pd.DataFrame]]:
        return {
            as_of: partial(read_table, run, self._table)
            for as_of, run in current_runs(self._root).items()
        }

    def save(self, data: None) -> None:
        raise DatasetError("ScoreRunsDataset is read-only; save through ScoreStoreDataset")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root), "table": self._table}
