"""Training beside a CPU hog: the deployed LightGBM candidate (`fit_candidate(..., "model")`,
as `fit_models` fits it) on the model input of a synthetic CRM, timed on an idle machine and
beside busy processes, with OpenMP's passive wait (tier_ml's default) and its spinning one.

A scheduled job on a shared server must slow down with the load, not stall: spinning threads
that wait for a descheduled sibling burn their time slices. Each fit runs in a fresh process
(OMP_WAIT_POLICY is read when OpenMP starts), idle and then beside the hogs, under each wait
policy; a busy run whose process takes `--limit` times its idle process is stopped and
reported as such. The model input is built once per size and kept in the benchmark cache
(delete it after changing the shipped parameters). Prints JSON lines.
Usage: python benchmarks/busy.py [--customers 20000] [--hogs 1] [--limit 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import CACHE, emit, shipped, training_input  # noqa: E402
from tier_ml.features.config import FeatureParams  # noqa: E402
from tier_ml.models.candidates import fit_candidate  # noqa: E402
from tier_ml.models.training import TrainParams  # noqa: E402
from tier_ml.threads import machine_threads  # noqa: E402

DATA_END = pd.Timestamp("2025-12-31")
HOG = "while True: pass"


def model_input_on_disk(n_customers: int) -> Path:
    """The model input at the shipped cutoffs, built once."""
    path = CACHE / f"model_input_{n_customers}.parquet"
    if not path.exists():
        training_input(n_customers, DATA_END)[1].to_parquet(path)
    return path


def fit_once(path: Path) -> None:
    """The child: one deployment fit of the LightGBM candidate; prints its wall seconds."""
    horizon_days = FeatureParams.from_dict(shipped("features")).horizon_days
    params = TrainParams.from_dict(shipped("train"), horizon_days)
    rows = pd.read_parquet(path)
    start = time.perf_counter()
    fit_candidate(rows, "model", params.candidates)
    print(time.perf_counter() - start, flush=True)


def timed_fit(
    path: Path, wait_policy: str, hogs: int, limit_s: float | None = None
) -> tuple[float, float] | None:
    """Wall seconds of one fit, and of its whole process, in a fresh process beside `hogs`
    busy processes; None when the process passed `limit_s`."""
    busy = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    start = time.perf_counter()
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            env={**os.environ, "OMP_WAIT_POLICY": wait_policy},
            stdout=subprocess.PIPE,
            text=True,
            timeout=limit_s,
            check=True,
        )
        return float(child.stdout.split()[-1]), time.perf_counter() - start
    except subprocess.TimeoutExpired:
        return None
    finally:
        for process in busy:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--hogs", type=int, default=1, help="busy processes beside the fit")
    parser.add_argument("--limit", type=float, default=10, help="stop at this many idle times")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        fit_once(Path(args.child))
        return
    path = model_input_on_disk(args.customers)
    rows = len(pd.read_parquet(path, columns=["customer_id"]))
    for policy in ("PASSIVE", "ACTIVE"):
        idle, idle_process = timed_fit(path, policy, 0)
        busy = timed_fit(path, policy, args.hogs, args.limit * idle_process)
        emit(
            benchmark="train_beside_hog",
            customers=args.customers,
            rows=rows,
            threads=machine_threads(),
            hogs=args.hogs,
            omp_wait_policy=policy,
            idle_s=round(idle, 1),
            busy_s=None if busy is None else round(busy[0], 1),
            slowdown=None if busy is None else round(busy[0] / idle, 2),
            stopped_after_s=round(args.limit * idle_process, 1) if busy is None else None,
        )


if __name__ == "__main__":
    main()
