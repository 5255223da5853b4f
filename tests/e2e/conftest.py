"""A real `kedro run` of the whole default pipeline, in a copy of the project on tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT


def kedro(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "DO_NOT_TRACK": "1",
        "KEDRO_DISABLE_TELEMETRY": "true",
        "MPLBACKEND": "Agg",
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def copy_project(target: Path, *extra: str) -> Path:
    """The files a `kedro run` needs (and `extra` ones), copied to `target`."""
    for item in ("pyproject.toml", "conf", "src", *extra):
        source = PROJECT / item
        if source.is_dir():
            shutil.copytree(
                source, target / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy(source, target / item)
    return target


@pytest.fixture(scope="session")
def project_run(tmp_path_factory, empty_mlflow_db) -> Path:
    """The default pipeline on a small synthetic CRM, then a later scoring run, so that the
    report has tier changes to show. (A fresh clone's first run, which creates its MLflow
    store, is `test_example_crm`'s.)"""
    project = copy_project(tmp_path_factory.mktemp("project"), "notebooks")
    shutil.copy(empty_mlflow_db, project / "mlflow.db")
    small = "ingest.synthetic.n_customers=800"
    # trained and scored on data to 2025-09-30 (the champion is trained through then); three
    # months later new data arrives and the same champion scores it
    first = kedro(project, "run", f"--params={small},ingest.synthetic.end_date=2025-09-30")
    assert first.returncode == 0, first.stderr[-3000:]
    second = kedro(project, "run", "--pipelines=ingest,score,report", f"--params={small}")
    assert second.returncode == 0, second.stderr[-3000:]
    return project
