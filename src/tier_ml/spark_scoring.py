"""The scoring model's input rows from a cluster's own Spark tables, built on Spark.

`scoring.scoring_features` builds them on pandas in the driver, which must then hold the whole
CRM (some 2 GB per million customers). `scoring_rows` keeps them on Spark: the features come
from the same SQL (`features.build`) and stay there; what places a customer among the others
(the baselines' scores, ranked within the population) or needs a fitted model (the open deals'
pipeline value) is computed by the same pandas functions, on the few columns they read,
collected (some 0.16 GB per million customers, and the open deals), and joined back. The rows
then go to the portable scoring model through `mlflow.pyfunc.spark_udf` (README "Portable
model"), so a cluster scores its customers without the CRM ever passing through the driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tier_ml.features.build import (
    crm_tables,
    feature_sql,
    spark_typed,
    typed_features,
)
from tier_ml.features.deal_state import deal_state_sql, given_history, state_columns, typed_state
from tier_ml.features.engine import collected, spark_session, spark_tables
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.baselines import RFM_FEATURES, parse_scorecard
from tier_ml.models.candidates import STACK_SCORES, with_stack_scores
from tier_ml.models.opportunity import (
    CUSTOMER_HISTORY,
    PIPELINE_FEATURE,
    closed_deals_sql,
    join_pipeline_value,
    open_deal_rows,
    pipeline_value,
    win_rate,
    with_customer_history,
)
from tier_ml.scoring import adds_owner

OPEN_DEAL_KEYS = ["deal_id", "customer_id", "created_at"]
# what the driver computes over the population and joins back to the features
PLACED_COLUMNS = [PIPELINE_FEATURE, *STACK_SCORES]
PLACED_SCHEMA = ", ".join(["customer_id string", *(f"{c} double" for c in PLACED_COLUMNS)])
OWNER_SCHEMA = "customer_id string, owner string"
# what comes back to the driver, as a refusal names it when it is too large
POPULATION = (
    "The scoring rows' population columns come back to the Spark driver as pandas (about "
    "0.16 GB per million customers: the features the baselines and the pipeline value read)"
)
OPEN_DEALS = "The deals open at as_of come back to the Spark driver as pandas"
# customers per partition of the rows at most: the scoring model's batches are few and large
# (each partition costs a Python call), and every core gets one
ROWS_PER_PARTITION = 500_000


def population_columns(columns: list[str], scorecard: Mapping[str, Any]) -> list[str]:
    """The feature columns the population-wide parts read: the open deals' customer history,
    the RFM features and the scorecard's."""
    carded = [f for d in parse_scorecard(scorecard).values() for f in d.features]
    read = ["customer_id", "as_of", "open_deal_count", *CUSTOMER_HISTORY, *RFM_FEATURES, *carded]
    return [c for c in dict.fromkeys(read) if c in columns]


def partitions(customers: int) -> int:
    """How many partitions the rows take: at most `ROWS_PER_PARTITION` customers each, and at
    least one per core (a join leaves `spark.sql.shuffle.partitions`, 200 by default: at 100k
    customers the scoring model's per-partition start made scoring four times slower)."""
    cores = spark_session().sparkContext.defaultParallelism
    return max(cores, -(-customers // ROWS_PER_PARTITION))


def scoring_rows(
    customers: Any,
    deals: Any,
    activities: Any,
    as_of: pd.Timestamp,
    config: FeatureConfig,
    opportunity: Any | None,
    scorecard: Mapping[str, Any],
    deal_history: Any | None = None,
    btyd: bool = False,
) -> Any:
    """`scoring_features` at `as_of` as a Spark DataFrame, from Spark (or pandas) tables: the
    features, the owner, the open deals' pipeline value (by `opportunity`, else the historic
    win rate) and the baselines' scores. It is persisted on Spark (`unpersist` it when done),
    so scoring and writing it runs the feature SQL once. BG/NBD features (`btyd`, for
    purchase-only data) are fitted on every customer's purchases in the driver: refused."""
    if btyd:
        raise ValueError(
            "BG/NBD features (train.btyd_features) are fitted on every customer's purchases "
            "in the driver, not on Spark tables: score this champion with the score pipeline "
            "(kedro run), or train without them (train.btyd_features: false)."
        )
    t = pd.Timestamp(as_of)
    history = given_history(deal_history)
    changing = state_columns(deals)
    open_sql = deal_state_sql(
        t,
        [*OPEN_DEAL_KEYS, *changing],
        history is not None,
        config.deal_fields_known_at_creation,
        open_only=True,
    )
    tables = crm_tables(customers, deals, activities, config, history, changing)
    with spark_tables(tables) as frame:
        features = spark_typed(frame(feature_sql(t, config, history is not None)), config)
        features = features.persist()
        try:
            read = population_columns(features.columns, scorecard)
            population = typed_features(collected(features.select(*read), POPULATION), config)
            state = typed_state(collected(frame(open_sql), OPEN_DEALS), changing)
            rows = with_customer_history(open_deal_rows(state, t), population)
            rate = win_rate(collected(frame(closed_deals_sql(t))))
            placed = with_stack_scores(
                join_pipeline_value(population, pipeline_value(rows, opportunity, rate)),
                scorecard,
            )
            scored = spark_session().createDataFrame(
                placed[["customer_id", *PLACED_COLUMNS]], schema=PLACED_SCHEMA
            )
            owned = with_owners(features, customers)
            out = owned.join(scored, "customer_id", "left").select(*owned.columns, *PLACED_COLUMNS)
            return materialised(out.coalesce(partitions(len(population))))
        finally:
            features.unpersist()


def with_owners(features: Any, customers: Any) -> Any:
    """The account owner beside the features on Spark, as `scoring.with_owner` adds it."""
    if not adds_owner(features.columns, customers.columns):
        return features
    if isinstance(customers, pd.DataFrame):
        owners = customers[["customer_id", "owner"]].drop_duplicates("customer_id")
        owners = spark_session().createDataFrame(owners, schema=OWNER_SCHEMA)
    else:
        owners = customers.select("customer_id", "owner")
    return features.join(owners, "customer_id", "left")


def materialised(rows: Any) -> Any:
    """`rows` persisted and computed once (nothing is left cached when that fails)."""
    rows = rows.persist()
    try:
        rows.count()
    except Exception:
        rows.unpersist()
        raise
    return rows
