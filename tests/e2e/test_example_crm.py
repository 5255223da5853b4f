"""The documented `--env` commands, run as a user runs them: in a fresh `git clone` of the
project with `../shared` beside it. A clone holds no MLflow store, so nothing can point at
artifacts that are not there; the worked CRM export runs the whole pipeline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PROJECT, SHARED_DATA
from tests.e2e.conftest import kedro

DOCUMENTED_ENVS = ("example_crm", "cdnow", "maven_crm")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The committed project, cloned; the data it reads from ../shared linked beside it."""
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside the project")
    root = tmp_path_factory.mktemp("fresh")
    (root / "shared").symlink_to(SHARED_DATA.parent)
    subprocess.run(["git", "clone", "--quiet", str(PROJECT), str(root / "tier_ml")], check=True)
    return root / "tier_ml"


def test_a_clone_carries_no_mlflow_store(clone):
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if f.endswith(".db") or f.startswith("mlruns/")]


def test_every_env_the_readme_runs_is_tested_here():
    """The README's command lines (not its prose examples) name only the envs tested here."""
    commands = [
        line.strip()
        for line in (PROJECT / "README.md").read_text().splitlines()
        if line.strip().startswith((".tools/bin/uv run kedro run --env=", "kedro run --env="))
    ]
    documented = {line.split("--env=")[1].split()[0] for line in commands}
    assert documented and documented <= {*DOCUMENTED_ENVS, "spark"}, documented


@pytest.mark.slow
@pytest.mark.parametrize("env", ["cdnow", "maven_crm"])
def test_the_real_data_envs_ingest_and_build_features_from_a_clone(clone, env):
    run = kedro(clone, "run", f"--env={env}", "--pipelines=ingest,features")
    assert run.returncode == 0, run.stderr[-3000:]
    profile = json.loads(
        (clone / "data" / env / "02_intermediate" / "data_profile.json").read_text()
    )
    assert profile["source"] == env and profile["customers"] > 0


@pytest.mark.slow
def test_the_worked_crm_export_runs_the_whole_pipeline_from_a_clone(clone):
    run = kedro(clone, "run", "--env=example_crm")
    assert run.returncode == 0, run.stderr[-3000:]
    data = clone / "data" / "example_crm"
    profile = json.loads((data / "02_intermediate" / "data_profile.json").read_text())
    assert profile["source"] == "crm_export" and profile["customers"] == 150
    assert set(pd.read_parquet(data / "02_intermediate" / "deals.parquet")["status"]) == {
        "won",
        "lost",
        "open",
    }
    assert (data / "08_reporting" / "tier_report.html").exists()
