"""MLflow runs: training runs keep their experiment, scoring and report runs go to its
`_scoring` sibling; each run is named after what it did and its date, and tagged with the data
range and the git commit (none outside a git checkout)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from mlflow.tracking import MlflowClient

from tests.conftest import PROJECT
from tier_ml.pipelines.backtest import create_pipeline as backtest_pipeline
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.report import create_pipeline as report_pipeline
from tier_ml.pipelines.score import create_pipeline as score_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline
from tier_ml.tracking import RunPlan, git_commit, known_profile

PROFILE = {"data_start": "2023-01-01", "data_end": "2025-12-31"}
EVERYTHING = (
    ingest_pipeline()
    + features_pipeline()
    + train_pipeline()
    + backtest_pipeline()
    + score_pipeline()
    + report_pipeline()
)


def test_training_runs_keep_the_experiment_and_scoring_runs_go_to_their_own():
    nightly = RunPlan.of(ingest_pipeline() + score_pipeline(), {"scoring": {"as_of": None}})
    assert nightly.experiment("north") == "north_scoring"
    assert nightly.name(PROFILE) == "score 2025-12-31"
    assert nightly.tags(PROFILE) == {**PROFILE, "as_of": "2025-12-31"}

    default = RunPlan.of(EVERYTHING, {"scoring": {"as_of": "2026-01-05"}})
    assert default.experiment("north") == "north"
    assert default.name(PROFILE) == "train 2026-01-05"
    assert default.tags(PROFILE) == {**PROFILE, "as_of": "2026-01-05"}

    gate = RunPlan.of(backtest_pipeline(), {"scoring": {"as_of": None}})
    assert (gate.experiment("north"), gate.name(PROFILE)) == ("north", "backtest 2025-12-31")
    report = RunPlan.of(report_pipeline(), {"scoring": {"as_of": None}})
    assert report.experiment("north") == "north_scoring" and report.tags(PROFILE) == PROFILE
    assert report.name(None) == "report" and report.tags(None) == {}


def test_a_run_that_does_not_ingest_is_described_by_the_last_ingest_before_it_starts():
    catalog = DataCatalog({"data_profile": MemoryDataset(PROFILE)})
    assert known_profile(score_pipeline(), catalog) == PROFILE
    assert known_profile(ingest_pipeline() + score_pipeline(), catalog) is None  # saved later
    assert known_profile(score_pipeline(), DataCatalog({})) is None  # nothing ingested yet


def test_the_git_commit_is_read_in_a_checkout_and_absent_elsewhere(tmp_path, monkeypatch):
    assert git_commit(tmp_path) is None
    if (PROJECT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", git_commit(PROJECT) or "")
    monkeypatch.setenv("PATH", str(tmp_path))  # no git installed
    assert git_commit(PROJECT) is None


def copy_project(tmp_path: Path) -> Path:
    """The project's configuration beside the installed package, outside any git checkout."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT / "conf" / "base", project / "conf" / "base")
    (project / "conf" / "local").mkdir()
    (project / "src").mkdir()  # the package itself is the installed one
    shutil.copy(PROJECT / "pyproject.toml", project / "pyproject.toml")
    return project


def run_kedro(project: Path, pipelines: list[str], runtime_params: dict) -> None:
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=runtime_params) as session:
        session.run(pipeline_names=pipelines)


@pytest.mark.slow
def test_a_nightly_scoring_run_is_named_tagged_and_kept_out_of_the_training_runs(
    tracking, tmp_path, monkeypatch
):
    project = copy_project(tmp_path)
    monkeypatch.chdir(project)
    small = {"ingest": {"synthetic": {"n_customers": 150}}}
    run_kedro(project, ["ingest", "score"], small)  # no champion yet: rules only

    client = MlflowClient()
    training = client.get_experiment_by_name("tier_ml")
    scoring = client.get_experiment_by_name("tier_ml_scoring")
    assert client.search_runs([training.experiment_id]) == []
    (run,) = client.search_runs([scoring.experiment_id])
    profile = json.loads((project / "data/02_intermediate/data_profile.json").read_text())
    assert profile["data_start"] < profile["data_end"]
    assert run.info.run_name == f"score {profile['data_end']}"
    tags = run.data.tags
    assert tags["data_start"] == profile["data_start"]
    assert tags["data_end"] == tags["as_of"] == profile["data_end"]  # scoring.as_of: null
    assert "git_commit" not in tags  # the copy is no git checkout, and the run did not fail
