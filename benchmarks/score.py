"""Scoring 1M synthetic customers end to end: features -> predictions -> tiers -> reasons ->
Parquet partition and DuckDB. Reports each phase's wall time and the peak memory, and compares
explanation throughput of tier_ml's compiled TreeSHAP with LightGBM's pred_contrib and
shap.TreeExplainer on the same model in the same run.

The LightGBM candidate (`fit_candidate(..., "model")`, fitted as it is deployed: on every
labelled cutoff) is trained with the project's defaults on a smaller synthetic CRM (the
model's size, not the training set's, sets the cost of scoring). Prints JSON lines.
`--spark-master local[2]` scores on Spark instead, as a cluster job scores its own tables:
Spark reads the CRM's files, the scoring rows are built there (`tier_ml.spark_scoring`) and
the portable scoring model runs through `spark_udf` (README "Portable model"; the spark
extra: `make install-spark`).
Usage: python benchmarks/score.py [--customers 1000000] [--train-customers 20000]
       [--spark-master local[2] [--driver-memory 8g]]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    emit,
    load_crm,
    peak_rss_mb,
    shipped,
    spark_crm,
    spark_peak_rss_mb,
    start_spark,
    synthetic_on_disk,
    training_input,
)
from tier_ml.features.config import FeatureParams  # noqa: E402
from tier_ml.features.registry import reason_registry  # noqa: E402
from tier_ml.io.registry import for_mlflow, pip_requirements  # noqa: E402
from tier_ml.io.scores import ScoreRun, save_run  # noqa: E402
from tier_ml.models.candidates import fit_candidate  # noqa: E402
from tier_ml.models.opportunity import fit_opportunity_model, opportunity_rows  # noqa: E402
from tier_ml.models.segments import SegmentModel  # noqa: E402
from tier_ml.models.training import TrainParams  # noqa: E402
from tier_ml.portable import SPARK_RESULT_TYPE, TierScoringModel  # noqa: E402
from tier_ml.scoring import (  # noqa: E402
    ScoringParams,
    score_customers,
    scoring_features,
    scoring_params,
)
from tier_ml.spark_scoring import scoring_rows  # noqa: E402
from tier_ml.tiering import TierAssigner  # noqa: E402
from tier_ml.treeshap import exact_contributions  # noqa: E402

AS_OF = pd.Timestamp("2025-12-31")


def trained_models(
    n_customers: int, features: FeatureParams, params: TrainParams
) -> tuple[dict, pd.DataFrame]:
    """The deployed LightGBM candidate, segments and opportunity model, and the latest
    training cutoff's rows (on which the scoring model fits its tier cut points)."""
    table, model_input, deals = training_input(n_customers, AS_OF)
    opportunity = fit_opportunity_model(
        opportunity_rows(deals, table, params.horizon_days, features.config),
        params.seed,
        sampling=params.sampling,
    )
    champion = fit_candidate(model_input, "model", params.candidates)
    latest = model_input[model_input["as_of"] == model_input["as_of"].max()]
    segments = SegmentModel(params.segment_k_range, seed=params.seed).fit(latest)
    models = {
        "propensity": champion.propensity,
        "ltv": champion.ltv,
        "segments": segments,
        "opportunity": opportunity,
    }
    return models, latest.reset_index(drop=True)


def _rows_per_s(explain, x, rows: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    values = np.asarray(explain(x))
    return rows / (time.perf_counter() - start), values


def explanation_throughput(models: dict, features: pd.DataFrame, rows: int) -> None:
    """tier_ml's compiled TreeSHAP, LightGBM's pred_contrib and shap.TreeExplainer on the same
    deployed model and rows, one after the other in this run: rates, ratios and agreement."""
    import shap

    propensity = models["propensity"]
    x = propensity.matrix(features[propensity.features_].head(rows))
    estimator = propensity.booster_
    exact_contributions(estimator, x.head(10))  # compiled trees and JIT, as in a scoring run
    ours_rate, ours = _rows_per_s(lambda m: exact_contributions(estimator, m), x, rows)
    lightgbm_rate, lightgbm_values = _rows_per_s(
        lambda m: estimator.predict(m, pred_contrib=True), x, rows
    )
    shap_rate, shap_values = _rows_per_s(
        lambda m: shap.TreeExplainer(estimator.booster_).shap_values(m), x, rows
    )
    emit(
        benchmark="explain",
        rows=rows,
        trees=estimator.booster_.num_trees(),
        features=len(propensity.features_),
        tier_ml_rows_per_s=round(ours_rate),
        lightgbm_pred_contrib_rows_per_s=round(lightgbm_rate),
        shap_tree_explainer_rows_per_s=round(shap_rate),
        ratio_vs_shap_tree_explainer=round(ours_rate / shap_rate, 2),
        ratio_vs_pred_contrib=round(ours_rate / lightgbm_rate, 2),
        max_abs_difference_vs_pred_contrib=float(np.abs(ours - lightgbm_values).max()),
        max_abs_difference_shap_vs_pred_contrib=float(
            np.abs(shap_values - lightgbm_values[:, :-1]).max()
        ),
        target_ratio=3,
    )


def emit_phases(method: str, customers: int, phases: dict[str, float], **extra) -> None:
    """One scoring pass: each phase's seconds, their total and the customers per second."""
    total = sum(phases.values())
    emit(
        benchmark="score",
        method=method,
        customers=customers,
        **{k: round(v, 1) for k, v in phases.items()},
        total_s=round(total, 1),
        customers_per_s=round(customers / total),
        **extra,
    )


def in_process(
    models: dict, crm: tuple, features: FeatureParams, train: dict, run_params
) -> pd.DataFrame:
    """The score pipeline's path: features, predictions, tiers, exact reasons and next steps,
    then the Parquet run and DuckDB views. Returns the feature table."""
    phases = {}
    start = time.perf_counter()
    table = scoring_features(
        *crm,
        AS_OF,
        features.config,
        features.horizon_days,
        models["opportunity"],
        False,
        train["scorecard"],
    )
    phases["features_s"] = time.perf_counter() - start
    start = time.perf_counter()
    scores, reasons, _ = score_customers(
        table, models, run_params, reason_registry(features.config), pd.DataFrame()
    )
    phases["predict_tier_explain_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=ROOT / "data" / "07_model_output") as folder:
        save_run(
            Path(folder) / "scores",
            Path(folder) / "tier_ml.duckdb",
            ScoreRun(AS_OF, scores, reasons, features.horizon_days, AS_OF),
        )
    phases["write_s"] = time.perf_counter() - start
    emit_phases(
        "end_to_end",
        len(scores),
        phases,
        reason_rows=len(reasons),
        trees=models["propensity"].booster_.booster_.num_trees(),
        peak_rss_mb=round(peak_rss_mb()),
        target_total_s=90,
        target_peak_rss_mb=6144,
    )
    return table


def on_spark(
    models: dict,
    latest: pd.DataFrame,
    crm: tuple,
    features: FeatureParams,
    train: dict,
    run_params: ScoringParams,
) -> None:
    """Scoring on Spark, as a cluster job scores its own tables: Spark reads the CRM's Parquet
    files, `spark_scoring.scoring_rows` builds the scoring model's input there (the feature
    SQL, the pipeline value and the baselines' scores), and the portable scoring model
    (`TierScoringModel` with the shipped scoring parameters and tier cut points fitted on the
    latest training cutoff, as registered, but without a cold-start pool) runs through
    `mlflow.pyfunc.spark_udf`: predictions, tiers, segments, exact reasons and next steps,
    written as Parquet by Spark. The total leaves out saving the model and creating the UDF
    (under a second)."""
    phases = {}
    start = time.perf_counter()
    rows = scoring_rows(
        *crm,
        AS_OF,
        replace(features.config, engine="spark"),
        models["opportunity"],
        train["scorecard"],
    )
    phases["rows_s"] = time.perf_counter() - start
    customers = rows.count()
    model = TierScoringModel(
        {k: models[k] for k in ("propensity", "ltv", "segments")},
        TierAssigner(run_params.policy),
        run_params,
        reason_registry(features.config, run_params.policy.language),
    )
    model.assigner.fit(pd.Series(model.estimates(latest, explain=False).tier_value))
    example = for_mlflow(rows.limit(5).toPandas())
    with tempfile.TemporaryDirectory(dir=ROOT / "data" / "07_model_output") as folder:
        mlflow.pyfunc.save_model(
            Path(folder) / "model",
            python_model=model,
            signature=infer_signature(example, model.predict(None, example)),
            pip_requirements=pip_requirements(),
        )
        udf = mlflow.pyfunc.spark_udf(
            rows.sparkSession, str(Path(folder) / "model"), result_type=SPARK_RESULT_TYPE
        )
        start = time.perf_counter()
        scored = rows.withColumn("out", udf(*rows.columns)).select("customer_id", "out.*")
        scored.write.parquet(str(Path(folder) / "scores"))
        phases["spark_udf_and_write_s"] = time.perf_counter() - start
    rows.unpersist()
    emit_phases(
        "spark_udf",
        customers,
        phases,
        driver_peak_rss_mb=round(peak_rss_mb()),
        **spark_peak_rss_mb(),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train-customers", type=int, default=20_000)
    parser.add_argument(
        "--spark-master", help="score on Spark instead (e.g. local[2]; needs the spark extra)"
    )
    parser.add_argument("--driver-memory", default="8g")
    args = parser.parse_args()
    features = FeatureParams.from_dict(shipped("features"))
    train = shipped("train")
    params = TrainParams.from_dict(train, features.horizon_days)
    models, latest = trained_models(args.train_customers, features, params)
    folder = synthetic_on_disk(args.customers)
    # the shipped scoring parameters as the score pipeline reads them (next step included)
    run_params = scoring_params(
        {**shipped("scoring"), "as_of": AS_OF}, shipped("features"), train, str(AS_OF.date()), False
    )
    if args.spark_master:
        emit(benchmark="spark_session", **start_spark(args.spark_master, args.driver_memory))
        on_spark(models, latest, spark_crm(folder), features, train, run_params)
        return
    table = in_process(models, load_crm(folder), features, train, run_params)
    explanation_throughput(models, table, rows=20_000)


if __name__ == "__main__":
    main()
