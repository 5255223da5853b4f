"""Feature build for one as_of on synthetic CRMs of 100k and 1M customers: wall time, peak RSS.

Each size runs in a fresh process so that its peak memory is its own. Prints JSON lines.
`--engine spark` runs the same SQL on a Spark session (`--master`, default local[2]; the
spark extra: `make install-spark`) and also reports the JVM's peak resident memory and the
session's start-up apart from the build. `--read spark` (with it) has Spark read the tables'
Parquet files itself, as a cluster job reads its own tables, rather than the driver loading
them into pandas: the way to 10 M customers (`--sizes 10000000`, generated a million at a
time) on a machine whose memory could not hold them.
Usage: python benchmarks/features.py [--sizes 100000 1000000] [--repeats 3]
       [--engine duckdb|spark] [--read pandas|spark] [--master local[2]]
       [--driver-memory 8g]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    emit,
    load_crm,
    peak_rss_mb,
    spark_crm,
    spark_peak_rss_mb,
    start_spark,
    synthetic_on_disk,
)
from tier_ml.features.build import DEFAULT_CONFIG, build_features  # noqa: E402

AS_OF = pd.Timestamp("2025-07-01")


def measure(
    n_customers: int, repeats: int, engine: str, read: str, master: str, driver_memory: str
) -> None:
    folder = synthetic_on_disk(n_customers)
    spark = start_spark(master, driver_memory) if engine == "spark" else {}
    customers, deals, activities = (spark_crm if read == "spark" else load_crm)(folder)
    rss_loaded = peak_rss_mb()
    config = replace(DEFAULT_CONFIG, engine=engine)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        features = build_features(customers, deals, activities, AS_OF, config)
        times.append(time.perf_counter() - start)
    if engine == "spark":
        spark |= spark_peak_rss_mb()
    emit(
        benchmark="features",
        method=engine,
        read=read,
        **spark,
        customers=n_customers,
        deals=deals.count() if read == "spark" else len(deals),
        activities=activities.count() if read == "spark" else len(activities),
        feature_rows=len(features),
        feature_columns=features.shape[1] - 2,
        repeats=repeats,
        wall_s_median=round(statistics.median(times), 2),
        wall_s_min=round(min(times), 2),
        peak_rss_mb=round(peak_rss_mb()),
        rss_after_load_mb=round(rss_loaded),
        target_wall_s=60 if n_customers >= 1_000_000 and engine == "duckdb" else None,
        target_peak_rss_mb=8192 if n_customers >= 1_000_000 and engine == "duckdb" else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--read", choices=["pandas", "spark"], default="pandas")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.read == "spark" and args.engine != "spark":
        parser.error("--read spark needs --engine spark")
    if args.child:
        measure(args.child, args.repeats, args.engine, args.read, args.master, args.driver_memory)
        return
    for size in args.sizes:
        subprocess.run(
            [
                *(sys.executable, __file__, "--child", str(size)),
                *("--repeats", str(args.repeats), "--engine", args.engine, "--read", args.read),
                *("--master", args.master, "--driver-memory", args.driver_memory),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
