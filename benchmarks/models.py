"""Model benchmarks (JSON lines).

1. Training at 100k synthetic customers: time and peak memory of features at the training
   cutoffs, model input (open-deal scoring), and fitting every model.
2. CDNOW: the model against BG/NBD + Gamma-Gamma at the same origin and horizon, side by side
   (Spearman, MAE and normalised Gini of revenue; AUC of "buys in the horizon"), together with
   the other baselines. Each origin is a rolling-origin replay: training only on label windows
   closed by the origin.
Usage: python benchmarks/models.py [--only train|cdnow]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import emit, load_crm, peak_rss_mb, synthetic_on_disk  # noqa: E402
from tier_ml.backtest import replay_origin  # noqa: E402
from tier_ml.features.build import build_feature_table, training_cutoffs  # noqa: E402
from tier_ml.features.config import FeatureParams  # noqa: E402
from tier_ml.models.inputs import with_model_outputs  # noqa: E402
from tier_ml.models.split import time_split  # noqa: E402
from tier_ml.models.training import TrainParams, score_methods, train_models  # noqa: E402
from tier_ml.sources.adapters import load_source  # noqa: E402

CDNOW_ORIGINS = (("1997-10-01", 1, 6), ("1998-01-01", 2, 9))  # origin, valid cutoffs, cutoffs


def _params(name: str) -> dict:
    return yaml.safe_load((ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())[name]


def bench_training(n_customers: int = 100_000) -> None:
    features = FeatureParams.from_dict(_params("features"))
    params = TrainParams.from_dict(_params("train"), features.horizon_days)
    customers, deals, activities = load_crm(synthetic_on_disk(n_customers))
    cutoffs = training_cutoffs(
        pd.Timestamp("2025-12-31"), params.horizon_days, features.cutoff_count
    )
    timings = {}
    start = time.perf_counter()
    table = build_feature_table(
        customers, deals, activities, cutoffs, params.horizon_days, features.config
    )
    timings["features_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model_input = with_model_outputs(table, deals, params.horizon_days, params.seed, False)
    timings["model_input_s"] = time.perf_counter() - start
    start = time.perf_counter()
    split = time_split(cutoffs, params.horizon_days, params.valid_cutoffs, params.test_cutoffs)
    models = train_models(model_input, split, params)
    timings["fit_s"] = time.perf_counter() - start
    emit(
        benchmark="train",
        method="lightgbm",
        customers=n_customers,
        rows=len(model_input),
        cutoffs=len(cutoffs),
        **{k: round(v, 1) for k, v in timings.items()},
        total_s=round(sum(timings.values()), 1),
        peak_rss_mb=round(peak_rss_mb()),
        propensity_trees=models.propensity.best_iteration,
        ltv_model=models.ltv_kind,
    )


def bench_cdnow() -> None:
    features = FeatureParams.from_dict(_params("features"))
    base = TrainParams.from_dict(_params("train"), 91)
    data = load_source(
        "cdnow", {**_params("ingest")["cdnow"], "path": ROOT / _params("ingest")["cdnow"]["path"]}
    )
    for origin, valid_cutoffs, cutoffs in CDNOW_ORIGINS:
        params = replace(base, valid_cutoffs=valid_cutoffs)
        start = time.perf_counter()
        replay = replay_origin(
            data.customers,
            data.deals,
            data.activities,
            pd.Timestamp(origin),
            features.config,
            params,
            cutoffs,
            btyd=True,
        )
        seconds = time.perf_counter() - start
        for row in score_methods(replay.predictions).to_dict(orient="records"):
            emit(
                benchmark="cdnow",
                origin=origin,
                horizon_days=91,
                customers=len(replay.predictions),
                fit_and_score_s=round(seconds, 1),
                **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["train", "cdnow"])
    args = parser.parse_args()
    if args.only == "train":
        bench_training()
    elif args.only == "cdnow":
        bench_cdnow()
    else:  # each in its own process, so peak memory is its own
        for part in ("train", "cdnow"):
            subprocess.run([sys.executable, __file__, "--only", part], check=True)


if __name__ == "__main__":
    main()
