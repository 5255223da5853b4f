"""MLflow tracking on tmp_path, and a bare catalog for running the real pipelines."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.pickle import PickleDataset

from tests.conftest import PROJECT, base_parameters
from tier_ml.io.registry import AliasVersionsDataset, RegisteredModelsDataset

KINDS = ["propensity", "ltv", "segments", "opportunity", "scoring"]


@pytest.fixture
def tracking(tmp_path, monkeypatch, empty_mlflow_db):
    """A fresh SQLite tracking store and an active run, as kedro-mlflow's hook provides."""
    with tracking_store(tmp_path, monkeypatch, empty_mlflow_db) as uri:
        yield uri


@contextmanager
def tracking_store(folder: Path, monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> Iterator[str]:
    """A fresh SQLite tracking store in `folder` (a copy of `empty_db`), with every run ended
    afterwards."""
    shutil.copy(empty_db, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("tier_ml_test")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def small_parameters(n_customers: int = 800, cutoffs: int = 12) -> dict:
    """Every pipeline's shipped parameters, with a small synthetic CRM, a small fixed grid of
    monthly cutoffs, small trees and few bootstrap draws, for speed."""
    params = {}
    for path in sorted((PROJECT / "conf" / "base").glob("parameters_*.yml")):
        params.update(base_parameters(path.stem.removeprefix("parameters_")))
    params["ingest"]["synthetic"]["n_customers"] = n_customers
    params["features"]["cutoffs"] = {"count": cutoffs, "step_months": 1}
    params["train"]["propensity"]["lgbm"]["n_estimators"] = 60
    params["train"]["selection"]["bootstrap_draws"] = 50
    return params


def bare_catalog(params: dict, folder: Path | None = None) -> DataCatalog:
    """Parameters and the registry; with `folder`, the contract tables kept on disk so that
    later runs on the same catalog can read them."""
    datasets = {f"params:{k}": MemoryDataset(v) for k, v in params.items()}
    if folder is not None:
        for name in (
            "customers",
            "deals",
            "activities",
            "deal_history",
            "feature_table",
            "model_input_table",
        ):
            datasets[name] = ParquetDataset(filepath=str(folder / f"{name}.parquet"))
        datasets["trained_models"] = PickleDataset(filepath=str(folder / "trained_models.pkl"))
        datasets["data_profile"] = JSONDataset(filepath=str(folder / "data_profile.json"))
    datasets["champion_models"] = RegisteredModelsDataset(KINDS, alias="champion")
    datasets["candidate_models@estimators"] = RegisteredModelsDataset(KINDS, alias="candidate")
    datasets["candidate_models@versions"] = AliasVersionsDataset(KINDS, alias="candidate")
    return DataCatalog(datasets)
