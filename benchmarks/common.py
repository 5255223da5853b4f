"""Helpers shared by the benchmarks: synthetic data on disk, peak memory, JSON lines."""

from __future__ import annotations

import json
import resource
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.config import OmegaConfigLoader

from tier_ml.settings import CONFIG_LOADER_ARGS
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm

CACHE = Path("data/01_raw/bench")
CONF = Path(__file__).resolve().parents[1] / "conf"


@cache
def _shipped_parameters() -> dict[str, Any]:
    return OmegaConfigLoader(str(CONF), env="base", **CONFIG_LOADER_ARGS)["parameters"]


def shipped(key: str) -> dict[str, Any]:
    """A top-level parameter as shipped in conf/base, resolved as `kedro run` resolves it
    (e.g. `language` from globals.yml): the defaults a user gets."""
    return _shipped_parameters()[key]


def synthetic_on_disk(n_customers: int) -> Path:
    """Generate (once) and store a synthetic CRM of `n_customers` as Parquet; return its folder."""
    folder = CACHE / f"synthetic_{n_customers}"
    if not (folder / "activities.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        customers, deals, activities = generate_crm(SyntheticSpec(n_customers=n_customers))
        customers.to_parquet(folder / "customers.parquet")
        deals.to_parquet(folder / "deals.parquet")
        activities.to_parquet(folder / "activities.parquet")
    return folder


def load_crm(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return tuple(
        pd.read_parquet(folder / f"{t}.parquet") for t in ("customers", "deals", "activities")
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(**record) -> None:
    print(json.dumps(record), flush=True)
    sys.stdout.flush()
