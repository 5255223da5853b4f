"""The score store: runs behind one pointer per as_of, DuckDB views that follow the
pointers, one writer at a time, and readers that see a complete run whenever a writer dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from kedro.io import DatasetError

from tests.conftest import PROJECT
from tier_ml.io import scores as store
from tier_ml.io.scores import ScoreRun, ScoreRunsDataset, ScoreStoreDataset


def run(as_of: str, tier: str) -> ScoreRun:
    t = pd.Timestamp(as_of)
    scores = pd.DataFrame({"customer_id": ["a", "b"], "as_of": [t, t], "tier": [tier, "D"]})
    reasons = pd.DataFrame(
        {
            "customer_id": ["a"],
            "as_of": [t],
            "feature": ["x"],
            "value": [float("nan")],
            "category": [tier],
            "contribution": [0.1],
        }
    )
    return ScoreRun(t, scores, reasons, horizon_days=180, data_end=t)


@pytest.fixture
def dataset(tmp_path):
    return ScoreStoreDataset(str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb"))


def test_partitions_and_duckdb_tables(dataset, tmp_path):
    dataset.save(run("2025-01-01", "A"))
    dataset.save(run("2025-02-01", "B"))
    history = dataset.load()
    assert sorted(history["as_of"].dt.date.astype(str).unique()) == ["2025-01-01", "2025-02-01"]
    con = duckdb.connect(str(tmp_path / "tier_ml.duckdb"), read_only=True)
    assert con.execute("select count(*) from scores").fetchone() == (4,)
    assert con.execute("select count(*) from reasons").fetchone() == (2,)


def test_rerunning_an_as_of_replaces_its_partition(dataset):
    dataset.save(run("2025-01-01", "A"))
    dataset.save(run("2025-01-01", "C"))
    history = dataset.load()
    assert len(history) == 2 and history.loc[history["customer_id"] == "a", "tier"].item() == "C"


def test_a_failed_write_leaves_the_previous_partition(dataset, monkeypatch, tmp_path):
    dataset.save(run("2025-01-01", "A"))

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(run("2025-01-01", "C"))
    monkeypatch.undo()
    assert len(list(tmp_path.joinpath("scores", "as_of=2025-01-01").iterdir())) == 2  # run, pointer
    history = dataset.load()
    assert history.loc[history["customer_id"] == "a", "tier"].item() == "A"


def test_partition_name():
    assert store.partition_name(pd.Timestamp("2025-12-31")) == "as_of=2025-12-31"


def seen(tmp_path: Path) -> dict[str, list]:
    """What every kind of reader sees: the Parquet reader, the lazy runs, DuckDB's views."""
    root = tmp_path / "scores"
    scores = ScoreStoreDataset(str(root), str(tmp_path / "tier_ml.duckdb")).load()
    reasons = store.read_scores(root, "reasons")
    runs = ScoreRunsDataset(str(root)).load()
    with duckdb.connect(str(tmp_path / "tier_ml.duckdb"), read_only=True) as con:
        con.execute("set python_enable_replacements = false")  # not the local `scores`
        sql = con.execute("select tier from scores order by customer_id").fetchall()
        sql_reasons = con.execute("select category from reasons").fetchall()
    return {
        "parquet": scores.sort_values("customer_id")["tier"].tolist(),
        "parquet_reasons": reasons["category"].tolist(),
        "lazy": [t for load in runs.values() for t in load().sort_values("customer_id")["tier"]],
        "duckdb": [t for (t,) in sql],
        "duckdb_reasons": [v for (v,) in sql_reasons],
    }


def tiers_of(tier: str) -> dict[str, list]:
    """What `seen` returns while the run of `run("2025-01-01", tier)` is current."""
    return {
        "parquet": [tier, "D"],
        "parquet_reasons": [tier],
        "lazy": [tier, "D"],
        "duckdb": [tier, "D"],
        "duckdb_reasons": [tier],
    }


def copy_views_into_tables(database: Path) -> None:
    """The DuckDB file as the old layout wrote it: the runs copied into tables."""
    with duckdb.connect(str(database)) as con:
        for table in ("scores", "reasons"):
            con.execute(f"create table {table}_copy as select * from {table}")
            con.execute(f"drop view {table}")
            con.execute(f"alter table {table}_copy rename to {table}")


WRITER = """
import sys
from tests.test_score_store import run
from tier_ml.io.scores import ScoreStoreDataset
ScoreStoreDataset(sys.argv[1], sys.argv[2]).save(run("2025-01-01", "C"))
"""

# every step of a write, and the run a reader must see when the writer dies there
STEPS = {
    "duckdb": "A",
    "before_staging": "A",
    "staging": "A",
    "staged": "A",
    "pointer": "A",
    "committed": "C",
}


@pytest.mark.parametrize("step", STEPS)
def test_a_writer_killed_at_any_step_leaves_readers_on_a_complete_run(dataset, tmp_path, step):
    dataset.save(run("2025-01-01", "A"))
    if step == "duckdb":  # only a file that needs its views (re)made is written to
        copy_views_into_tables(tmp_path / "tier_ml.duckdb")
    killed = subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb")],
        cwd=PROJECT,
        env={**os.environ, store.KILL_AT: step},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert seen(tmp_path) == tiers_of(STEPS[step])
    # the next run removes what the killed one left, and its own run is what readers see
    dataset.save(run("2025-01-01", "B"))
    assert seen(tmp_path) == tiers_of("B")
    folder = tmp_path / "scores" / "as_of=2025-01-01"
    assert sorted(p.name.split("-")[0] for p in folder.iterdir()) == ["current", "run"]


HOLDER = """
import sys, time
from pathlib import Path
from tier_ml.io.scores import store_lock
with store_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process that holds the store's writer lock until it is killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "scores")],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "locked\n"
    yield process
    process.kill()
    process.wait()


def test_a_second_writer_fails_at_once_naming_the_first(dataset, tmp_path, holder):
    with pytest.raises(DatasetError, match=f"being written by pid {holder.pid} since"):
        dataset.save(run("2025-01-01", "C"))
    assert not (tmp_path / "scores" / "as_of=2025-01-01").exists()


def test_a_waiting_writer_goes_on_when_the_first_dies(tmp_path, holder):
    waiting = ScoreStoreDataset(
        str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb"), wait_for_lock=True
    )
    writer = threading.Thread(target=waiting.save, args=(run("2025-01-01", "C"),))
    writer.start()
    writer.join(timeout=1)
    assert writer.is_alive() and not (tmp_path / "scores" / "as_of=2025-01-01").exists()
    holder.send_signal(signal.SIGKILL)
    writer.join(timeout=30)
    assert seen(tmp_path) == tiers_of("C")


def test_the_old_layout_is_adopted_and_its_half_swaps_recovered(dataset, tmp_path):
    root = tmp_path / "scores"
    for folder, item in [
        ("as_of=2025-01-01", run("2025-01-01", "A")),  # a complete old partition
        (".retired-as_of=2025-02-01-4242", run("2025-02-01", "B")),  # killed mid-swap
        (".staging-x1y2", run("2025-03-01", "C")),  # killed while staging
    ]:
        (root / folder).mkdir(parents=True)
        item.scores.to_parquet(root / folder / "scores.parquet")
        item.reasons.to_parquet(root / folder / "reasons.parquet")
    dataset.save(run("2025-04-01", "D"))
    dates = ["2025-01-01", "2025-02-01", "2025-04-01"]
    assert sorted(dataset.load()["as_of"].dt.date.astype(str).unique()) == dates
    with duckdb.connect(str(tmp_path / "tier_ml.duckdb"), read_only=True) as con:
        found = con.execute("select distinct strftime(as_of, '%Y-%m-%d') from scores").fetchall()
    assert sorted(d for (d,) in found) == dates
    assert sorted(p.name for p in root.iterdir()) == [".lock", *(f"as_of={d}" for d in dates)]
    # runs from before drift monitoring have no drift or distribution: read as empty
    assert store.read_scores(root, "drift").empty
    assert ScoreRunsDataset(str(root), table="distribution").load()[pd.Timestamp(dates[0])]().empty


def test_previous_run_reads_only_the_latest_earlier_run():
    def unread() -> pd.DataFrame:
        raise AssertionError("read a run it does not need")

    wanted = run("2025-02-01", "B").scores
    runs = {
        pd.Timestamp("2025-01-01"): unread,
        pd.Timestamp("2025-02-01"): lambda: wanted,
        pd.Timestamp("2025-03-01"): unread,
    }
    assert store.previous_run(runs, pd.Timestamp("2025-03-01")) is wanted
    assert store.previous_run(runs, pd.Timestamp("2025-01-01")).empty
