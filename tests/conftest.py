"""Shared fixtures: project paths, the real data beside the repo, small synthetic CRMs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"


def base_parameters(name: str) -> dict:
    """A pipeline's parameters file as shipped in conf/base (its top-level keys)."""
    return yaml.safe_load((PROJECT / "conf" / "base" / f"parameters_{name}.yml").read_text())


def env_config(env: str, key: str = "parameters") -> dict:
    """Configuration as `kedro run --env=<env>` merges it: conf/<env> over conf/base."""
    from kedro.config import OmegaConfigLoader

    from tier_ml.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(PROJECT / "conf"), env=env, **CONFIG_LOADER_ARGS)
    loader.config_patterns.setdefault("mlflow", ["mlflow*"])  # as kedro-mlflow registers it
    return loader[key]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA
