"""Feature build for one as_of on synthetic CRMs of 100k and 1M customers: wall time, peak RSS.

Each size runs in a fresh process so that its peak memory is its own. Prints JSON lines.
Usage: python benchmarks/features.py [--sizes 100000 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import emit, load_crm, peak_rss_mb, synthetic_on_disk  # noqa: E402
from tier_ml.features.build import build_features  # noqa: E402

AS_OF = pd.Timestamp("2025-07-01")


def measure(n_customers: int, repeats: int) -> None:
    folder = synthetic_on_disk(n_customers)
    customers, deals, activities = load_crm(folder)
    rss_loaded = peak_rss_mb()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        features = build_features(customers, deals, activities, AS_OF)
        times.append(time.perf_counter() - start)
    emit(
        benchmark="features",
        method="duckdb",
        customers=n_customers,
        deals=len(deals),
        activities=len(activities),
        feature_rows=len(features),
        feature_columns=features.shape[1] - 2,
        repeats=repeats,
        wall_s_median=round(statistics.median(times), 2),
        wall_s_min=round(min(times), 2),
        peak_rss_mb=round(peak_rss_mb()),
        rss_after_load_mb=round(rss_loaded),
        target_wall_s=60 if n_customers >= 1_000_000 else None,
        target_peak_rss_mb=8192 if n_customers >= 1_000_000 else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.repeats)
        return
    for size in args.sizes:
        subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--repeats", str(args.repeats)],
            check=True,
        )


if __name__ == "__main__":
    main()
