"""How many threads tier_ml's own parallel work (LightGBM, TreeSHAP, the next-step search,
DuckDB's feature queries) uses when the user's LightGBM settings do not say."""

from __future__ import annotations

import os


def machine_threads() -> int:
    """`OMP_NUM_THREADS` where the operator set it (the usual cap for a job on a shared host,
    or for each of several processes on one machine), else the cores this process may run on
    (its CPU affinity, e.g. under `taskset`), else every core."""
    wanted = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1
