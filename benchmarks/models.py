"""Model benchmarks (JSON lines).

1. Training at 100k synthetic customers: time and peak memory of features at the training
   cutoffs, model input (open-deal scoring, baselines' scores), evaluating every candidate at
   rolling origins with the champion rule, and refitting the champion on every cutoff.
2. CDNOW: every candidate (the model, the stacked model, BG/NBD + Gamma-Gamma, RFM quintiles,
   the scorecard, last-period revenue) replayed at each origin, side by side: fitted only on
   label windows closed by the origin (cutoffs chosen as `features.cutoffs: auto` does), judged
   on the next 91 days; then the champion rule on that origin's paired bootstrap.
Usage: python benchmarks/models.py [--only train|cdnow] [--customers 100000] [--max-rows N]
       [--cdnow-customers N]   (a random sample of CDNOW customers, for a quick run)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    emit,
    load_crm,
    peak_rss_mb,
    shipped,
    shipped_cutoffs,
    shipped_train,
    synthetic_model_input,
    synthetic_on_disk,
)
from tier_ml.backtest import origin_model_input  # noqa: E402
from tier_ml.features.build import auto_cutoffs, data_start  # noqa: E402
from tier_ml.features.config import FeatureParams  # noqa: E402
from tier_ml.models.selection import (  # noqa: E402
    PRIMARY,
    choose_champion,
    methods_of,
    origin_table,
)
from tier_ml.models.training import (  # noqa: E402
    TrainParams,
    evaluate_candidates,
    refit_champion,
    replay_at,
    training_table,
)
from tier_ml.sources.adapters import load_source  # noqa: E402

CDNOW_ORIGINS = ("1997-10-01", "1998-01-01")
CDNOW_HORIZON = 91
DATA_END = pd.Timestamp("2025-12-31")


def _rounded(row: dict) -> dict:
    return {
        k: (round(v, 4) if isinstance(v, float) else v.date().isoformat())
        if isinstance(v, float | pd.Timestamp)
        else v
        for k, v in row.items()
    }


def bench_training(n_customers: int = 100_000, max_rows: int | None = None) -> None:
    """`max_rows`: `train.sampling.max_rows` instead of the shipped one (0: every row)."""
    features = FeatureParams.from_dict(shipped("features"))
    params = shipped_train(features.horizon_days, max_rows)
    customers, deals, activities = load_crm(synthetic_on_disk(n_customers))
    cutoffs = shipped_cutoffs(deals, activities, DATA_END)
    timings = {}
    start = time.perf_counter()
    table = training_table(customers, deals, activities, cutoffs, features.config, params)
    timings["features_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model_input = synthetic_model_input(table, deals, features, params)
    timings["model_input_s"] = time.perf_counter() - start
    start = time.perf_counter()
    evaluation = evaluate_candidates(model_input, params)
    timings["evaluate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    models = refit_champion(model_input, evaluation.selection, params)
    timings["refit_s"] = time.perf_counter() - start
    propensity = models.champion.propensity
    emit(
        benchmark="train",
        customers=n_customers,
        rows=len(model_input),
        max_rows_per_fit=params.sampling.max_rows,
        cutoffs=len(cutoffs),
        origins=evaluation.selection.origins,
        **{k: round(v, 1) for k, v in timings.items()},
        total_s=round(sum(timings.values()), 1),
        peak_rss_mb=round(peak_rss_mb()),
        champion=models.champion.method,
        reason=evaluation.selection.reason,
        trained_through=models.trained_through.date().isoformat(),
        propensity_trees=getattr(propensity, "best_iteration", None),
        at_origins=_means_at_origins(evaluation.selection.table),
    )


def _means_at_origins(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each candidate's primary metrics averaged over the origins, to see what a row budget
    costs in accuracy."""
    return {
        row["method"]: {m: round(float(row[m]), 4) for m in PRIMARY}
        for row in table.to_dict(orient="records")
    }


def bench_cdnow(n_customers: int | None = None) -> None:
    features = FeatureParams.from_dict(shipped("features"))
    params = TrainParams.from_dict(shipped("train"), CDNOW_HORIZON)
    data = load_source(
        "cdnow", {**shipped("ingest")["cdnow"], "path": ROOT / shipped("ingest")["cdnow"]["path"]}
    )
    customers, deals, activities = data.customers, data.deals, data.activities
    if n_customers is not None:
        ids = customers["customer_id"].sample(n_customers, random_state=params.seed)
        customers = customers[customers["customer_id"].isin(ids)]
        deals = deals[deals["customer_id"].isin(ids)]
        activities = activities[activities["customer_id"].isin(ids)]
    first = data_start(deals, activities)
    for origin in map(pd.Timestamp, CDNOW_ORIGINS):
        start = time.perf_counter()
        cutoffs, why = auto_cutoffs(first, origin, CDNOW_HORIZON)
        model_input = origin_model_input(
            customers, deals, activities, cutoffs, origin, features.config, params, btyd=True
        )
        predictions = replay_at(model_input, origin, params)
        seconds = time.perf_counter() - start
        methods = methods_of(predictions)
        for row in origin_table(predictions, methods).to_dict(orient="records"):
            emit(
                benchmark="cdnow",
                horizon_days=CDNOW_HORIZON,
                training_cutoffs=len(cutoffs),
                fit_and_score_s=round(seconds, 1),
                **_rounded(row),
            )
        selection = choose_champion(
            predictions, f"origin {origin.date()}", params.bootstrap_draws, params.seed
        )
        champion = selection.table.set_index("method").loc[selection.champion]
        emit(
            benchmark="cdnow_selection",
            origin=origin.date().isoformat(),
            customers=int(len(predictions)),
            cutoffs=why,
            champion=selection.champion,
            best_baseline=selection.best_baseline,
            reason=selection.reason,
            **{
                k: round(float(champion[k]), 4)
                for k in selection.table.columns
                if k.endswith(("_vs_best_baseline", "_low", "_high")) and np.isfinite(champion[k])
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["train", "cdnow"])
    parser.add_argument("--customers", type=int, default=100_000, help="synthetic, for train")
    parser.add_argument("--cdnow-customers", type=int, default=None, help="a sample of CDNOW")
    parser.add_argument(
        "--max-rows", type=int, default=None, help="train.sampling.max_rows (0: every row)"
    )
    args = parser.parse_args()
    if args.only == "train":
        bench_training(args.customers, args.max_rows)
    elif args.only == "cdnow":
        bench_cdnow(args.cdnow_customers)
    else:  # each in its own process, so peak memory is its own
        for part in ("train", "cdnow"):
            command = [sys.executable, __file__, "--only", part, "--customers", str(args.customers)]
            if args.cdnow_customers:
                command += ["--cdnow-customers", str(args.cdnow_customers)]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
