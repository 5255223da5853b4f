"""Shared fixtures: project paths, the real data beside the repo, small synthetic CRMs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
# Under `pytest -n N` each worker is one of N processes sharing the cores: one thread each
# (LightGBM, TreeSHAP, DuckDB and the kedro runs they start; `tier_ml.threads`), not one per
# core each, whose waits for a descheduled thread stall every worker on a busy machine.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"


def base_parameters(name: str) -> dict:
    """A pipeline's parameters file as shipped in conf/base (its top-level keys), resolved as
    kedro resolves them (e.g. `language` from globals.yml)."""
    keys = yaml.safe_load((PROJECT / "conf" / "base" / f"parameters_{name}.yml").read_text())
    resolved = env_config("base")
    return {key: resolved[key] for key in keys}


def env_config(env: str, key: str = "parameters") -> dict:
    """Configuration as `kedro run --env=<env>` merges it: conf/<env> over conf/base."""
    from kedro.config import OmegaConfigLoader

    from tier_ml.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(PROJECT / "conf"), env=env, **CONFIG_LOADER_ARGS)
    loader.config_patterns.setdefault("mlflow", ["mlflow*"])  # as kedro-mlflow registers it
    return loader[key]


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every Spark test (its JVM takes seconds to start and
    warm), with the feature engine's own settings on it; Python workers run this
    interpreter, as spark_udf needs."""
    pytest.importorskip("pyspark", reason="pyspark: the spark extra (make test installs it)")
    from pyspark.sql import SparkSession

    from tier_ml.features import engine

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield engine.spark_session()
    session.stop()
    engine.spark_session.cache_clear()


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables created. MLflow runs its Alembic migrations
    on every new store (2 to 3 s each); a test copies this one instead."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("mlflow_template")
    SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", str(folder / "mlruns")).engine.dispose()
    return folder / "mlflow.db"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


# Under `pytest -n N --dist loadgroup` (make test), tests that share an expensive
# session fixture run on one worker, so it is built once: the trained e2e project, the model
# tests' synthetic CRM and model input, the Spark session (one JVM).
SHARED_FIXTURE_GROUPS = {
    "tests/e2e/test_notebooks.py": "project_run",
    "tests/e2e/test_report_browser.py": "project_run",
    "tests/models/": "model_input",
    "tests/test_spark_features.py": "spark",
    "tests/pipelines/test_portable.py": "spark",
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups in its own hook
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.fspath).relative_to(PROJECT).as_posix()
        for prefix, group in SHARED_FIXTURE_GROUPS.items():
            if path.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
