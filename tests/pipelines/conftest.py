"""MLflow tracking on tmp_path, and a bare catalog for running the real pipelines."""

from __future__ import annotations

import mlflow
import pytest
from kedro.io import DataCatalog, MemoryDataset

from tests.conftest import base_parameters
from tier_ml.io.registry import RegisteredModelsDataset

KINDS = ["propensity", "ltv", "segments", "opportunity"]


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A fresh SQLite tracking store and an active run, as kedro-mlflow's hook provides."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("tier_ml_test")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def small_parameters(n_customers: int = 800, cutoffs: int = 20) -> dict:
    params = {name: base_parameters(name)[name]
              for name in ("ingest", "features", "train", "score", "backtest")
              if (base_parameters.__globals__["PROJECT"] / "conf" / "base"
                  / f"parameters_{name}.yml").exists()}
    params["ingest"]["synthetic"]["n_customers"] = n_customers
    params["features"]["cutoffs"]["count"] = cutoffs
    return params


def bare_catalog(params: dict) -> DataCatalog:
    datasets = {f"params:{k}": MemoryDataset(v) for k, v in params.items()}
    datasets["champion_models"] = RegisteredModelsDataset(KINDS, alias="champion")
    datasets["candidate_models"] = RegisteredModelsDataset(KINDS, alias="candidate")
    return DataCatalog(datasets)
