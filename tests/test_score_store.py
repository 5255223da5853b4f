"""The score store: partitions by as_of, atomic replacement, DuckDB tables."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from kedro.io import DatasetError

from tier_ml.io import scores as store
from tier_ml.io.scores import ScoreRun, ScoreStoreDataset


def run(as_of: str, tier: str) -> ScoreRun:
    t = pd.Timestamp(as_of)
    scores = pd.DataFrame({"customer_id": ["a", "b"], "as_of": [t, t], "tier": [tier, "D"]})
    reasons = pd.DataFrame(
        {
            "customer_id": ["a"],
            "as_of": [t],
            "feature": ["x"],
            "value": ["1"],
            "contribution": [0.1],
        }
    )
    return ScoreRun(t, scores, reasons)


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
    assert [p.name for p in tmp_path.joinpath("scores").iterdir()] == ["as_of=2025-01-01"]
    history = dataset.load()
    assert history.loc[history["customer_id"] == "a", "tier"].item() == "A"


def test_partition_name():
    assert store.partition_name(pd.Timestamp("2025-12-31")) == "as_of=2025-12-31"
