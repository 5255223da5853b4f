"""Where the feature and label SQL runs: DuckDB in-process (the default) or Spark.

The definitions are written once, in DuckDB's SQL dialect (`features.build`, and the deal
states at a cutoff in `features.deal_state`). On Spark they are transpiled by SQLGlot and run
by `spark.sql` on temporary views of the same tables, so both engines compute the same
features from one definition (a test holds them equal on the synthetic CRM). The session is
the one `SparkSession.builder.getOrCreate()` returns: under spark-submit or on Databricks the
cluster's own, locally `local[*]` unless `spark.master` is configured.

Tables are registered once for many queries (`tables_on`): building 24 cutoffs sends the CRM
to Spark once, cached, not once per cutoff and query.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache

import duckdb
import pandas as pd
import sqlglot

from tier_ml.threads import machine_threads

logger = logging.getLogger(__name__)
ENGINES = ("duckdb", "spark")
Query = Callable[[str], pd.DataFrame]


def sql_timestamp(value: pd.Timestamp) -> str:
    """A cutoff as a SQL timestamp literal (naive UTC, as the contract's dates)."""
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"


def spark_dialect(sql: str) -> str:
    """The DuckDB query in Spark SQL."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def _say_pandas_support_once() -> None:
    """PySpark warns at every transfer (twice per cutoff) when it does not fully support the
    installed pandas: the run log says it once, in PySpark's words."""
    from pyspark.sql.pandas.utils import require_minimum_pandas_version

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        require_minimum_pandas_version()
    for warning in said:
        logger.warning("PySpark (said once for the run): %s", warning.message)
        warnings.filterwarnings("ignore", message=re.escape(str(warning.message)))


@lru_cache(maxsize=1)
def spark_session():
    """The active or configured Spark session, with UTC timestamps (the contract's dates are
    naive UTC) and Arrow transfers."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    _say_pandas_support_once()
    builder = SparkSession.builder.appName("tier_ml features")
    if not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


@contextmanager
def _on_duckdb(tables: Mapping[str, pd.DataFrame]) -> Iterator[Query]:
    con = duckdb.connect(config={"threads": machine_threads()})
    try:
        for name, frame in tables.items():
            con.register(name, frame)
        yield lambda sql: con.execute(sql).df()
    finally:
        con.close()


@contextmanager
def _on_spark(tables: Mapping[str, pd.DataFrame]) -> Iterator[Query]:
    """Each table crosses to Spark once and is cached there: a view read by several queries (or
    twice in one) would otherwise be rebuilt from the driver's Arrow batches every time. The
    views take the tables' names (replacing any of the same name in the session) and are
    dropped, and their caches freed, when the block ends."""
    spark = spark_session()
    cached = {}
    try:
        for name, frame in tables.items():
            cached[name] = spark.createDataFrame(frame).cache()
            cached[name].createOrReplaceTempView(name)
        yield lambda sql: spark.sql(spark_dialect(sql)).toPandas()
    finally:
        for name, frame in cached.items():
            spark.catalog.dropTempView(name)
            frame.unpersist()


@contextmanager
def tables_on(engine: str, tables: Mapping[str, pd.DataFrame]) -> Iterator[Query]:
    """The named engine with `tables` registered under their names, for as many DuckDB-dialect
    queries as the caller runs inside the block."""
    if engine not in ENGINES:
        raise ValueError(f"features.engine must be one of {ENGINES}, not {engine!r}")
    with (_on_duckdb if engine == "duckdb" else _on_spark)(tables) as query:
        yield query


def run_query(engine: str, sql: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One DuckDB-dialect query on the named engine over pandas tables."""
    with tables_on(engine, tables) as query:
        return query(sql)
