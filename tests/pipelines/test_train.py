"""The train pipeline end to end: an MLflow run, registered models and their aliases."""

from __future__ import annotations

import mlflow
import pytest
from kedro.runner import SequentialRunner
from mlflow.tracking import MlflowClient

from tests.pipelines.conftest import KINDS, bare_catalog, small_parameters
from tier_ml.io.registry import load_registered
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline

pytestmark = pytest.mark.slow


def _run(params: dict) -> dict:
    pipeline = ingest_pipeline() + features_pipeline() + train_pipeline()
    with mlflow.start_run():
        return SequentialRunner().run(pipeline, bare_catalog(params))


def test_train_registers_every_model_with_aliases(tracking):
    params = small_parameters()
    outputs = _run(params)
    client = MlflowClient()
    for kind in KINDS:
        version = client.get_model_version_by_alias(f"tier_ml_{kind}", "candidate")
        assert int(version.version) == 1
        assert int(client.get_model_version_by_alias(f"tier_ml_{kind}", "champion").version) == 1
        assert client.get_model_version(f"tier_ml_{kind}", "1").run_id
    metrics = outputs["train_metrics"].load()
    assert {
        "model.auc",
        "rfm.auc",
        "scorecard.auc",
        "last_period_revenue.auc",
        "model.normalized_gini",
    } <= set(metrics)
    table = outputs["model_metrics"].load()
    assert {"model", "rfm", "scorecard", "last_period_revenue"} <= set(table["method"])

    # a second training: the new versions are candidates, the champion stays
    _run(params)
    for kind in KINDS:
        assert int(client.get_model_version_by_alias(f"tier_ml_{kind}", "candidate").version) == 2
        assert int(client.get_model_version_by_alias(f"tier_ml_{kind}", "champion").version) == 1
    champion = load_registered("propensity")
    assert hasattr(champion, "calibrator_")


# Too little data for a model (a baseline champion registered, scored and reported):
# tests/pipelines/test_lifecycle.py
