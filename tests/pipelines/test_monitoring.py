"""Drift and the model card through the real pipelines: a training logs its population and its
card in the run that registers the models; each scoring run measures drift against that
population and the previous run, keeps it beside its scores and in DuckDB, logs it to MLflow;
a shift planted in a second run raises the alert, in the store and in the report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_mlflow.io.artifacts import MlflowArtifactDataset
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from mlflow.tracking import MlflowClient

from tests.pipelines.conftest import KINDS, small_parameters, tracking_store
from tests.pipelines.test_score import _catalog
from tier_ml.cold_start import REASONS
from tier_ml.drift import SCORE_FEATURES, drift_overview
from tier_ml.io.keys import POOL
from tier_ml.io.registry import POOL_ARTIFACT, REFERENCE_ARTIFACT, RegisteredModelsDataset
from tier_ml.io.scores import CURRENT, partition_name
from tier_ml.model_card import model_card
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.score import create_pipeline as score_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline
from tier_ml.report.content import build_content
from tier_ml.report.html import render

pytestmark = pytest.mark.slow

LATER = "2025-12-31"


@dataclass(frozen=True)
class Trained:
    folder: Path
    params: dict
    catalog: DataCatalog
    run_id: str


def _artifact(folder: Path, name: str, kind: str) -> MlflowArtifactDataset:
    return MlflowArtifactDataset(dataset={"type": kind, "filepath": str(folder / name)})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, empty_mlflow_db) -> Iterator[Trained]:
    """One small training, tracked in its own SQLite store, with the catalog's MLflow
    artifacts for the reference population and the card."""
    folder = tmp_path_factory.mktemp("monitoring")
    before = mlflow.get_tracking_uri()
    with (
        pytest.MonkeyPatch.context() as patch,
        tracking_store(folder, patch, empty_mlflow_db),
    ):
        params = small_parameters(n_customers=600)
        catalog = _catalog(params, folder)
        catalog["drift_reference"] = _artifact(folder, REFERENCE_ARTIFACT, "pandas.ParquetDataset")
        catalog["cold_start_pool"] = _artifact(folder, POOL_ARTIFACT, "pandas.ParquetDataset")
        catalog["model_card"] = _artifact(folder, "model_card.json", "json.JSONDataset")
        catalog["model_card_markdown"] = _artifact(folder, "model_card.md", "text.TextDataset")
        with mlflow.start_run() as run:
            SequentialRunner().run(
                ingest_pipeline() + features_pipeline() + train_pipeline(), catalog
            )
        yield Trained(folder, params, catalog, run.info.run_id)
    mlflow.set_tracking_uri(before)


def _score(trained: Trained, as_of: str) -> str:
    """A scoring run at `as_of` with its drift metrics in MLflow; its run id."""
    catalog = trained.catalog
    catalog["params:scoring"] = MemoryDataset({**trained.params["scoring"], "as_of": as_of})
    catalog["drift_metrics"] = MlflowMetricsHistoryDataset(prefix="drift")
    with mlflow.start_run() as run:
        SequentialRunner().run(score_pipeline(), catalog)
    return run.info.run_id


def test_the_training_logs_its_population_and_its_card_beside_the_models(trained):
    logged = {a.path for a in MlflowClient().list_artifacts(trained.run_id)}
    assert {REFERENCE_ARTIFACT, POOL_ARTIFACT, "model_card.json", "model_card.md"} <= logged
    pool = RegisteredModelsDataset(KINDS).load()[POOL]  # comes with the champion
    pd.testing.assert_frame_equal(pool, trained.catalog["cold_start_pool"].load())
    # empty where it did not predict the cold starts better than the champion (the log says)
    assert list(pool.columns[-3:]) == ["rows", "won", "revenue"]
    assert set(pool["kind"]) <= set(REASONS)
    models = trained.catalog["trained_models"].load()
    reference = trained.catalog["drift_reference"].load()
    assert reference["feature"].unique().tolist() == [*models.features, *SCORE_FEATURES]
    assert reference.groupby("feature")["share"].sum().round(9).eq(1).all()

    card = trained.catalog["model_card"].load()
    tags = MlflowClient().get_model_version_by_alias("tier_ml_propensity", "champion").tags
    assert card["champion"]["method"] == tags["champion_method"] == models.champion.method
    assert card["training"]["trained_through"] == tags["trained_through"]
    assert card["training"]["cutoffs"] == tags["cutoffs"].split(",")
    assert card["champion"]["versions"]["propensity"] == 1
    profile = trained.catalog["data_profile"].load()
    assert (card["data"]["data_start"], card["data"]["data_end"]) == (
        profile["data_start"],
        profile["data_end"],
    )
    row = models.selection.table.set_index("method").loc[models.champion.method]
    held_out = {m["metric"]: m for m in card["held_out"]}
    assert held_out["auc"]["value"] == pytest.approx(row["auc"])
    assert held_out["auc"]["low"] <= held_out["auc"]["vs_best_baseline"] <= held_out["auc"]["high"]
    assert card["calibration"] == {"method": "platt", "ece": pytest.approx(row["ece"])}
    assert [c["method"] for c in card["candidates"]] == models.selection.table["method"].tolist()
    # the synthetic CRM has activities but no deal history
    codes = [limit["code"] for limit in card["limits"]]
    assert codes == ["no_deal_history"]
    assert "trained through " + tags["trained_through"] in trained.catalog[
        "model_card_markdown"
    ].load().replace("**", "")
    # the same training on an export without activities says so
    silent = model_card({**profile, "activities": 0}, models, {}, "platt", ("amount",))
    assert [limit["code"] for limit in silent["limits"]] == ["no_activities", "no_deal_history"]


def test_a_shift_planted_in_the_second_run_raises_the_drift_alert(trained):
    models = trained.catalog["trained_models"].load()
    first_as_of = models.trained_through
    _score(trained, str(first_as_of.date()))
    customers = trained.catalog["customers"].load()
    trained.catalog["customers"].save(
        customers.assign(annual_revenue=customers["annual_revenue"] * 20)
    )
    run_id = _score(trained, LATER)

    # the drift of each run is stored beside its scores and read through DuckDB
    folder = trained.folder / "scores" / partition_name(pd.Timestamp(LATER)) / CURRENT
    assert (folder / "drift.parquet").exists() and (folder / "distribution.parquet").exists()
    with duckdb.connect(str(trained.folder / "tier_ml.duckdb"), read_only=True) as con:
        drift = con.execute("select * from drift").df()
    first = drift[drift["as_of"] == first_as_of]
    assert first["against"].unique().tolist() == ["training"]  # nothing scored before it
    assert set(first["feature"]) == {*models.features, *SCORE_FEATURES}
    second = drift[drift["as_of"] == pd.Timestamp(LATER)].set_index(["against", "feature"])
    assert second.loc[("training", "annual_revenue"), "level"] == "alert"
    assert second.loc[("previous_run", "annual_revenue"), "level"] == "alert"
    assert second.loc[("previous_run", "industry"), "level"] == "stable"
    assert {("previous_run", f) for f in SCORE_FEATURES} <= set(second.index)

    # MLflow has every value of the scoring run
    metrics = MlflowClient().get_run(run_id).data.metrics
    assert metrics["drift.psi.previous_run.annual_revenue"] == pytest.approx(
        second.loc[("previous_run", "annual_revenue"), "psi"]
    )
    assert len([k for k in metrics if k.startswith("drift.psi.")]) == len(second)

    # customers with too little history took the pool stored with the champion where it
    # earned its place, else the champion's own estimate and reasons
    scores = trained.catalog["score_store"].load()
    latest = scores[scores["as_of"] == pd.Timestamp(LATER)].reset_index(drop=True)
    assert latest["cold_start"].any() and latest["no_purchases_yet"].any()
    pooled = latest["reason_1"].isin([r.en for r in REASONS.values()])
    if len(RegisteredModelsDataset(KINDS).load()[POOL]):
        assert pooled.equals(latest["cold_start"])
        cold = latest[latest["cold_start"]]
        pooled_values = set(np.round(cold["expected_value"], 6))
        assert len(pooled_values) < len(cold)  # one estimate per kind and group, shared
    else:
        assert not pooled.any()

    # the report opens with the alert and ends with the model card
    content = build_content(
        scores, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, "en", 5, 5, None, {}
    )
    overview = drift_overview(drift, pd.Timestamp(LATER), {"annual_revenue": "annual revenue"})
    card = trained.catalog["model_card"].load()
    html = render(replace(content, drift=overview, model_card=card))
    alert = html.split('data-testid="drift-alert">')[1].split("</p>")[0]
    assert "since the previous run: Annual revenue" in alert
    appendix = html.split('data-testid="model-card">')[1]
    assert card["training"]["trained_through"] in appendix
    assert 'data-code="no_deal_history"' in appendix
