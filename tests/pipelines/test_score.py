"""Scoring end to end: champion models from the registry, tiers, reasons, tier changes."""

from __future__ import annotations

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from tests.pipelines.conftest import KINDS, bare_catalog, small_parameters
from tier_ml.io.registry import ChampionAliasDataset, RegisteredModelsDataset
from tier_ml.io.scores import ScoreStoreDataset
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.score import create_pipeline as score_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline
from tier_ml.scoring import SCORE_COLUMNS

pytestmark = pytest.mark.slow


def _catalog(params: dict, tmp_path) -> DataCatalog:
    catalog = bare_catalog(params, tmp_path)
    store = ScoreStoreDataset(str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb"))
    catalog["score_history"] = store
    catalog["score_store"] = store
    catalog["scoring_models"] = RegisteredModelsDataset(KINDS, alias="champion")
    catalog["promotion_decision"] = ChampionAliasDataset(KINDS)
    return catalog


def _score(catalog: DataCatalog, params: dict, as_of: str) -> dict:
    catalog["params:scoring"] = MemoryDataset({**params["scoring"], "as_of": as_of})
    with mlflow.start_run():
        return SequentialRunner().run(score_pipeline(), catalog)


def test_score_twice_shows_tier_changes_with_reasons(tracking, tmp_path):
    params = small_parameters(n_customers=900)
    catalog = _catalog(params, tmp_path)
    with mlflow.start_run():
        SequentialRunner().run(ingest_pipeline() + features_pipeline() + train_pipeline(), catalog)
    first = _score(catalog, params, "2025-09-01")["scoring_summary"].load()
    assert first["customers_scored"]["value"] > 0 and first["rules_only"]["value"] == 0
    _score(catalog, params, "2025-12-31")
    history = catalog["score_history"].load()
    latest = history[history["as_of"] == pd.Timestamp("2025-12-31")]
    assert list(latest.columns) == SCORE_COLUMNS
    assert latest["customer_id"].is_unique
    earlier = history[history["as_of"] == pd.Timestamp("2025-09-01")].set_index("customer_id")
    known = latest[latest["customer_id"].isin(earlier.index)]
    np.testing.assert_array_equal(known["previous_tier"], earlier.loc[known["customer_id"], "tier"])
    moved = known[known["tier_change"].isin(["up", "down"])]
    assert len(moved) > 0 and moved["tier_change_reason"].str.len().gt(0).all()
    assert latest["reason_1"].notna().mean() > 0.5
    assert latest["p_win"].between(0, 1).all()
    # the partition and the DuckDB file agree
    con = duckdb.connect(str(tmp_path / "tier_ml.duckdb"), read_only=True)
    counts = con.execute(
        "select tier, count(*) from scores where as_of = '2025-12-31' group by 1 order by 1"
    ).fetchall()
    assert dict(counts) == latest["tier"].value_counts().to_dict()


def test_scoring_without_a_champion_uses_the_scorecard(tracking, tmp_path):
    params = small_parameters(n_customers=400)
    catalog = _catalog(params, tmp_path)
    SequentialRunner().run(ingest_pipeline() + features_pipeline(), catalog)
    summary = _score(catalog, params, "2025-12-31")["scoring_summary"].load()
    assert summary["rules_only"]["value"] == 1
    scores = catalog["score_history"].load()
    assert scores["p_win"].isna().all() and (scores["source"] == "rules").all()
    assert scores["tier"].value_counts().index.tolist()[0] in "ABCD"
    assert scores["reason_1"].notna().any()
