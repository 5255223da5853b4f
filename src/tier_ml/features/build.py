"""Point-in-time customer features and horizon labels.

At a cutoff `as_of` T only what was known before T is used: deals created before T, with the
status they had at T (a deal won after T is open at T), activities before T, and customers
created before T. Labels look forward: won deals closed in [T, T + horizon_days).
The aggregation runs in DuckDB (one pass per table and cutoff); pandas DataFrames go in
and come out.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from tier_ml.features.registry import FeatureConfig, feature_registry

LABEL_COLUMNS = ("won_any", "won_revenue")
DEFAULT_CONFIG = FeatureConfig()
KEY_COLUMNS = ("customer_id", "as_of")


def _ts(value: pd.Timestamp) -> str:
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"


def _days_before(t: str, column: str) -> str:
    return f"date_diff('second', {column}, {t}) / 86400.0"


def _deal_sql(t: str, config: FeatureConfig) -> str:
    won = "s = 'won'"
    windows = ",\n".join(
        f"count(*) FILTER (WHERE {won} AND closed_at >= {t} - INTERVAL {w} DAY) AS won_count_{w}d,"
        f" coalesce(sum(amount) FILTER (WHERE {won} AND closed_at >= {t} - INTERVAL {w} DAY), 0)"
        f" AS won_revenue_{w}d"
        for w in config.rfm_windows
    )
    return f"""
    d AS (
      SELECT customer_id, amount, created_at, closed_at,
             CASE WHEN status <> 'open' AND closed_at < {t} THEN status ELSE 'open' END AS s
      FROM deals WHERE created_at < {t}
    ),
    deal_f AS (
      SELECT customer_id,
        min(created_at) AS first_deal_at,
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
        avg({_days_before(t, "created_at")}) FILTER (WHERE s = 'open') AS open_deal_age_mean_days,
        max({_days_before(t, "created_at")}) FILTER (WHERE s = 'open') AS open_deal_age_max_days
      FROM d GROUP BY customer_id
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
                "act_",
            )
        )
    }
    derived = {
        "win_rate": "won_count_total::DOUBLE / nullif(won_count_total + lost_count_total, 0)",
        "activity_trend": "coalesce(act_total_30d, 0) - coalesce(act_total_90d, 0) / 3.0",
        "tenure_days": _days_before(
            t, "coalesce(c.created_at, least(first_deal_at, first_activity_at))"
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


def feature_sql(as_of: pd.Timestamp, config: FeatureConfig) -> str:
    """The query that computes every registered feature at one cutoff."""
    t = _ts(as_of)
    columns = list(feature_registry(config))
    if "activity_trend" in columns and not {30, 90} <= set(config.activity_windows):
        raise ValueError("activity_trend needs activity windows of 30 and 90 days")
    return f"""
    WITH {_deal_sql(t, config)}, {_activity_sql(t, config)}
    SELECT c.customer_id, {t} AS as_of,
      {_select_sql(t, config, columns)}
    FROM customers c
    LEFT JOIN deal_f USING (customer_id)
    LEFT JOIN act_f USING (customer_id)
    WHERE c.created_at IS NULL OR c.created_at < {t}
    ORDER BY c.customer_id
    """


def _connection(
    customers: pd.DataFrame, deals: pd.DataFrame, activities: pd.DataFrame
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("customers", customers)
    con.register("deals", deals)
    con.register("activities", activities)
    return con


def _typed(frame: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Stable dtypes whatever the engine returns: floats for numbers, str for categories."""
    categorical = set(config.categorical_attributes) | {"customer_id"}
    out = frame.copy()
    for column in out.columns:
        if column in categorical:
            out[column] = out[column].astype("str")
        elif column == "as_of":
            out[column] = out[column].astype("datetime64[us]")
        else:
            out[column] = out[column].astype("float64")
    return out


def _with_attributes(customers: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    wanted = [
        "customer_id",
        "created_at",
        *config.categorical_attributes,
        *config.numeric_attributes,
    ]
    missing = [c for c in wanted if c not in customers.columns]
    return customers.assign(**{c: None for c in missing})[wanted].assign(
        **{
            c: customers[c].astype("float64")
            for c in config.numeric_attributes
            if c in customers.columns
        }
    )


def build_features(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    as_of: pd.Timestamp,
    config: FeatureConfig = DEFAULT_CONFIG,
) -> pd.DataFrame:
    """Features of every customer known at `as_of`, from what was known before `as_of`."""
    con = _connection(_with_attributes(customers, config), deals, activities)
    try:
        frame = con.execute(feature_sql(pd.Timestamp(as_of), config)).df()
    finally:
        con.close()
    return _typed(frame, config)


def build_labels(features: pd.DataFrame, deals: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """`won_any` and `won_revenue`: won deals closed in [as_of, as_of + horizon_days)."""
    won = deals.loc[deals["status"].eq("won"), ["customer_id", "closed_at", "amount"]]
    keys = features[list(KEY_COLUMNS)]
    con = duckdb.connect()
    try:
        con.register("won", won)
        con.register("keys", keys)
        labels = con.execute(
            f"""
            SELECT k.customer_id, k.as_of,
                   coalesce(sum(w.amount), 0) AS won_revenue,
                   count(w.amount) > 0 AS won_any
            FROM keys k LEFT JOIN won w
              ON w.customer_id = k.customer_id
             AND w.closed_at >= k.as_of
             AND w.closed_at < k.as_of + INTERVAL {int(horizon_days)} DAY
            GROUP BY k.customer_id, k.as_of
            """
        ).df()
    finally:
        con.close()
    labels["as_of"] = labels["as_of"].astype("datetime64[us]")
    labels["customer_id"] = labels["customer_id"].astype("str")
    merged = keys.merge(labels, on=list(KEY_COLUMNS), how="left", validate="one_to_one")
    return merged.astype({"won_any": "bool", "won_revenue": "float64"})


def training_cutoffs(
    data_end: pd.Timestamp, horizon_days: int, count: int, step_months: int = 1
) -> list[pd.Timestamp]:
    """Monthly cutoffs T_k, newest last, each with a complete label window: T_k + H <= end."""
    latest = (pd.Timestamp(data_end) - pd.Timedelta(days=horizon_days)).normalize()
    newest = latest.to_period("M").to_timestamp()
    if newest + pd.Timedelta(days=horizon_days) > data_end:
        newest -= pd.DateOffset(months=1)
    return sorted(newest - pd.DateOffset(months=step_months * k) for k in range(count))


def build_feature_table(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    cutoffs: Iterable[pd.Timestamp],
    horizon_days: int,
    config: FeatureConfig = DEFAULT_CONFIG,
) -> pd.DataFrame:
    """Features and labels at each cutoff, stacked: one row per customer and cutoff."""
    frames = [build_features(customers, deals, activities, t, config) for t in cutoffs]
    features = pd.concat(frames, ignore_index=True)
    labels = build_labels(features, deals, horizon_days)
    return features.merge(labels, on=list(KEY_COLUMNS), how="left", validate="one_to_one")
