"""Point-in-time customer features and horizon labels.

At a cutoff `as_of` T only what was known before T is used: deals created before T, with the
status and fields they had at T (a deal won after T is open at T; see `deal_state`),
activities before T, and customers created before T. Labels look forward: won deals closed
in [T, T + horizon_days).
The aggregation, and the deals' states at T it reads, is SQL written once in DuckDB's
dialect, run in DuckDB (one pass per table and cutoff) or on Spark (`features.engine`, see
`features.engine`) on tables registered once for every cutoff. pandas DataFrames go in (on
Spark, Spark DataFrames too: a cluster's own tables, never collected) and come out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.features.deal_state import deal_state_sql, deal_tables, given_history
from tier_ml.features.engine import EngineTables, Frame, Query, sql_timestamp, table_view, tables_on
from tier_ml.features.registry import FeatureConfig, feature_registry
from tier_ml.progress import progress

LABEL_COLUMNS = ("won_any", "won_revenue")
DEFAULT_CONFIG = FeatureConfig()
KEY_COLUMNS = ("customer_id", "as_of")
# 1 / P(kept) of a training row: the stacked table may keep a sample of each cutoff
# (`models.sampling.StoredSample`); a row stands for this many customers at its cutoff
ROW_WEIGHT = "row_weight"


def row_weights(rows: pd.DataFrame) -> np.ndarray:
    """The customers each row stands for: its `row_weight`, or 1 in a table built whole."""
    return rows[ROW_WEIGHT].to_numpy(float) if ROW_WEIGHT in rows else np.ones(len(rows))


def _days_before(t: str, column: str) -> str:
    """Days from `column` to T, to the microsecond: DuckDB and Spark count whole-second
    differences differently (boundaries crossed against elapsed), microseconds alike."""
    return f"date_diff('microsecond', {column}, {t}) / 86400e6"


def _deal_sql(t: str, config: FeatureConfig, known_deals: str) -> str:
    won = "s = 'won'"
    windows = ",\n".join(
        f"count(*) FILTER (WHERE {won} AND closed_at >= {t} - INTERVAL {w} DAY) AS won_count_{w}d,"
        f" coalesce(sum(amount) FILTER (WHERE {won} AND closed_at >= {t} - INTERVAL {w} DAY), 0)"
        f" AS won_revenue_{w}d"
        for w in config.rfm_windows
    )
    return f"""
    d AS (
      SELECT customer_id, amount, created_at, closed_at, expected_close_at, status AS s
      FROM ({known_deals}) AS known
    ),
    deal_f AS (
      SELECT customer_id,
        min(created_at) AS first_deal_at,
        max(greatest(created_at, CASE WHEN s <> 'open' THEN closed_at END)) AS last_deal_touch_at,
        {_days_before(t, f"max(closed_at) FILTER (WHERE {won})")} AS days_since_last_won,
        count(*) FILTER (WHERE {won}) AS won_count_total,
        coalesce(sum(amount) FILTER (WHERE {won}), 0) AS won_revenue_total,
        avg(amount) FILTER (WHERE {won}) AS avg_won_amount,
        {windows},
        count(*) FILTER (WHERE s = 'lost') AS lost_count_total,
        count(*) FILTER (WHERE s = 'lost' AND closed_at >= {t} - INTERVAL 365 DAY)
          AS lost_count_365d,
        count(*) FILTER (WHERE s = 'open') AS open_deal_count,
        coalesce(sum(amount) FILTER (WHERE s = 'open'), 0) AS open_deal_amount,
        count(*) FILTER (WHERE s = 'open' AND expected_close_at < {t}) AS open_deal_overdue_count,
        avg({_days_before(t, "created_at")}) FILTER (WHERE s = 'open') AS open_deal_age_mean_days,
        max({_days_before(t, "created_at")}) FILTER (WHERE s = 'open') AS open_deal_age_max_days
      FROM d GROUP BY customer_id
    ),
    {_purchase_sql(t, config)}"""


def _purchase_sql(t: str, config: FeatureConfig) -> str:
    """Purchase rhythm from the days with a won deal before T: gaps between purchases, decayed
    counts and spend (half-life = the horizon), spend in the last horizon against the one
    before, active months, and the age of the first purchase: the signals of purchase-only
    data beyond recency and frequency."""
    half_life = float(config.decay_half_life_days)
    decay = f"exp(-ln(2) * {_days_before(t, 'day')} / {half_life})"
    recent = f"day >= {t} - INTERVAL {int(half_life)} DAY"
    before = f"day >= {t} - INTERVAL {2 * int(half_life)} DAY AND NOT ({recent})"
    return f"""
    purchases AS (
      SELECT customer_id, date_trunc('day', closed_at) AS day, sum(amount) AS amount
      FROM d WHERE s = 'won' GROUP BY ALL
    ),
    gaps AS (
      SELECT *, date_diff('day', lag(day) OVER (PARTITION BY customer_id ORDER BY day), day)
        AS gap
      FROM purchases
    ),
    purchase_f AS (
      SELECT customer_id,
        min(day) AS first_purchase_day,
        avg(gap) AS purchase_gap_mean_days,
        stddev_samp(gap) AS purchase_gap_std_days,
        sum({decay}) AS purchases_decayed,
        sum(amount * {decay}) AS spend_decayed,
        coalesce(sum(amount) FILTER (WHERE {recent}), 0) AS spend_recent,
        coalesce(sum(amount) FILTER (WHERE {before}), 0) AS spend_before,
        count(DISTINCT date_trunc('month', day)) FILTER (WHERE day >= {t} - INTERVAL 365 DAY)
          AS active_months_365d
      FROM gaps GROUP BY customer_id
    )"""


def _activity_sql(t: str, config: FeatureConfig) -> str:
    by_type = [
        f"count(*) FILTER (WHERE type = '{a}' AND occurred_at >= {t} - INTERVAL {w} DAY)"
        f" AS act_{a}_{w}d"
        for a in config.activity_types
        for w in config.activity_windows
    ]
    totals = [
        f"count(*) FILTER (WHERE occurred_at >= {t} - INTERVAL {w} DAY) AS act_total_{w}d"
        for w in config.activity_windows
    ]
    return f"""
    act_f AS (
      SELECT customer_id,
        min(occurred_at) AS first_activity_at,
        max(occurred_at) AS last_activity_at,
        {_days_before(t, "max(occurred_at)")} AS days_since_last_activity,
        {", ".join(by_type + totals)}
      FROM activities WHERE occurred_at < {t} GROUP BY customer_id
    )"""


def _select_sql(t: str, config: FeatureConfig, columns: list[str]) -> str:
    counts = {
        c
        for c in columns
        if c.startswith(
            (
                "won_count",
                "won_revenue",
                "lost_count",
                "open_deal_count",
                "open_deal_amount",
                "open_deal_overdue_count",
                "act_",
                "purchases_decayed",
                "spend_decayed",
                "active_months",
            )
        )
    }
    derived = {
        "win_rate": "won_count_total::DOUBLE / nullif(won_count_total + lost_count_total, 0)",
        "activity_trend": "coalesce(act_total_30d, 0) - coalesce(act_total_90d, 0) / 3e0",
        "tenure_days": _days_before(
            t, "coalesce(c.created_at, least(first_deal_at, first_activity_at))"
        ),
        "purchase_gap_cv": "purchase_gap_std_days / nullif(purchase_gap_mean_days, 0)",
        "recency_gap_ratio": "days_since_last_won / nullif(purchase_gap_mean_days, 0)",
        "spend_trend": "(spend_recent - spend_before) / nullif(spend_recent + spend_before, 0)",
        "first_purchase_age_days": _days_before(t, "first_purchase_day"),
        # any sign of life before T: a deal opened or closed, an activity, the customer added
        "days_since_last_touch": _days_before(
            t, "greatest(c.created_at, last_deal_touch_at, last_activity_at)"
        ),
    }
    select = []
    for c in columns:
        if c in derived:
            expr = derived[c]
        elif c in counts:
            expr = f"coalesce({c}, 0)"
        else:
            expr = c if c not in ("customer_id", "created_at") else f"c.{c}"
        select.append(f"{expr} AS {c}")
    return ",\n      ".join(select)


# the deal columns the features read, and those the labels read (of the won deals)
FEATURE_DEAL_COLUMNS = (
    "customer_id",
    "amount",
    "created_at",
    "closed_at",
    "expected_close_at",
    "status",
)
WON_DEAL_COLUMNS = ["customer_id", "closed_at", "amount", "status"]


def _known_customers(t: str) -> str:
    """Customers (`c`) known at T: added before it, or with no creation date."""
    return f"c.created_at IS NULL OR c.created_at < {t}"


def feature_sql(as_of: pd.Timestamp, config: FeatureConfig, with_history: bool = False) -> str:
    """The query that computes every registered feature at one cutoff, over `crm_tables`."""
    t = sql_timestamp(as_of)
    columns = list(feature_registry(config))
    if "activity_trend" in columns and not {30, 90} <= set(config.activity_windows):
        raise ValueError("activity_trend needs activity windows of 30 and 90 days")
    known_deals = deal_state_sql(
        as_of, FEATURE_DEAL_COLUMNS, with_history, config.deal_fields_known_at_creation
    )
    return f"""
    WITH {_deal_sql(t, config, known_deals)}, {_activity_sql(t, config)}
    SELECT c.customer_id, {t} AS as_of,
      {_select_sql(t, config, columns)}
    FROM customers c
    LEFT JOIN deal_f USING (customer_id)
    LEFT JOIN purchase_f USING (customer_id)
    LEFT JOIN act_f USING (customer_id)
    WHERE {_known_customers(t)}
    ORDER BY c.customer_id
    """


def feature_dtypes(columns: Iterable[str], config: FeatureConfig) -> dict[str, str]:
    """Stable dtypes whatever the engine returns: floats for numbers, str for categories."""
    categorical = set(config.categorical_attributes) | {"customer_id"}
    return {
        c: "str" if c in categorical else "datetime64[us]" if c == "as_of" else "float64"
        for c in columns
    }


def typed_features(frame: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """The features in their dtypes (a column already of its dtype is not copied: 10 M
    customers' features are ~5 GB)."""
    return frame.astype(feature_dtypes(frame.columns, config))


SPARK_TYPES = {"str": "string", "datetime64[us]": "timestamp", "float64": "double"}


def spark_typed(frame: Any, config: FeatureConfig) -> Any:
    """A Spark DataFrame of features in the same types, for rows that stay on Spark."""
    dtypes = feature_dtypes(frame.columns, config)
    return frame.select(*(frame[c].cast(SPARK_TYPES[t]).alias(c) for c, t in dtypes.items()))


def customer_table(customers: Frame, config: FeatureConfig) -> EngineTables:
    """`customers` as the queries read them: attributes the export lacks are empty, numeric
    ones are numbers."""
    types = {
        "created_at": "TIMESTAMP",
        **{c: "VARCHAR" for c in config.categorical_attributes},
        **{c: "DOUBLE" for c in config.numeric_attributes},
    }
    return table_view("customers", customers, ["customer_id", *types], types)


# the won deals the labels read: their final status, whatever the deal was at a cutoff
WON_VIEW = EngineTables(
    views={"won": "SELECT customer_id, closed_at, amount FROM deals WHERE status = 'won'"}
)


def crm_tables(
    customers: Frame,
    deals: Frame,
    activities: Frame,
    config: FeatureConfig,
    deal_history: Frame | None = None,
    more_deal_columns: Sequence[str] = (),
) -> EngineTables:
    """The tables the feature query reads, with only the columns it reads (and the deals'
    `more_deal_columns`, for other queries of the same block): sent to the engine once for
    every cutoff. pandas DataFrames, or on Spark also Spark DataFrames; `deal_history` None
    where none is given (`given_history`)."""
    deal_columns = list(dict.fromkeys(["deal_id", *FEATURE_DEAL_COLUMNS, *more_deal_columns]))
    return (
        customer_table(customers, config)
        | deal_tables(deals, deal_history, deal_columns)
        | table_view("activities", activities, ["customer_id", "occurred_at", "type"])
    )


def _features_at(
    query: Query, as_of: pd.Timestamp, config: FeatureConfig, with_history: bool
) -> pd.DataFrame:
    return typed_features(query(feature_sql(pd.Timestamp(as_of), config, with_history)), config)


def build_features(
    customers: Frame,
    deals: Frame,
    activities: Frame,
    as_of: pd.Timestamp,
    config: FeatureConfig = DEFAULT_CONFIG,
    deal_history: Frame | None = None,
) -> pd.DataFrame:
    """Features of every customer known at `as_of`, from what was known before `as_of`
    (deals as of `as_of`: see `deal_state`)."""
    history = given_history(deal_history)
    tables = crm_tables(customers, deals, activities, config, history)
    with tables_on(config.engine, tables) as query:
        return _features_at(query, as_of, config, history is not None)


def label_sql(horizon_days: int, keys: str) -> str:
    """`won_any` and `won_revenue` of each (customer, as_of) key of the query `keys`, from the
    won deals in `won`: won deals closed in [as_of, as_of + horizon_days)."""
    return f"""
    SELECT k.customer_id, k.as_of,
           coalesce(sum(w.amount), 0) AS won_revenue,
           count(w.amount) > 0 AS won_any
    FROM {keys} k LEFT JOIN won w
      ON w.customer_id = k.customer_id
     AND w.closed_at >= k.as_of
     AND w.closed_at < k.as_of + INTERVAL {int(horizon_days)} DAY
    GROUP BY k.customer_id, k.as_of
    """


def _known_keys(as_of: pd.Timestamp) -> str:
    """The keys of the customers known at `as_of`, as `feature_sql` keeps them."""
    t = sql_timestamp(as_of)
    return f"(SELECT c.customer_id, {t} AS as_of FROM customers c WHERE {_known_customers(t)})"


def _in_key_order(keys: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """`labels` row by row as `keys`, typed."""
    labels = labels.astype({"as_of": "datetime64[us]", "customer_id": "str"})
    merged = keys.merge(labels, on=list(KEY_COLUMNS), how="left", validate="one_to_one")
    return merged.astype({"won_any": "bool", "won_revenue": "float64"})


def label_counts(
    customers: Frame,
    deals: Frame,
    cutoffs: Iterable[pd.Timestamp],
    horizon_days: int,
    engine: str = "duckdb",
) -> pd.DataFrame:
    """Per cutoff (the index), how many customers known then (as `feature_sql` counts them)
    won in its horizon (`won`) and how many did not (`lost`): counted before the table is
    built, so that each cutoff can be thinned as it is built."""
    counted = "count(*) FILTER (WHERE won_any) AS won, count(*) FILTER (WHERE NOT won_any) AS lost"
    known = table_view(
        "customers", customers, ["customer_id", "created_at"], {"created_at": "TIMESTAMP"}
    )
    tables = known | table_view("deals", deals, WON_DEAL_COLUMNS) | WON_VIEW
    with tables_on(engine, tables) as query:
        counts = {
            t: query(
                f"SELECT {counted} FROM ({label_sql(horizon_days, _known_keys(t))}) AS l"
            ).iloc[0]
            for t in map(pd.Timestamp, cutoffs)
        }
    return pd.DataFrame(counts).T.astype(float).rename_axis("as_of")


def training_cutoffs(
    data_end: pd.Timestamp, horizon_days: int, count: int, step_months: int = 1
) -> list[pd.Timestamp]:
    """Monthly cutoffs T_k, newest last, each with a complete label window: T_k + H <= end."""
    latest = (pd.Timestamp(data_end) - pd.Timedelta(days=horizon_days)).normalize()
    newest = latest.to_period("M").to_timestamp()
    if newest + pd.Timedelta(days=horizon_days) > data_end:
        newest -= pd.DateOffset(months=1)
    return sorted(newest - pd.DateOffset(months=step_months * k) for k in range(count))


MAX_AUTO_CUTOFFS = 24


def data_start(deals: pd.DataFrame, activities: pd.DataFrame) -> pd.Timestamp:
    """The first dated record: a deal created or an activity."""
    starts = [deals["created_at"].min()]
    if len(activities):
        starts.append(activities["occurred_at"].min())
    return pd.Timestamp(min(s for s in starts if pd.notna(s)))


def auto_cutoffs(
    data_start: pd.Timestamp, data_end: pd.Timestamp, horizon_days: int
) -> tuple[list[pd.Timestamp], str]:
    """Training cutoffs derived from the data: spaced a sixth of the horizon apart (one week to
    one month), from the latest with a complete label window (T + H <= end) back to the first
    with some history (a third of the horizon after the data starts), at most 24. Short
    histories get dense cutoffs instead of none. Returns them and why, for the run log."""
    step = pd.Timedelta(days=int(min(30, max(7, round(horizon_days / 6)))))
    latest = (pd.Timestamp(data_end) - pd.Timedelta(days=horizon_days)).normalize()
    earliest = pd.Timestamp(data_start).normalize() + pd.Timedelta(days=max(7, horizon_days // 3))
    if latest < earliest:
        raise ValueError(
            f"The data covers {pd.Timestamp(data_start).date()} to {pd.Timestamp(data_end).date()}:"
            f" too short for a {horizon_days}-day horizon (no cutoff has both some history and a "
            "complete label window). Shorten features.horizon_days or wait for more history."
        )
    count = min(MAX_AUTO_CUTOFFS, int((latest - earliest) / step) + 1)
    cutoffs = [latest - step * k for k in reversed(range(count))]
    why = (
        f"{count} cutoffs every {step.days} days from {cutoffs[0].date()} to {cutoffs[-1].date()}"
        f" (a sixth of the {horizon_days}-day horizon; data from {pd.Timestamp(data_start).date()}"
        f", the last label window closing by {pd.Timestamp(data_end).date()})"
    )
    return cutoffs, why


def build_feature_table(
    customers: Frame,
    deals: Frame,
    activities: Frame,
    cutoffs: Iterable[pd.Timestamp],
    horizon_days: int,
    config: FeatureConfig = DEFAULT_CONFIG,
    deal_history: Frame | None = None,
    thin: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Features and labels at each cutoff, stacked: one row per customer and cutoff, or the
    sample of them that `thin` keeps of each labelled cutoff as it is built (with its
    `row_weight`; at a million customers the whole table is ~10 GB). Without `thin`, every
    row, each of weight 1. The tables go to the engine once for all cutoffs."""
    keep = thin or (lambda cutoff: cutoff.assign(**{ROW_WEIGHT: 1.0}))
    history = given_history(deal_history)
    tables = crm_tables(customers, deals, activities, config, history) | WON_VIEW
    with tables_on(config.engine, tables) as query:
        return pd.concat(
            [
                keep(_labelled_at(query, t, horizon_days, config, history is not None))
                for t in progress(list(cutoffs), "features", "cutoff")
            ],
            ignore_index=True,
        )


def _labelled_at(
    query: Query, as_of: pd.Timestamp, horizon_days: int, config: FeatureConfig, history: bool
) -> pd.DataFrame:
    """One cutoff's features with its labels added as columns, in the features' row order."""
    features = _features_at(query, as_of, config, history)
    keys = features[list(KEY_COLUMNS)]
    labels = _in_key_order(keys, query(label_sql(horizon_days, _known_keys(as_of))))
    return features.assign(**{c: labels[c].to_numpy() for c in LABEL_COLUMNS})
