"""One definition, two engines: the feature and label SQL gives the same table on Spark
(`local[2]`) as on DuckDB, and on Spark too nothing dated on or after T changes features at T."""

from __future__ import annotations

import pandas as pd
import pytest

from tier_ml.features.build import build_feature_table, build_features, label_counts
from tier_ml.features.registry import FeatureConfig
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm

pytestmark = pytest.mark.slow
CUTOFFS = [pd.Timestamp("2025-03-31"), pd.Timestamp("2025-06-30")]


@pytest.fixture(scope="module")
def crm():
    return generate_crm(SyntheticSpec(n_customers=600, seed=5))


def test_spark_and_duckdb_give_identical_features_and_labels(spark, crm):
    on_duckdb = build_feature_table(*crm, CUTOFFS, 180, FeatureConfig())
    on_spark = build_feature_table(*crm, CUTOFFS, 180, FeatureConfig(engine="spark"))
    assert on_duckdb["won_any"].any() and on_duckdb["open_deal_count"].gt(0).any()
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_exact=False, rtol=1e-12, atol=1e-9)
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
