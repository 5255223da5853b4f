"""Where the feature and label SQL runs: DuckDB in-process (the default) or Spark.

The definitions are written once, in DuckDB's SQL dialect (`features.build`). On Spark they
are transpiled by SQLGlot and run by `spark.sql` on temporary views of the same tables, so
both engines compute the same features from one definition (a test holds them equal on the
synthetic CRM). The session is the one `SparkSession.builder.getOrCreate()` returns: under
spark-submit or on Databricks the cluster's own, locally `local[*]` unless `spark.master` is
configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import duckdb
import pandas as pd
import sqlglot

from tier_ml.threads import machine_threads

ENGINES = ("duckdb", "spark")


def duckdb_query(sql: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    con = duckdb.connect(config={"threads": machine_threads()})
    try:
        for name, frame in tables.items():
            con.register(name, frame)
        return con.execute(sql).df()
    finally:
        con.close()


def spark_dialect(sql: str) -> str:
    """The DuckDB query in Spark SQL."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


@lru_cache(maxsize=1)
def spark_session():
    """The active or configured Spark session, with UTC timestamps (the contract's dates are
    naive UTC) and Arrow transfers."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("tier_ml features")
    if not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def spark_query(sql: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    spark = spark_session()
    for name, frame in tables.items():
        spark.createDataFrame(frame).createOrReplaceTempView(name)
    return spark.sql(spark_dialect(sql)).toPandas()


def run_query(engine: str, sql: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Run a DuckDB-dialect query on the named engine over pandas tables."""
    if engine == "duckdb":
        return duckdb_query(sql, tables)
    if engine == "spark":
        return spark_query(sql, tables)
    raise ValueError(f"features.engine must be one of {ENGINES}, not {engine!r}")
