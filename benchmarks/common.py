"""Helpers shared by the benchmarks: synthetic data on disk, peak memory, JSON lines, a timed
Spark session."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.config import OmegaConfigLoader

from tier_ml.features.build import auto_cutoffs, data_start, training_cutoffs
from tier_ml.features.config import FeatureParams
from tier_ml.models.inputs import with_model_outputs
from tier_ml.models.training import TrainParams, training_table
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


def shipped_train(horizon_days: int, max_rows: int | None = None) -> TrainParams:
    """The shipped `train` parameters; `max_rows` replaces `train.sampling.max_rows` (0: every
    row), to measure what the row budget costs or buys."""
    params = TrainParams.from_dict(shipped("train"), horizon_days)
    if max_rows is None:
        return params
    return replace(params, sampling=replace(params.sampling, max_rows=max_rows or None))


SHARD_CUSTOMERS = 1_000_000
TABLES = ("customers", "deals", "activities")


def synthetic_on_disk(n_customers: int) -> Path:
    """Generate (once) and store a synthetic CRM of `n_customers` as Parquet; return its folder.
    Above a million customers it is generated a million at a time (shard k: seed 7 + k, its
    ids prefixed `k-`), each table a folder of Parquet files named like the single file, which
    pandas and Spark read alike: 10 M customers' tables (~40 GB in pandas) never sit in
    memory at once."""
    folder = CACHE / f"synthetic_{n_customers}"
    if folder.exists():
        return folder
    partial = folder.with_name(f"{folder.name}.partial")  # an interrupted run leaves only this
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if n_customers <= SHARD_CUSTOMERS:
        crm = generate_crm(SyntheticSpec(n_customers=n_customers))
        for name, table in zip(TABLES, crm, strict=True):
            table.to_parquet(partial / f"{name}.parquet")
    else:
        for name in TABLES:
            (partial / f"{name}.parquet").mkdir()
        for k in range(-(-n_customers // SHARD_CUSTOMERS)):
            size = min(SHARD_CUSTOMERS, n_customers - k * SHARD_CUSTOMERS)
            crm = generate_crm(SyntheticSpec(n_customers=size, seed=7 + k))
            for name, table in zip(TABLES, crm, strict=True):
                ids = [c for c in ("customer_id", "deal_id") if c in table.columns]
                shard = table.assign(**{c: f"{k}-" + table[c] for c in ids})
                shard.to_parquet(partial / f"{name}.parquet" / f"part-{k:03d}.parquet")
    partial.rename(folder)
    return folder


def shipped_cutoffs(
    deals: pd.DataFrame, activities: pd.DataFrame, data_end: pd.Timestamp
) -> list[pd.Timestamp]:
    """The training cutoffs the shipped `features.cutoffs` gives data that ends at
    `data_end`."""
    features = FeatureParams.from_dict(shipped("features"))
    if features.cutoff_count is None:
        return auto_cutoffs(data_start(deals, activities), data_end, features.horizon_days)[0]
    return training_cutoffs(
        data_end, features.horizon_days, features.cutoff_count, features.cutoff_step_months
    )


def training_input(
    n_customers: int, data_end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The feature table at the shipped cutoffs, the model input built from it (open-deal
    scoring, the baselines' scores) and the deals, as `fit_models` receives them."""
    features = FeatureParams.from_dict(shipped("features"))
    params = shipped_train(features.horizon_days)
    customers, deals, activities = load_crm(synthetic_on_disk(n_customers))
    cutoffs = shipped_cutoffs(deals, activities, data_end)
    table = training_table(customers, deals, activities, cutoffs, features.config, params)
    model_input = synthetic_model_input(table, deals, features, params)
    return table, model_input, deals


def synthetic_model_input(
    table: pd.DataFrame, deals: pd.DataFrame, features: FeatureParams, params: TrainParams
) -> pd.DataFrame:
    """The train pipeline's model input for synthetic data (no BG/NBD features)."""
    return with_model_outputs(
        table,
        deals,
        params.horizon_days,
        params.seed,
        False,
        params.scorecard,
        features.config,
        sampling=params.sampling,
    )


def load_crm(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return tuple(pd.read_parquet(folder / f"{t}.parquet") for t in TABLES)


def spark_crm(folder: Path) -> tuple:
    """The synthetic CRM as Spark reads a cluster's tables: from its files, by Spark, never
    through the driver's memory."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    return tuple(spark.read.parquet(str(folder / f"{t}.parquet")) for t in TABLES)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(**record) -> None:
    print(json.dumps(record), flush=True)
    sys.stdout.flush()


def start_spark(master: str, driver_memory: str) -> dict:
    """A Spark session (the one `features.engine` then uses), timed apart from the build; its
    Python workers run this environment's Python unless `PYSPARK_PYTHON` says otherwise."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    start = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.maxResultSize", "0")  # the features come back to the driver
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.range(1).count()
    return {
        "master": master,
        "driver_memory": driver_memory,
        "session_start_s": round(time.perf_counter() - start, 2),
    }


def _peak_mb(pid: int) -> float:
    """A process's peak resident memory (its /proc VmHWM), 0 where it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), "0 0")
    return int(line.split()[1]) / 1024


def _descendants(pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def spark_peak_rss_mb() -> dict[str, int]:
    """Peak resident memory of the Spark JVM and, summed (an upper bound of their peak
    together), of its Python workers still alive: this process's own peak includes
    neither."""
    from pyspark import SparkContext

    jvm = SparkContext._gateway.proc.pid
    return {
        "jvm_peak_rss_mb": round(_peak_mb(jvm)),
        "python_workers_peak_rss_mb_sum": round(sum(map(_peak_mb, _descendants(jvm)))),
    }
