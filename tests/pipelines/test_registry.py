"""Registration is all or none: a failure part-way moves no alias and leaves no version."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from mlflow.tracking import MlflowClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.pipelines.conftest import KINDS
from tier_ml.io.registry import (
    FittedModel,
    ModelToLog,
    RegisteredModelsDataset,
    pip_requirements,
)


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


def _installed_with(requirements: list[str]) -> set[str]:
    """The distributions pip installs for `requirements` in a fresh environment: each and,
    recursively, what it requires (extras and other platforms' markers left out)."""
    wanted = [Requirement(r).name for r in requirements]
    seen: set[str] = set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            needed = Requirement(spec)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                wanted.append(needed.name)
    return seen


def _module_imports(path: Path) -> set[str]:
    """The top-level packages a module imports as it loads (not in its functions)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_a_registered_models_requirements_cover_what_loading_it_imports():
    """A platform serving the scoring model (a Spark cluster, an endpoint) installs only its
    pip requirements beside the shipped tier_ml code: every package that code imports when
    the model is loaded must be among them (or required by one), or it fails to load there."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; import tier_ml.portable, tier_ml.models.segments, "
            "tier_ml.models.opportunity; print(json.dumps([m.__file__ for n, m in "
            "sys.modules.items() if n.split('.')[0] == 'tier_ml']))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = set().union(*(_module_imports(Path(f)) for f in json.loads(loaded.stdout)))
    providers = metadata.packages_distributions()
    needed = {
        canonicalize_name(d)
        for name in imported - set(sys.stdlib_module_names) - {"tier_ml"}
        for d in providers[name]
    }
    missing = needed - _installed_with(pip_requirements())
    assert not missing, f"imported by the scoring model's code, not in its requirements: {missing}"
