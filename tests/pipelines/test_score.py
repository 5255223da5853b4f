"""Scoring end to end: champion models from the registry, tiers, reasons, tier changes."""

from __future__ import annotations

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from tests.conftest import base_parameters
from tests.pipelines.conftest import KINDS, bare_catalog, small_parameters
from tests.test_features import CONFIG, T, frame_activities, frame_customers, frame_deals
from tier_ml.features.build import build_features
from tier_ml.features.registry import reason_registry
from tier_ml.io.registry import ChampionAliasDataset, RegisteredModelsDataset
from tier_ml.io.scores import ScoreRunsDataset, ScoreStoreDataset
from tier_ml.models.baselines import ScoreMapper, parse_scorecard, scorecard_score
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.score import create_pipeline as score_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline
from tier_ml.report.content import build_content
from tier_ml.report.html import render
from tier_ml.scoring import SCORE_COLUMNS, ScoringParams, score_customers
from tier_ml.tiering import TierPolicy


def _catalog(params: dict, tmp_path) -> DataCatalog:
    catalog = bare_catalog(params, tmp_path)
    catalog["score_history"] = ScoreRunsDataset(str(tmp_path / "scores"))
    catalog["score_distributions"] = ScoreRunsDataset(
        str(tmp_path / "scores"), table="distribution"
    )
    catalog["score_store"] = ScoreStoreDataset(
        str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb")
    )
    for table in ("drift", "runs"):
        catalog[f"score_{table}"] = ScoreStoreDataset(
            str(tmp_path / "scores"), str(tmp_path / "tier_ml.duckdb"), table=table
        )
    catalog["scoring_models"] = RegisteredModelsDataset(KINDS, alias="champion")
    catalog["promotion_decision"] = ChampionAliasDataset(KINDS)
    return catalog


def _score(catalog: DataCatalog, params: dict, as_of: str) -> dict:
    catalog["params:scoring"] = MemoryDataset({**params["scoring"], "as_of": as_of})
    with mlflow.start_run():
        return SequentialRunner().run(score_pipeline(), catalog)


@pytest.mark.slow
def test_score_twice_shows_tier_changes_with_reasons(tracking, tmp_path):
    params = small_parameters(n_customers=900)
    catalog = _catalog(params, tmp_path)
    with mlflow.start_run():
        SequentialRunner().run(ingest_pipeline() + features_pipeline() + train_pipeline(), catalog)
    # the earliest date the refitted champion may score: the end of its last label window
    first_date = catalog["trained_models"].load().trained_through
    first = _score(catalog, params, str(first_date.date()))["scoring_summary"].load()
    assert first["customers_scored"]["value"] > 0 and first["rules_only"]["value"] == 0
    _score(catalog, params, "2025-12-31")
    history = catalog["score_store"].load()
    latest = history[history["as_of"] == pd.Timestamp("2025-12-31")]
    assert list(latest.columns) == SCORE_COLUMNS
    assert latest["customer_id"].is_unique
    earlier = history[history["as_of"] == first_date].set_index("customer_id")
    known = latest[latest["customer_id"].isin(earlier.index)]
    np.testing.assert_array_equal(known["previous_tier"], earlier.loc[known["customer_id"], "tier"])
    moved = known[known["tier_change"].isin(["up", "down"])]
    assert len(moved) > 0 and moved["tier_change_reason"].str.len().gt(0).all()
    assert latest["reason_1"].notna().mean() > 0.5
    assert latest["p_win"].between(0, 1).all()
    # a next step for modelled B and C accounts only
    assert latest.loc[~latest["tier"].isin(["B", "C"]), "next_step"].eq("").all()
    if latest["source"].iloc[0] in ("model", "stacked"):
        searched = latest["tier"].isin(["B", "C"]) & ~latest["cold_start"]
        assert latest.loc[searched, "next_step"].str.len().gt(0).all()
    # the partition and the DuckDB file agree
    con = duckdb.connect(str(tmp_path / "tier_ml.duckdb"), read_only=True)
    counts = con.execute(
        "select tier, count(*) from scores where as_of = '2025-12-31' group by 1 order by 1"
    ).fetchall()
    assert dict(counts) == latest["tier"].value_counts().to_dict()
    # each run records the end of the data it scored, which the report shows beside as_of:
    # the export's end, or as_of itself for the backdated first run
    ends = con.execute("select data_end from runs order by as_of").fetchall()
    data_end = pd.Timestamp(catalog["data_profile"].load()["data_end"])
    assert first_date < data_end
    assert [end for (end,) in ends] == [first_date, data_end]
    # a run a few days after the export's end (within scoring.max_days_after_data_end)
    # records the export's end, which the report then shows beside its later as_of
    con.close()
    _score(catalog, params, str((data_end + pd.Timedelta(days=3)).date()))
    runs = catalog["score_runs"].load().sort_values("as_of")
    assert runs["data_end"].tolist() == [first_date, data_end, data_end]


@pytest.mark.slow
def test_scoring_without_a_champion_uses_the_scorecard(tracking, tmp_path, caplog):
    params = small_parameters(n_customers=400)
    catalog = _catalog(params, tmp_path)
    SequentialRunner().run(ingest_pipeline() + features_pipeline(), catalog)
    with caplog.at_level("INFO", logger="tier_ml.pipelines.score.nodes"):
        summary = _score(catalog, params, "2026-01-05")["scoring_summary"].load()
    assert summary["rules_only"]["value"] == 1
    # the run summary names the data's end beside as_of (scored five days after it)
    assert "Scored with rules only as of 2026-01-05 (data to 2025-12-31): " in caplog.text
    scores = catalog["score_store"].load()
    assert scores["p_win"].isna().all() and (scores["source"] == "rules").all()
    assert scores["tier"].value_counts().index.tolist()[0] in "ABCD"
    assert scores["reason_1"].notna().any()
    assert scores["next_step"].eq("").all()


@pytest.mark.slow
def test_training_and_scoring_in_one_run_scores_with_the_new_champion(tracking, tmp_path):
    params = small_parameters(n_customers=600)
    catalog = _catalog(params, tmp_path)
    pipeline = ingest_pipeline() + features_pipeline() + train_pipeline() + score_pipeline()
    with mlflow.start_run():
        summary = SequentialRunner().run(pipeline, catalog)["scoring_summary"].load()
    assert summary["rules_only"]["value"] == 0
    assert (catalog["score_store"].load()["source"] == "model").all()


# Rules only, on ten customers whose scorecard scores all differ: odd ids won a deal 61 days
# before T, and annual revenue rises with the id. Ranked: c09, c07, c05, c03, c01, c08, ...
IDS = [f"c{k:02d}" for k in range(10)]
SCORECARD = base_parameters("train")["train"]["scorecard"]


def _rules_features(ids: list[str] = IDS, as_of: pd.Timestamp = T) -> pd.DataFrame:
    customers = frame_customers([(i, "2024-01-01") for i in ids])
    customers["annual_revenue"] = [1e5 * (k + 1) for k in range(len(ids))]
    deals = frame_deals(
        [
            (f"w{k}", i, "2025-01-01", "2025-04-01", "won", 100.0 * k)
            for k, i in enumerate(ids)
            if k % 2
        ]
    )
    return build_features(customers, deals, frame_activities([]), as_of, CONFIG)


def _rules_scores(policy: TierPolicy, models: dict | None = None, **kw) -> pd.DataFrame:
    params = ScoringParams(as_of=T, horizon_days=180, policy=policy, scorecard=SCORECARD)
    scores, _, _ = score_customers(
        _rules_features(**kw), models or {}, params, reason_registry(CONFIG), pd.DataFrame()
    )
    return scores.set_index("customer_id")


def test_rules_only_without_a_mapper_has_no_money_and_tiers_on_the_score_rank():
    scores = _rules_scores(TierPolicy())
    assert scores[["p_win", "expected_revenue", "expected_value"]].isna().all().all()
    assert scores["tier"].to_dict() == {
        "c00": "D",
        "c01": "C",
        "c02": "D",
        "c03": "C",
        "c04": "D",
        "c05": "B",
        "c06": "D",
        "c07": "B",
        "c08": "C",
        "c09": "A",
    }
    history = scores.reset_index()
    nothing = pd.DataFrame()
    content = build_content(history, nothing, nothing, nothing, {}, "en", 10, 10, None, {})
    assert [np.isnan(row["expected_value"]) for row in content.headline] == [True] * 4
    assert [a["customer_id"] for a in content.top_accounts] == ["c09"]
    assert "Expected value is not available in rules-only mode" in render(content)


def test_rules_only_refuses_a_policy_that_needs_money_without_a_mapper():
    with pytest.raises(ValueError, match=r"threshold tier policy cuts on expected value in money"):
        _rules_scores(TierPolicy(kind="threshold"))


def test_a_score_mapper_turns_the_rules_score_into_probability_and_money():
    # fitted so that scores from 0.45 are worth 1,000 (at least: ties break by the score)
    # and scores below it nothing
    grid = np.linspace(0, 1, 101)
    mapper = ScoreMapper().fit(grid, grid >= 0.45, 1_000.0 * (grid >= 0.45))
    policy = TierPolicy(kind="threshold", thresholds={"A": 1_000.0, "B": 100.0, "C": 1.0})
    scores = _rules_scores(policy, {"rules_mapper": mapper})
    score = scorecard_score(_rules_features(), parse_scorecard(SCORECARD)).to_numpy()
    np.testing.assert_allclose(scores["p_win"], mapper.probability(score))
    np.testing.assert_allclose(scores["expected_value"], mapper.revenue(score))
    np.testing.assert_allclose(
        scores["expected_revenue"], scores["expected_value"] / scores["p_win"]
    )
    assert scores["tier"].to_dict() == {
        "c00": "D",
        "c01": "A",
        "c02": "D",
        "c03": "A",
        "c04": "D",
        "c05": "A",
        "c06": "D",
        "c07": "A",
        "c08": "D",
        "c09": "A",
    }


def test_an_empty_population_and_a_single_customer_are_scored():
    empty = _rules_scores(TierPolicy(), as_of=pd.Timestamp("2023-01-01"))
    assert empty.empty and empty.reset_index().columns.tolist() == SCORE_COLUMNS
    one = _rules_scores(TierPolicy(), ids=["solo"])
    # one customer is 0.1, 0.3 and 0.6 customers above the B, C and D boundaries: C
    assert one["tier"].tolist() == ["C"]
    assert one["tier_change_reason"].tolist() == ["first scoring"]
