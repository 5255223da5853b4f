"""The deployed lifecycle through the real pipelines: the refitted champion's registered
versions carry `trained_through`, and scoring before it is refused; with too little data for a
model, the best baseline is chosen, registered, scored with money from its mapping, and the
report says so."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.text import TextDataset
from mlflow.tracking import MlflowClient

from tests.pipelines.conftest import KINDS, small_parameters
from tests.pipelines.test_score import _catalog, _score
from tier_ml.io.registry import load_registered
from tier_ml.io.scores import ScoreStoreDataset
from tier_ml.models.candidates import BASELINES, LABELS, BaselineModel
from tier_ml.pipelines.backtest import create_pipeline as backtest_pipeline
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.report import create_pipeline as report_pipeline
from tier_ml.pipelines.score import create_pipeline as score_pipeline
from tier_ml.pipelines.score.nodes import ScoredBeforeTraining
from tier_ml.pipelines.train import create_pipeline as train_pipeline

pytestmark = pytest.mark.slow


def _day(t) -> str:
    return pd.Timestamp(t).date().isoformat()


def test_versions_carry_trained_through_and_scoring_before_it_is_refused(tracking, tmp_path):
    params = small_parameters(n_customers=500)
    catalog = _catalog(params, tmp_path)
    with mlflow.start_run():
        SequentialRunner().run(ingest_pipeline() + features_pipeline() + train_pipeline(), catalog)
    cutoffs = sorted(catalog["model_input_table"].load()["as_of"].unique())
    assert len(cutoffs) == 12
    # the end of the last label window the refit used: the latest cutoff + the horizon
    trained_through = pd.Timestamp(cutoffs[-1]) + pd.Timedelta(days=180)
    assert trained_through <= pd.Timestamp(catalog["data_profile"].load()["data_end"])
    models = catalog["trained_models"].load()
    assert models.trained_through == trained_through and models.cutoffs == cutoffs
    client = MlflowClient()
    for kind in KINDS:
        tags = client.get_model_version_by_alias(f"tier_ml_{kind}", "champion").tags
        assert tags["trained_through"] == _day(trained_through), kind
        assert tags["champion_method"] == models.champion.method
        assert tags["cutoffs"].split(",") == [_day(t) for t in cutoffs]

    day_before = _day(trained_through - pd.Timedelta(days=1))
    with pytest.raises(ScoredBeforeTraining) as refused:
        _score(catalog, params, day_before)
    message = str(refused.value)
    assert f"scoring.as_of {day_before} is before the champion's trained_through" in message
    assert _day(trained_through) in message and "backtest pipeline" in message
    assert not (tmp_path / "scores").exists() or catalog["score_store"].load().empty

    # on trained_through itself the champion scores
    summary = _score(catalog, params, _day(trained_through))["scoring_summary"].load()
    assert summary["customers_scored"]["value"] > 0


def test_too_little_data_for_a_model_deploys_the_best_baseline_and_says_so(tracking, tmp_path):
    params = small_parameters(n_customers=500)
    params["train"]["minimum_data"]["positives"] = 10**6
    catalog = _catalog(params, tmp_path)
    catalog["score_reasons"] = ScoreStoreDataset(
        str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb"), table="reasons"
    )
    # kept after the run (a consumed output is not returned by the runner)
    catalog["champion_selection"] = JSONDataset(filepath=str(tmp_path / "selection.json"))
    for name in ("model_metrics", "backtest_tier_table"):
        catalog[name] = ParquetDataset(filepath=str(tmp_path / f"{name}.parquet"))
    catalog["tier_report"] = TextDataset(filepath=str(tmp_path / "tier_report.html"))
    pipeline = (
        ingest_pipeline()
        + features_pipeline()
        + train_pipeline()
        + backtest_pipeline()
        + score_pipeline()
        + report_pipeline()
    )
    with mlflow.start_run():
        SequentialRunner().run(pipeline, catalog)

    # the champion is the best baseline, chosen among baselines only
    selection = catalog["champion_selection"].load()
    champion = selection["champion"]
    assert champion in BASELINES and selection["baseline_is_champion"]
    assert champion == selection["best_baseline"]
    table = catalog["model_metrics"].load()
    assert set(table["method"]) <= set(BASELINES)
    assert table.set_index("method")["champion"].to_dict()[champion]
    assert json.dumps(selection)  # plain JSON for data/08_reporting

    # registered as propensity and ltv, like a model champion, tagged with its method
    baseline = load_registered("propensity")
    assert isinstance(baseline, BaselineModel) and baseline.method == champion
    tags = MlflowClient().get_model_version_by_alias("tier_ml_propensity", "champion").tags
    assert tags["champion_method"] == champion and tags["trained_through"]

    # scores come from that baseline, with a probability and money from its mapping
    scores = catalog["score_store"].load()
    assert len(scores) > 0 and (scores["source"] == champion).all()
    assert np.isfinite(scores["p_win"]).all() and scores["p_win"].between(0, 1).all()
    assert np.isfinite(scores["expected_value"]).all() and (scores["expected_value"] >= 0).all()
    assert scores["expected_value"].gt(0).any()
    value = scores.groupby("tier")["expected_value"].mean()
    assert value["A"] > value["D"]
    # customers are told why: what lifts them above the average, or what holds them back, in
    # win-probability points of the baseline's own mapping (an average customer may have
    # nothing visible to say)
    told = scores["reason_1"].notna() | scores["risk_1"].notna()
    assert told.mean() > 0.8
    assert scores["reason_1"].dropna().str.contains(r"\(\+\d+\.\d pts\)$").all()
    assert scores.loc[scores["tier"] == "A", "reason_1"].notna().all()

    # the backtest compared every candidate at equal shares; the report says a baseline is used
    tiers = catalog["backtest_tier_table"].load()
    shares = tiers[tiers["tier"] == "A"].groupby("origin")["customers"].nunique()
    assert (shares == 1).all()
    html = catalog["tier_report"].load()
    assert f"tiers use {LABELS[champion]}" in html
    assert "Not enough data for a model" in html
    data_end = catalog["data_profile"].load()["data_end"]
    assert f'<span data-testid="data-end">{data_end}</span>' in html
