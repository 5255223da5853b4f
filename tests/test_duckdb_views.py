"""The DuckDB file for BI tools: codes with labels per language, feature labels, numeric
values, each run's horizon and drift; and the README's SQL runs as written."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import PROJECT
from tests.pipelines.test_score import SCORECARD, _rules_features
from tests.test_features import CONFIG
from tier_ml.features.registry import reason_registry
from tier_ml.io.scores import (
    FILES,
    ScoreRun,
    ScoreStoreDataset,
    current_runs,
    ensure_views,
    read_scores,
)
from tier_ml.pipelines.report.nodes import scored_data_end
from tier_ml.pipelines.score.nodes import feature_labels, with_labels
from tier_ml.scoring import ScoringParams, score_customers
from tier_ml.tiering import ACTION_CODES, ACTIONS, TierPolicy

EARLIER, LATEST = pd.Timestamp("2025-06-01"), pd.Timestamp("2025-06-15")
DRIFT = pd.DataFrame(
    {
        "as_of": pd.Series([LATEST] * 3, dtype="datetime64[us]"),
        "feature": ["won_count_total", "p_win", "tier"],
        "against": ["training", "previous_run", "previous_run"],
        "psi": [0.31, 0.02, 0.12],
        "level": ["alert", "stable", "warning"],
    }
)


def scored(as_of: pd.Timestamp, horizon_days: int, language: str, history: pd.DataFrame):
    """A rules-only scoring run of ten customers on data that ends the day before `as_of`,
    stored as the score node stores it."""
    registry = reason_registry(CONFIG)
    params = ScoringParams(
        as_of=as_of,
        horizon_days=horizon_days,
        policy=TierPolicy(language=language),
        scorecard=SCORECARD,
    )
    scores, reasons, _ = score_customers(
        _rules_features(as_of=as_of), {}, params, registry, history
    )
    labels = feature_labels(registry)
    data_end = as_of - pd.Timedelta(days=1)
    return ScoreRun(as_of, scores, with_labels(reasons, labels), horizon_days, data_end, labels)


@pytest.fixture
def store(tmp_path) -> tuple[ScoreStoreDataset, Path]:
    """Two runs: one in English with a 180-day horizon, a later one in Chinese with 91 and
    some drift."""
    database = tmp_path / "tier_ml.duckdb"
    dataset = ScoreStoreDataset(str(tmp_path / "scores"), str(database))
    first = scored(EARLIER, 180, "en", pd.DataFrame())
    dataset.save(first)
    dataset.save(replace(scored(LATEST, 91, "zh", first.scores), drift=DRIFT))
    return dataset, database


def query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).df()


def test_actions_are_codes_with_a_label_per_language(store):
    dataset, database = store
    parquet = dataset.load().set_index(["as_of", "customer_id"])
    assert set(parquet.loc[LATEST, "action"]) <= set(ACTIONS["zh"].values())  # as scored
    sql = query(
        database,
        "select s.as_of, s.customer_id, s.tier, s.action, t.action_en, t.action_zh "
        "from scores s join tiers t using (tier)",
    ).set_index(["as_of", "customer_id"])
    assert len(sql) == len(parquet) == 20
    assert (sql["action"] == sql["tier"].map(ACTION_CODES)).all()
    assert (sql["action_en"] == sql["tier"].map(ACTIONS["en"])).all()
    latest = sql.loc[LATEST]  # scored in Chinese: the Parquet label is the zh column's
    assert (latest["action_zh"] == parquet.loc[LATEST, "action"].reindex(latest.index)).all()
    tiers = query(database, "select * from tiers order by tier")
    assert tiers.columns.tolist() == ["tier", "action", "action_en", "action_zh"]
    assert tiers["tier"].tolist() == list("ABCD")


def test_reasons_carry_the_label_and_the_value_as_a_number(store):
    _, database = store
    types = dict(query(database, "describe reasons")[["column_name", "column_type"]].values)
    assert types["value"] == "DOUBLE" and types["contribution"] == "DOUBLE"
    reasons = query(database, "select * from reasons where as_of = '2025-06-01'")
    registry = reason_registry(CONFIG)
    assert (reasons["label"] == reasons["feature"].map(lambda f: registry[f].label)).all()
    features = _rules_features(as_of=EARLIER).set_index("customer_id")
    expected = [
        features.at[c, f] for c, f in zip(reasons["customer_id"], reasons["feature"], strict=True)
    ]
    assert reasons["value"].tolist() == pytest.approx(expected, nan_ok=True)


def test_features_map_every_code_of_the_latest_run_to_its_label(store):
    _, database = store
    features = query(database, "select feature, label from features")
    assert dict(features.values) == feature_labels(reason_registry(CONFIG))


def test_each_run_stores_its_horizon_and_data_end(store):
    _, database = store
    runs = query(database, "select as_of, horizon_days, data_end from runs order by as_of")
    assert runs["horizon_days"].tolist() == [180, 91]
    assert runs["as_of"].tolist() == [EARLIER, LATEST]
    assert runs["data_end"].tolist() == [pd.Timestamp("2025-05-31"), pd.Timestamp("2025-06-14")]


def test_a_store_with_runs_from_before_data_end_was_recorded(store):
    """An upgraded store: the earlier run's row has no `data_end`. The view and the report
    read it as not recorded, and the later run's own."""
    dataset, database = store
    earlier = current_runs(dataset._root)[EARLIER] / FILES["runs"]
    pd.read_parquet(earlier).drop(columns="data_end").to_parquet(earlier, index=False)
    runs = query(database, "select as_of, data_end from runs order by as_of")
    assert runs["data_end"].isna().tolist() == [True, False]
    stored = read_scores(dataset._root, "runs")
    assert scored_data_end(stored, EARLIER) is None
    assert scored_data_end(stored, LATEST) == "2025-06-14"


def test_drift_is_kept_per_run_with_stable_types(store):
    _, database = store
    types = dict(query(database, "describe drift")[["column_name", "column_type"]].values)
    assert types == {
        "as_of": "TIMESTAMP",
        "feature": "VARCHAR",
        "against": "VARCHAR",
        "psi": "DOUBLE",
        "level": "VARCHAR",
    }
    drift = query(database, "select * from drift order by psi desc")
    expected = DRIFT.sort_values("psi", ascending=False, ignore_index=True)
    pd.testing.assert_frame_equal(drift, expected, check_dtype=False)


def test_the_views_answer_before_the_first_run_and_cast_old_text_values(tmp_path):
    root, database = tmp_path / "scores", tmp_path / "tier_ml.duckdb"
    ensure_views(root, database, {})
    counts = {
        view: query(database, f"select count(*) as n from {view}")["n"].item()
        for view in ("scores", "reasons", "runs", "features", "tiers", "drift")
    }
    assert counts == {
        "scores": 0,
        "reasons": 0,
        "runs": 0,
        "features": 0,
        "tiers": 4,
        "drift": 0,
    }
    # a run of an older tier_ml stored values as text
    legacy = scored(EARLIER, 180, "en", pd.DataFrame())
    ScoreStoreDataset(str(root), str(database)).save(
        ScoreRun(
            EARLIER,
            legacy.scores,
            legacy.reasons.assign(value=legacy.reasons["value"].astype("str")),
            180,
            legacy.data_end,
        )
    )
    types = dict(query(database, "describe reasons")[["column_name", "column_type"]].values)
    assert types["value"] == "DOUBLE"
    # and did not record the data end of its runs
    (pointer,) = root.glob("as_of=*/current")
    runs = pointer.resolve() / FILES["runs"]
    pd.read_parquet(runs).drop(columns="data_end").to_parquet(runs, index=False)
    ended = query(database, "select data_end from runs")
    assert ended["data_end"].isna().tolist() == [True]


def readme_sql() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", (PROJECT / "README.md").read_text(), re.DOTALL)


def test_the_readme_sql_runs_on_a_store_and_finds_rows(store):
    _, database = store
    blocks = readme_sql()
    assert len(blocks) >= 3
    for sql in blocks:
        assert len(query(database, sql)) > 0, sql
