"""Tier quality on data the defaults were not tuned to (JSON lines).

The user's own path: a CRM export read by the `crm_export` source with the shipped defaults,
only paths, `horizon_days` and the data end set. At each origin O the product runs as it
would had the export ended at O: training cutoffs derived from the history before O, the
champion chosen among the candidates on that history only, every candidate refitted on the
cutoffs whose label windows closed by O, and all of them scored at O. Then the truth:
what each customer bought in [O, O + H). Features at O see only records before O (the leakage
tests guarantee it), so the full export can be read once.

For the champion and every candidate: AUC, PR-AUC, Brier, ECE, normalised Gini and top-10 %
revenue capture at equal customer shares; for the champion, paired bootstrap intervals of its
difference to the best baseline on each metric; realised buyer rates per tier (quantile
policy). A last line checks the targets of issue 9 over the origins.

Usage: python benchmarks/quality.py [--data cdnow|synthetic|maven] [--draws 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import emit, shipped, shipped_train  # noqa: E402
from tier_ml.backtest import origin_model_input  # noqa: E402
from tier_ml.features.build import auto_cutoffs, data_start  # noqa: E402
from tier_ml.features.config import FeatureParams  # noqa: E402
from tier_ml.models.candidates import BASELINES  # noqa: E402
from tier_ml.models.inputs import use_btyd_features  # noqa: E402
from tier_ml.models.selection import origin_table  # noqa: E402
from tier_ml.models.training import evaluate_candidates, replay_at  # noqa: E402
from tier_ml.sources.adapters import load_source  # noqa: E402
from tier_ml.tiering import TIERS, Overlays, TierAssigner, TierPolicy, tier_inputs  # noqa: E402

DATASETS = {
    "cdnow": (91, ("1997-07-01", "1997-10-01", "1998-01-01", "1998-03-01")),
    "synthetic": (180, ("2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01")),
    "maven": (90, ("2017-07-01", "2017-08-01", "2017-09-01")),
}
METRICS = ("auc", "pr_auc", "brier", "ece", "normalized_gini", "top_decile_capture")
LOWER_IS_BETTER = {"brier", "ece"}


def cdnow_export(folder: Path) -> dict:
    """CDNOW as a user would export it in the contract's own shape: accounts and orders (each a
    won deal) with the contract's column names, commas and ISO dates, so only paths are set."""
    raw = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
    orders = pd.read_csv(raw, sep=r"\s+", dtype="str")
    orders.columns = ["customer_id", "date", "number_of_cds", "dollar_value"]
    dates = pd.to_datetime(orders["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d")
    first = dates.groupby(orders["customer_id"]).min()
    pd.DataFrame({"customer_id": first.index, "created_at": first.to_numpy()}).to_csv(
        folder / "customers.csv", index=False
    )
    pd.DataFrame(
        {
            "deal_id": [f"o{i}" for i in range(len(orders))],
            "customer_id": orders["customer_id"],
            "created_at": dates,
            "closed_at": dates,
            "status": "won",
            "amount": orders["dollar_value"],
        }
    ).to_csv(folder / "deals.csv", index=False)
    return {
        **shipped("ingest")["crm_export"],
        "customers_path": str(folder / "customers.csv"),
        "deals_path": str(folder / "deals.csv"),
        "data_end_date": "1998-06-30",
    }


def load(data: str, folder: Path):
    if data == "cdnow":
        return load_source("crm_export", cdnow_export(folder))
    if data == "maven":
        return load_source("maven_crm", shipped("ingest")["maven_crm"])
    return load_source("synthetic", shipped("ingest")["synthetic"])


def metrics_of(frame: pd.DataFrame, methods: list[str]) -> dict[str, dict[str, float]]:
    """Every metric of each method on `frame` (one origin), as the champion rule reads them."""
    return origin_table(frame, methods).set_index("method")[list(METRICS)].to_dict("index")


def signed(metric: str) -> int:
    """+1 where higher is better, -1 where lower is."""
    return -1 if metric in LOWER_IS_BETTER else 1


def paired_intervals(
    frame: pd.DataFrame, method: str, reference: str, draws: int, seed: int = 0
) -> dict[str, list[float]]:
    """95 % intervals of metric(method) - metric(reference) on every metric, customers
    resampled in pairs (one resample serves all metrics); positive is better."""
    rng = np.random.default_rng(seed)
    diffs = {m: [] for m in METRICS}
    for _ in range(draws):
        got = metrics_of(frame.iloc[rng.integers(0, len(frame), len(frame))], [method, reference])
        for m in METRICS:
            diffs[m].append(signed(m) * (got[method][m] - got[reference][m]))
    return {m: [float(x) for x in np.nanpercentile(v, [2.5, 97.5])] for m, v in diffs.items()}


def buyer_rates(frame: pd.DataFrame, method: str, rows: pd.DataFrame, horizon: int) -> list:
    """Realised buyer rate per tier under the shipped quantile policy (no overlays)."""
    policy = TierPolicy(
        kind="quantile",
        shares=shipped("scoring")["shares"],
        overlays=Overlays(inactivity_days=None, spend_threshold=None),
    )
    tiers = TierAssigner(policy).fit_assign(
        tier_inputs(rows, frame[f"value_{method}"].to_numpy(), horizon)
    )["tier"]
    rate = frame["won_any"].groupby(tiers.to_numpy()).mean()
    return [float(rate.get(t, np.nan)) for t in TIERS]


def replay(
    tables, origin: pd.Timestamp, horizon: int, draws: int, max_rows: int | None = None
) -> dict:
    """The product at `origin`, judged on [origin, origin + horizon)."""
    features = {**shipped("features"), "horizon_days": horizon}
    feature_params = FeatureParams.from_dict(features)
    params = shipped_train(horizon, max_rows)
    btyd = use_btyd_features(shipped("train")["btyd_features"], tables.deals)
    start = data_start(tables.deals, tables.activities)
    cutoffs, why = auto_cutoffs(start, origin, horizon)
    model_input = origin_model_input(
        tables.customers,
        tables.deals,
        tables.activities,
        cutoffs,
        origin,
        feature_params.config,
        params,
        btyd,
        tables.deal_history,
    )
    history = model_input[model_input["as_of"] < origin]
    selection = evaluate_candidates(history, params).selection
    at_origin = replay_at(model_input, origin, params)
    rows = at_origin[["customer_id"]].assign(as_of=origin).merge(model_input, how="left")
    methods = [c[2:] for c in at_origin.columns if c.startswith("p_")]
    by_method = metrics_of(at_origin, methods)
    baselines = [m for m in methods if m in BASELINES]
    best = {m: best_on(by_method, baselines, m) for m in METRICS}
    champion = selection.champion
    intervals = {
        b: paired_intervals(at_origin, champion, b, draws) for b in set(best.values()) - {champion}
    }
    return {
        "origin": origin.date().isoformat(),
        "cutoffs": why,
        "selection": selection.as_dict(),
        "customers": len(at_origin),
        "buy_rate": float(at_origin["won_any"].mean()),
        "metrics": by_method,
        "champion": champion,
        "best_baseline_per_metric": best,
        "champion_vs_best_baseline": {
            m: {
                "baseline": best[m],
                "difference": signed(m) * (by_method[champion][m] - by_method[best[m]][m]),
                "interval": intervals[best[m]][m] if best[m] != champion else [0.0, 0.0],
            }
            for m in METRICS
        },
        "champion_tier_buyer_rates": buyer_rates(at_origin, champion, rows, horizon),
    }


def best_on(by_method: dict, baselines: list[str], metric: str) -> str:
    """The baseline that does best on `metric` at this origin."""
    return max(baselines, key=lambda m: signed(metric) * by_method[m][metric])


def targets(results: list[dict]) -> dict:
    """Issue 9's targets over the origins, against the best baseline on each metric."""
    versus = [r["champion_vs_best_baseline"] for r in results]
    worse = [
        f"{r['origin']} {m} vs {v['baseline']}"
        for r, by_metric in zip(results, versus, strict=True)
        for m, v in by_metric.items()
        if v["interval"][1] < 0
    ]
    champion = [r["metrics"][r["champion"]] for r in results]
    return {
        "significantly_worse_than_best_baseline": worse,
        "mean_auc_gain": float(np.mean([v["auc"]["difference"] for v in versus])),
        "mean_gini_gain": float(np.mean([v["normalized_gini"]["difference"] for v in versus])),
        "ece_per_origin": [round(c["ece"], 4) for c in champion],
        "tiers_monotone": [
            bool(np.all(np.diff(r["champion_tier_buyer_rates"]) < 0)) for r in results
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(DATASETS), default="cdnow")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--origins", nargs="*", help="override the dataset's origins")
    parser.add_argument(
        "--max-rows", type=int, default=None, help="train.sampling.max_rows (0: every row)"
    )
    args = parser.parse_args()
    horizon, origins = DATASETS[args.data]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        tables = load(args.data, Path(folder))
    for origin in args.origins or origins:
        began = time.perf_counter()
        result = replay(tables, pd.Timestamp(origin), horizon, args.draws, args.max_rows)
        results.append(result)
        emit(
            benchmark="quality",
            data=args.data,
            seconds=round(time.perf_counter() - began, 1),
            **result,
        )
    emit(
        benchmark="quality_targets",
        data=args.data,
        horizon_days=horizon,
        max_rows_per_fit=shipped_train(horizon, args.max_rows).sampling.max_rows,
        **targets(results),
    )


if __name__ == "__main__":
    main()
