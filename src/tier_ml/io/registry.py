"""Kedro datasets over the MLflow model registry.

Saving logs each trained model as an MLflow pyfunc (with signature and input example) in the
active run and registers it as `<namespace>_<kind>` (`tier_ml_propensity` in the default
namespace, see `tier_ml.namespace`); once all are registered, every new version
gets the alias `candidate`, and the very first version also `champion` (all or none). Loading
returns the models under an alias (default `champion`) or pinned versions; a model never
registered is simply absent. With the propensity model come its version's tags and the
distribution of its training population (`drift_reference.parquet`, logged in the run that
registered it), which scoring measures drift against, and the pooled estimate for customers
with too little history to model (`cold_start_pool.parquet`, see `tier_ml.cold_start`).
`AliasVersionsDataset` reads only the
version numbers: a node that takes it, transcoded with a registering output, runs after the
registration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from tier_ml.io.keys import POOL, REFERENCE, TAGS
from tier_ml.namespace import DEFAULT_NAMESPACE, registered_name

logger = logging.getLogger(__name__)

# what the shipped tier_ml code imports as a registered model loads (a test checks it)
RUNTIME_PACKAGES = (
    "lightgbm",
    "scikit-learn",
    "scipy",
    "pandas",
    "numpy",
    "numba",
    "pyarrow",
    "duckdb",
    "pandera",
    "sqlglot",
    "babel",
    "mlflow",
    "cloudpickle",
)
PACKAGE_DIR = Path(__file__).resolve().parents[1]
CANDIDATE, CHAMPION = "candidate", "champion"
REFERENCE_ARTIFACT = "drift_reference.parquet"  # the catalog's `drift_reference` file name
POOL_ARTIFACT = "cold_start_pool.parquet"  # the catalog's `cold_start_pool` file name


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
    tags: dict[str, str] = field(default_factory=dict)


def for_mlflow(example: pd.DataFrame) -> pd.DataFrame:
    """Text and categories as objects: MLflow's schema inference predates pandas' `str` dtype
    and has no categorical type (Spark's `createDataFrame` takes them so too)."""
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


def log_version(model: ModelToLog, namespace: str) -> int:
    """Log in the active run and register a new version, moving no alias. Returns it."""
    example = for_mlflow(model.input_example)
    signature = infer_signature(example, model.python_model.predict(None, example))
    info = mlflow.pyfunc.log_model(
        name=model.kind,
        python_model=model.python_model,
        signature=signature,
        input_example=example,
        registered_model_name=registered_name(namespace, model.kind),
        pip_requirements=pip_requirements(),
        code_paths=[str(PACKAGE_DIR)],
    )
    return int(info.registered_model_version)


def tag_version(model: ModelToLog, version: int, namespace: str) -> None:
    """Set the model's tags on its new version (separate from logging, so that a failure
    here still finds the version to delete)."""
    client = MlflowClient()
    for key, value in model.tags.items():
        client.set_model_version_tag(
            registered_name(namespace, model.kind), str(version), key, value
        )


def set_aliases(versions: dict[str, int], namespace: str) -> None:
    """`candidate` on each new version; `champion` too where a model has none yet."""
    client = MlflowClient()
    for kind, version in versions.items():
        name = registered_name(namespace, kind)
        client.set_registered_model_alias(name, CANDIDATE, version)
        if champion_version(name) is None:
            client.set_registered_model_alias(name, CHAMPION, version)
        logger.info("Registered %s version %d (alias %s)", name, version, CANDIDATE)


def delete_versions(versions: dict[str, int], namespace: str) -> None:
    """Undo a failed registration: no version of it stays behind to be promoted by mistake."""
    client = MlflowClient()
    for kind, version in versions.items():
        name = registered_name(namespace, kind)
        client.delete_model_version(name, str(version))
        logger.warning("Registration failed: deleted %s version %d", name, version)


def register_all(models: list[ModelToLog], namespace: str) -> dict[str, int]:
    """All models or none: aliases move only once every model is logged, and a failure
    part-way deletes this attempt's versions, so `candidate` never mixes two trainings."""
    versions: dict[str, int] = {}
    try:
        for model in models:
            versions[model.kind] = log_version(model, namespace)
            tag_version(model, versions[model.kind], namespace)
    except Exception:
        delete_versions(versions, namespace)
        raise
    set_aliases(versions, namespace)
    return versions


def alias_versions(kinds: list[str], alias: str, namespace: str) -> dict[str, int | None]:
    """The version each kind's alias points at (None where unset)."""
    return {k: champion_version(registered_name(namespace, k), alias) for k in kinds}


def champion_version(name: str, alias: str = CHAMPION) -> int | None:
    try:
        return int(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_registered(
    kind: str,
    alias: str = CHAMPION,
    version: int | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> Any | None:
    """The estimator registered as `<namespace>_<kind>` under `alias` (or `version`), or
    None."""
    name = registered_name(namespace, kind)
    if version is None and champion_version(name, alias) is None:
        return None
    uri = f"models:/{name}/{version}" if version else f"models:/{name}@{alias}"
    python_model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    return getattr(python_model, "estimator", python_model)


def registered_version(
    kind: str, alias: str, version: int | None, namespace: str
) -> ModelVersion | None:
    """The version `load_registered` would return (None when there is none)."""
    name = registered_name(namespace, kind)
    version = version or champion_version(name, alias)
    return None if version is None else MlflowClient().get_model_version(name, str(version))


def registered_tags(
    kind: str,
    alias: str = CHAMPION,
    version: int | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> dict:
    """The tags of the version `load_registered` would return ({} when there is none)."""
    found = registered_version(kind, alias, version, namespace)
    return {} if found is None else dict(found.tags)


def training_table(
    kind: str,
    artifact: str,
    alias: str = CHAMPION,
    version: int | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> pd.DataFrame:
    """A table logged in the run that registered the version `load_registered` would return
    (its training population, its cold-start pool): what scores with a model comes from that
    model's own training, even for a pinned version. Empty for a version trained before the
    table was logged."""
    found = registered_version(kind, alias, version, namespace)
    if found is None or not found.run_id:
        return pd.DataFrame()
    logged = {a.path for a in MlflowClient().list_artifacts(found.run_id)}
    if artifact not in logged:
        return pd.DataFrame()
    return pd.read_parquet(
        mlflow.artifacts.download_artifacts(run_id=found.run_id, artifact_path=artifact)
    )


class RegisteredModelsDataset(AbstractDataset[list[ModelToLog], dict[str, Any]]):
    """Save: log and register a list of models. Load: {kind: estimator} under an alias."""

    def __init__(
        self,
        kinds: list[str],
        alias: str = CHAMPION,
        versions: dict[str, int] | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        metadata: dict | None = None,
    ):
        self._kinds = list(kinds)
        self._alias = alias
        self._versions = {k: int(v) for k, v in (versions or {}).items() if v}
        self._namespace = namespace
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        loaded = {
            k: load_registered(k, self._alias, self._versions.get(k), self._namespace)
            for k in self._kinds
        }
        models = {k: v for k, v in loaded.items() if v is not None}
        if "propensity" in models:
            pinned = self._alias, self._versions.get("propensity"), self._namespace
            models[TAGS] = registered_tags("propensity", *pinned)
            models[REFERENCE] = training_table("propensity", REFERENCE_ARTIFACT, *pinned)
            models[POOL] = training_table("propensity", POOL_ARTIFACT, *pinned)
        return models

    def save(self, data: list[ModelToLog]) -> None:
        register_all(data, self._namespace)

    def _describe(self) -> dict[str, Any]:
        return {
            "kinds": self._kinds,
            "alias": self._alias,
            "versions": self._versions,
            "namespace": self._namespace,
        }


class AliasVersionsDataset(AbstractDataset[None, dict[str, int | None]]):
    """Read-only: {kind: version} under an alias, without loading any model."""

    def __init__(
        self,
        kinds: list[str],
        alias: str = CANDIDATE,
        namespace: str = DEFAULT_NAMESPACE,
        metadata: dict | None = None,
    ):
        self._kinds = list(kinds)
        self._alias = alias
        self._namespace = namespace
        self.metadata = metadata

    def load(self) -> dict[str, int | None]:
        return alias_versions(self._kinds, self._alias, self._namespace)

    def save(self, data: None) -> None:
        raise DatasetError("AliasVersionsDataset is read-only: registration saves the models")

    def _describe(self) -> dict[str, Any]:
        return {"kinds": self._kinds, "alias": self._alias, "namespace": self._namespace}


class ChampionAliasDataset(AbstractDataset[dict, dict]):
    """Save a promotion decision: when it says promote, `champion` moves to the `candidate`
    version of every kind. Load: the current champion versions."""

    def __init__(
        self, kinds: list[str], namespace: str = DEFAULT_NAMESPACE, metadata: dict | None = None
    ):
        self._kinds = list(kinds)
        self._namespace = namespace
        self.metadata = metadata

    def load(self) -> dict:
        return alias_versions(self._kinds, CHAMPION, self._namespace)

    def save(self, data: dict) -> None:
        if not data.get("promote"):
            return
        client = MlflowClient()
        for kind in self._kinds:
            name = registered_name(self._namespace, kind)
            version = champion_version(name, CANDIDATE)
            if version is not None:
                client.set_registered_model_alias(name, CHAMPION, version)
                logger.info("Promoted %s version %d to %s", name, version, CHAMPION)

    def _describe(self) -> dict[str, Any]:
        return {"kinds": self._kinds, "namespace": self._namespace}
