"""Namespaces: two exports in one checkout share no score store, data folder, MLflow
experiment or registered model; the default namespace keeps `data/` and the `tier_ml_*`
names."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from mlflow.tracking import MlflowClient

from tests.conftest import PROJECT
from tests.pipelines.test_registry import Constant
from tests.test_score_store import run as score_run
from tier_ml.io.registry import FittedModel, ModelToLog
from tier_ml.namespace import data_root, registered_name
from tier_ml.settings import CONFIG_LOADER_ARGS


def loader(conf: Path, env: str) -> OmegaConfigLoader:
    config = OmegaConfigLoader(str(conf), env=env, **CONFIG_LOADER_ARGS)
    config.config_patterns["mlflow"] = ["mlflow*"]  # as kedro-mlflow adds it
    return config


def with_namespaces(tmp_path: Path, namespaces: list[str]) -> Path:
    """The shipped base configuration and one environment per namespace, each saying only
    its name, as a business unit's `conf/<env>/globals.yml` would."""
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT / "conf" / "base", conf / "base")
    for namespace in namespaces:
        (conf / namespace).mkdir()
        (conf / namespace / "globals.yml").write_text(f"namespace: {namespace}\n")
    return conf


def test_two_namespaces_keep_their_scores_and_models_apart(tracking, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = with_namespaces(tmp_path, ["north", "south"])
    model = ModelToLog("propensity", FittedModel(Constant()), pd.DataFrame({"x": [1.0, 2.0]}))
    catalogs = {
        namespace: DataCatalog.from_config(loader(conf, namespace)["catalog"])
        for namespace in ("north", "south")
    }
    for catalog, tier in zip(catalogs.values(), "AB", strict=True):
        catalog.save("score_store", score_run("2025-12-31", tier))
        with mlflow.start_run():
            catalog.save("candidate_models@estimators", [model])
    # north retrains and promotes; south's champion stays
    with mlflow.start_run():
        catalogs["north"].save("candidate_models@estimators", [model])
    catalogs["north"].save("promotion_decision", {"promote": True})

    for (namespace, catalog), tier, champion in zip(catalogs.items(), "AB", (2, 1), strict=True):
        assert catalog.load("score_store")["tier"].tolist() == [tier, "D"]
        assert (tmp_path / "data" / namespace / "07_model_output" / "scores").is_dir()
        assert catalog.load("promotion_decision")["propensity"] == champion
        config = loader(conf, namespace)["mlflow"]
        assert config["tracking"]["experiment"]["name"] == namespace
    assert not (tmp_path / "data" / "07_model_output").exists()  # the default's store
    models = {m.name for m in MlflowClient().search_registered_models()}
    assert models == {"north_propensity", "south_propensity"}


def test_the_shipped_environments_are_namespaces_and_the_default_keeps_data():
    expected = {"local": ("tier_ml", "data"), "cdnow": ("cdnow", "data/cdnow")}
    expected["maven_crm"] = ("maven_crm", "data/maven_crm")
    for env, (namespace, root) in expected.items():
        config = loader(PROJECT / "conf", env)
        catalog = config["catalog"]
        assert catalog["score_store"]["path"] == f"{root}/07_model_output/scores", env
        assert catalog["tier_report"]["dataset"]["filepath"].startswith(f"{root}/08_reporting/")
        assert catalog["scoring_models"]["namespace"] == namespace
        assert config["mlflow"]["tracking"]["experiment"]["name"] == namespace
    assert registered_name("tier_ml", "propensity") == "tier_ml_propensity"


@pytest.mark.parametrize("name", ["", "../x", "a b", "_x", "x/y"])
def test_a_namespace_that_cannot_name_a_folder_is_refused(name):
    with pytest.raises(ValueError, match="namespace"):
        data_root(name)
