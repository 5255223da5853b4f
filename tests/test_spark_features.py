"""One definition, two engines: the feature and label SQL, deal states at T included, gives
the same table on Spark (`local[2]`) as on DuckDB, and on Spark too nothing dated on or after
T changes features at T."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import base_parameters
from tier_ml.features.build import build_feature_table, build_features, label_counts
from tier_ml.features.engine import on_spark
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.opportunity import fit_opportunity_model, opportunity_rows
from tier_ml.scoring import scoring_features
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm
from tier_ml.spark_scoring import scoring_rows

pytestmark = pytest.mark.slow
CUTOFFS = [pd.Timestamp("2025-03-31"), pd.Timestamp("2025-06-30")]


@pytest.fixture(scope="module")
def crm():
    return generate_crm(SyntheticSpec(n_customers=600, seed=5))


def amount_history(deals: pd.DataFrame) -> pd.DataFrame:
    """Every other deal's amount renegotiated 40 days after it opened, from a tenth of its
    final value (the old value) and, for every fourth deal, reset by a second change at the
    same instant; and every third deal's expected close moved to 60 days after it opened.
    Values are text, as the contract writes them."""
    changed = deals.iloc[::2]
    when = changed["created_at"] + pd.Timedelta(days=40)
    tenth = (changed["amount"] / 10).astype(str)
    amounts = pd.DataFrame(
        {"deal_id": changed["deal_id"], "changed_at": when, "field": "amount",
         "value": changed["amount"].astype(str), "old_value": tenth}
    )  # fmt: skip
    moved = deals.iloc[::3]
    closes = pd.DataFrame(
        {"deal_id": moved["deal_id"], "changed_at": moved["created_at"] + pd.Timedelta(days=5),
         "field": "expected_close_at",
         "value": (moved["created_at"] + pd.Timedelta(days=60)).dt.strftime("%Y-%m-%dT%H:%M:%S"),
         "old_value": None}
    )  # fmt: skip
    reset = amounts.iloc[::2].assign(value="1.0")
    return pd.concat([amounts, reset, closes], ignore_index=True).astype(
        {"changed_at": "datetime64[us]", "value": "str", "old_value": "str"}
    )


@pytest.mark.parametrize(
    "with_history, old_values",
    [(False, False), (True, True), (True, False)],
    ids=["exported", "history", "history without old values"],
)
def test_spark_and_duckdb_give_identical_features_and_labels(spark, crm, with_history, old_values):
    history = amount_history(crm[1]) if with_history else None
    if with_history and not old_values:
        history = history.drop(columns="old_value")
    on_duckdb = build_feature_table(*crm, CUTOFFS, 180, FeatureConfig(), history)
    on_spark = build_feature_table(*crm, CUTOFFS, 180, FeatureConfig(engine="spark"), history)
    assert on_duckdb["won_any"].any() and on_duckdb["open_deal_count"].gt(0).any()
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_exact=False, rtol=1e-12, atol=1e-9)
    # the history changes what is known at T: open amounts as renegotiated, overdue deals
    exported = build_feature_table(*crm, CUTOFFS, 180, FeatureConfig())
    changed = on_spark[["open_deal_amount", "open_deal_overdue_count"]].ne(
        exported[["open_deal_amount", "open_deal_overdue_count"]]
    )
    assert changed.any().all() == with_history
    # the outcomes counted before a thinned table is built, on either engine
    customers, deals, _ = crm
    counts = label_counts(customers, deals, CUTOFFS, 180, "spark")
    pd.testing.assert_frame_equal(counts, label_counts(customers, deals, CUTOFFS, 180))
    assert counts.to_numpy().sum() == len(on_duckdb)


def test_on_spark_records_dated_on_or_after_t_never_change_features_at_t(spark, crm):
    customers, deals, activities = crm
    t = CUTOFFS[0]
    config = FeatureConfig(engine="spark")
    known_then = build_features(
        customers[customers["created_at"].isna() | (customers["created_at"] < t)],
        deals[deals["created_at"] < t],
        activities[activities["occurred_at"] < t],
        t,
        config,
    )
    assert (deals["created_at"] >= t).any() and (activities["occurred_at"] >= t).any()
    pd.testing.assert_frame_equal(
        build_features(customers, deals, activities, t, config), known_then
    )


def test_a_clusters_own_spark_tables_give_the_same_table_as_pandas_ones(spark, crm, tmp_path):
    """Spark DataFrames read from Parquet (a cluster's tables, read where they lie) go to the
    feature SQL as they are: the columns an export lacks made empty by the same SQL views as
    for pandas tables; a history's changes at one instant ordered by its own history_row. The
    session's own temp views and caches are left as they were."""
    customers, deals, activities = crm
    customers = customers.drop(columns=["industry", "employees"])
    history = amount_history(deals).drop(columns="old_value")
    on_duckdb = build_feature_table(
        customers, deals, activities, CUTOFFS, 180, FeatureConfig(), history
    )
    tables = {"customers": customers, "deals": deals, "activities": activities}
    tables["history"] = history.assign(history_row=range(len(history)))
    for name, table in tables.items():
        table.to_parquet(tmp_path / f"{name}.parquet")
    given = {name: spark.read.parquet(str(tmp_path / f"{name}.parquet")) for name in tables}
    given["deals"].createOrReplaceTempView("deals")
    # the very columns the features read: the same plan as the one they cache
    mine = given["customers"].select("customer_id", "created_at", "region", "annual_revenue")
    mine = mine.cache()
    mine.count()
    on_spark = build_feature_table(
        given["customers"], given["deals"], given["activities"], CUTOFFS, 180,
        FeatureConfig(engine="spark"), given["history"],
    )  # fmt: skip
    assert on_duckdb[["industry", "employees"]].isna().all().all()
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_exact=False, rtol=1e-12, atol=1e-9)
    assert spark.catalog.tableExists("deals") and mine.storageLevel.useMemory
    # without its own order, a Spark history with changes at one instant cannot be read
    unordered = given["history"].drop("history_row")
    with pytest.raises(ValueError, match="add the export's order as a history_row column"):
        build_features(
            given["customers"], given["deals"], given["activities"], CUTOFFS[0],
            FeatureConfig(engine="spark"), unordered,
        )  # fmt: skip
    with pytest.raises(TypeError, match="'customers_given' is a pyspark.*: features.engine duckdb"):
        build_features(given["customers"], given["deals"], given["activities"], CUTOFFS[0])


def persisted(spark) -> set[int]:
    """The ids of the RDDs cached in the session."""
    return set(spark.sparkContext._jsc.getPersistentRDDs().keys())


@pytest.mark.parametrize("fitted", [True, False], ids=["opportunity model", "historic win rate"])
def test_scoring_rows_of_spark_tables_equal_the_drivers(spark, crm, tmp_path, fitted):
    """The scoring model's input built on Spark from Spark tables (features, owner, pipeline
    value, the baselines' scores ranked in the population) equals `scoring_features` on
    pandas, with a deal history that renegotiates amounts and moves expected closes."""
    customers, deals, activities = crm
    cached_before = persisted(spark)
    history = amount_history(deals).assign(history_row=lambda h: range(len(h)))
    table = build_feature_table(*crm, CUTOFFS, 180, FeatureConfig(), history)
    model = fit_opportunity_model(opportunity_rows(deals, table, 180, deal_history=history))
    assert model is not None
    model = model if fitted else None
    scorecard = base_parameters("train")["train"]["scorecard"]
    t = pd.Timestamp("2025-09-30")
    on_pandas = scoring_features(
        customers, deals, activities, t, FeatureConfig(), 180, model, False, scorecard, history
    )
    tables = {"customers": customers, "deals": deals, "activities": activities, "h": history}
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    given = {name: spark.read.parquet(str(tmp_path / f"{name}.parquet")) for name in tables}
    rows = scoring_rows(
        given["customers"], given["deals"], given["activities"], t,
        FeatureConfig(engine="spark"), model, scorecard, given["h"],
    )  # fmt: skip
    assert on_pandas["expected_pipeline_value"].gt(0).sum() > 50
    assert on_pandas["owner"].notna().all() and on_pandas["rfm_score"].nunique() > 5
    spark_config = FeatureConfig(engine="spark")
    from_pandas = scoring_rows(*crm, t, spark_config, model, scorecard, history)
    for built in (rows, from_pandas):
        on_spark = built.toPandas().sort_values("customer_id", ignore_index=True)
        built.unpersist()
        pd.testing.assert_frame_equal(
            on_spark.astype(on_pandas.dtypes.to_dict()),
            on_pandas,
            check_exact=False,
            rtol=1e-12,
            atol=1e-9,
        )
    assert persisted(spark) == cached_before  # nothing left cached
    before_anyone = scoring_rows(*crm, pd.Timestamp("2000-01-01"), spark_config, model, scorecard)
    assert before_anyone.count() == 0 and before_anyone.columns == list(on_pandas.columns)
    before_anyone.unpersist()
    with pytest.raises(ValueError, match="BG/NBD features .* not on Spark tables"):
        scoring_rows(*crm, t, spark_config, model, scorecard, btyd=True)


def test_a_pandas_table_reaches_a_local_session_through_parquet(spark, tmp_path):
    """On a local session a pandas table goes to Spark as a Parquet file Spark reads (no task
    carries its rows); one Parquet cannot hold (mixed types in a column) is sent as before."""
    table = pd.DataFrame({"customer_id": ["a", "b"], "amount": [1.5, None]})
    read = on_spark(spark, table, tmp_path / "table.parquet")
    assert read.inputFiles() and read.toPandas().equals(table)
    # pandas' nanoseconds, which Spark cannot read from Parquet, arrive as its microseconds
    times = pd.DataFrame({"at": pd.to_datetime(["2025-01-01 00:00:00.123456789"])})
    at = on_spark(spark, times.astype("datetime64[ns]"), tmp_path / "times.parquet").collect()
    assert at[0].at == pd.Timestamp("2025-01-01 00:00:00.123456").to_pydatetime()
    mixed = pd.DataFrame({"value": [1, "x"]})
    sent = on_spark(spark, mixed, tmp_path / "mixed.parquet")
    assert not sent.inputFiles() and not (tmp_path / "mixed.parquet").exists()
    assert [r.value for r in sent.collect()] == ["1", "x"]
