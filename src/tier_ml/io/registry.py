"""Kedro datasets over the MLflow model registry.

Saving logs each trained model as an MLflow pyfunc (with signature and input example) in the
active run, registers it as `tier_ml_<kind>`, gives the new version the alias `candidate`, and
the very first version also `champion`. Loading returns the models under an alias (default
`champion`) or pinned versions; a model never registered is simply absent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from kedro.io import AbstractDataset
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

MODEL_PREFIX = "tier_ml_"
RUNTIME_PACKAGES = (
    "lightgbm",
    "scikit-learn",
    "scipy",
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "mlflow",
    "cloudpickle",
)
PACKAGE_DIR = Path(__file__).resolve().parents[1]
CANDIDATE, CHAMPION = "candidate", "champion"


class FittedModel(mlflow.pyfunc.PythonModel):
    """A tier_ml estimator as an MLflow pyfunc: `predict` is the estimator's own."""

    def __init__(self, estimator: Any):
        self.estimator = estimator

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.estimator.predict(model_input)


@dataclass(frozen=True)
class ModelToLog:
    """A model, what it is called in the registry, and rows that show its input."""

    kind: str
    python_model: mlflow.pyfunc.PythonModel
    input_example: pd.DataFrame


def _portable(example: pd.DataFrame) -> pd.DataFrame:
    """MLflow's schema inference predates pandas' `str` dtype: hand it objects."""
    return example.astype(
        {
            c: "object"
            for c in example.columns
            if example[c].dtype == "str" or example[c].dtype == "category"
        }
    )


def pip_requirements() -> list[str]:
    """The exact runtime versions of this environment (faster and surer than inference)."""
    return [f"{p}=={installed_version(p)}" for p in RUNTIME_PACKAGES]


def log_and_register(model: ModelToLog) -> int:
    """Log in the active run, register, and set aliases. Returns the new version."""
    name = MODEL_PREFIX + model.kind
    example = _portable(model.input_example)
    signature = infer_signature(example, model.python_model.predict(None, example))
    info = mlflow.pyfunc.log_model(
        name=model.kind,
        python_model=model.python_model,
        signature=signature,
        input_example=example,
        registered_model_name=name,
        pip_requirements=pip_requirements(),
        code_paths=[str(PACKAGE_DIR)],
    )
    version = int(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(name, CANDIDATE, version)
    if champion_version(name) is None:
        client.set_registered_model_alias(name, CHAMPION, version)
    logger.info("Registered %s version %d (alias %s)", name, version, CANDIDATE)
    return version


def champion_version(name: str, alias: str = CHAMPION) -> int | None:
    try:
        return int(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_registered(kind: str, alias: str = CHAMPION, version: int | None = None) -> Any | None:
    """The estimator registered as `tier_ml_<kind>` under `alias` (or `version`), or None."""
    name = MODEL_PREFIX + kind
    if version is None and champion_version(name, alias) is None:
        return None
    uri = f"models:/{name}/{version}" if version else f"models:/{name}@{alias}"
    python_model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    return getattr(python_model, "estimator", python_model)


class RegisteredModelsDataset(AbstractDataset[list[ModelToLog], dict[str, Any]]):
    """Save: log and register a list of models. Load: {kind: estimator} under an alias."""

    def __init__(
        self,
        kinds: list[str],
        alias: str = CHAMPION,
        versions: dict[str, int] | None = None,
        metadata: dict | None = None,
    ):
        self._kinds = list(kinds)
        self._alias = alias
        self._versions = {k: int(v) for k, v in (versions or {}).items() if v}
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        loaded = {k: load_registered(k, self._alias, self._versions.get(k)) for k in self._kinds}
        return {k: v for k, v in loaded.items() if v is not None}

    def save(self, data: list[ModelToLog]) -> None:
        for model in data:
            log_and_register(model)

    def _describe(self) -> dict[str, Any]:
        return {"kinds": self._kinds, "alias": self._alias, "versions": self._versions}


class ChampionAliasDataset(AbstractDataset[dict, dict]):
    """Save a promotion decision: when it says promote, `champion` moves to the `candidate`
    version of every kind. Load: the current champion versions."""

    def __init__(self, kinds: list[str], metadata: dict | None = None):
        self._kinds = list(kinds)
        self.metadata = metadata

    def load(self) -> dict:
        return {k: champion_version(MODEL_PREFIX + k) for k in self._kinds}

    def save(self, data: dict) -> None:
        if not data.get("promote"):
            return
        client = MlflowClient()
        for kind in self._kinds:
            name = MODEL_PREFIX + kind
            version = champion_version(name, CANDIDATE)
            if version is not None:
                client.set_registered_model_alias(name, CHAMPION, version)
                logger.info("Promoted %s version %d to %s", name, version, CHAMPION)

    def _describe(self) -> dict[str, Any]:
        return {"kinds": self._kinds}
