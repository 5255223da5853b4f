"""Registration is all or none: a failure part-way moves no alias and leaves no version."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from mlflow.tracking import MlflowClient

from tests.pipelines.conftest import KINDS
from tier_ml.io.registry import FittedModel, ModelToLog, RegisteredModelsDataset


class Constant:
    """The smallest estimator a pyfunc can wrap."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(x))


def _models() -> list[ModelToLog]:
    example = pd.DataFrame({"x": [1.0, 2.0]})
    return [ModelToLog(kind, FittedModel(Constant()), example) for kind in KINDS]


def _fail_on_third_model(monkeypatch) -> None:
    real, calls = mlflow.pyfunc.log_model, []

    def log_model(*args, **kwargs):
        calls.append(kwargs["name"])
        if len(calls) == 3:
            raise RuntimeError(f"registry unavailable while logging {kwargs['name']}")
        return real(*args, **kwargs)

    monkeypatch.setattr(mlflow.pyfunc, "log_model", log_model)


def _versions(kind: str) -> list[int]:
    return sorted(
        int(v.version) for v in MlflowClient().search_model_versions(f"name='tier_ml_{kind}'")
    )


def _alias(kind: str, alias: str) -> int:
    return int(MlflowClient().get_model_version_by_alias(f"tier_ml_{kind}", alias).version)


def test_a_failed_retraining_keeps_every_alias_and_adds_no_version(tracking, monkeypatch):
    dataset = RegisteredModelsDataset(KINDS, alias="candidate")
    with mlflow.start_run():
        dataset.save(_models())
    _fail_on_third_model(monkeypatch)
    with mlflow.start_run(), pytest.raises(DatasetError, match="registry unavailable"):
        dataset.save(_models())
    for kind in KINDS:
        assert _versions(kind) == [1]
        assert _alias(kind, "candidate") == _alias(kind, "champion") == 1


def test_a_failed_first_registration_leaves_no_champion(tracking, monkeypatch):
    _fail_on_third_model(monkeypatch)
    with mlflow.start_run(), pytest.raises(DatasetError, match="registry unavailable"):
        RegisteredModelsDataset(KINDS).save(_models())
    assert RegisteredModelsDataset(KINDS).load() == {}
    assert all(_versions(kind) == [] for kind in KINDS)
