"""Where the feature and label SQL runs: DuckDB in-process (the default) or Spark.

The definitions are written once, in DuckDB's SQL dialect (`features.build`, and the deal
states at a cutoff in `features.deal_state`). On Spark they are transpiled by SQLGlot and run
by `spark.sql` on temporary views of the same tables, so both engines compute the same
features from one definition (a test holds them equal on the synthetic CRM). The session is
the one `SparkSession.builder.getOrCreate()` returns: under spark-submit or on Databricks the
cluster's own, locally `local[*]` unless `spark.master` is configured.

Tables are registered once for many queries (`tables_on`): building 24 cutoffs sends the CRM
to Spark once, cached, not once per cutoff and query. On Spark the tables may also be Spark
DataFrames (a cluster's own tables, `spark.read.parquet`): they never pass through the driver.
How a table is shaped for the queries (the columns they read, missing ones as NULL, types) is
SQL too, a view over the frame as given (`EngineTables`), so one rule holds on both engines.
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import uuid4

import duckdb
import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from tier_ml.threads import machine_threads

logger = logging.getLogger(__name__)
ENGINES = ("duckdb", "spark")
Query = Callable[[str], pd.DataFrame]
Frame = Any  # a pandas DataFrame, or on Spark also a Spark DataFrame


@dataclass(frozen=True)
class EngineTables:
    """What a block of queries reads: `frames` registered under their names, then `views`
    (DuckDB-dialect SELECTs over them, in order) under theirs."""

    frames: Mapping[str, Frame] = field(default_factory=dict)
    views: Mapping[str, str] = field(default_factory=dict)

    def __or__(self, other: EngineTables) -> EngineTables:
        return EngineTables({**self.frames, **other.frames}, {**self.views, **other.views})


def table_view(
    name: str, frame: Frame, columns: Sequence[str], types: Mapping[str, str] | None = None
) -> EngineTables:
    """`frame` as the table `name` of `columns`: those of `types` (column: SQL type) cast to
    their type, or NULL of it where `frame` lacks them; every other column must be in `frame`.
    Only these columns go to the engine (an export's own column names need not be SQL
    names)."""
    types = types or {}
    by_lower = {str(c).lower(): c for c in frame.columns}
    absent = [c for c in columns if c not in frame.columns]
    misnamed = [
        f"{by_lower[c.lower()]} (the contract's {c})" for c in absent if c.lower() in by_lower
    ]
    if misnamed:
        raise ValueError(f"The {name} table names a column otherwise: {', '.join(misnamed)}")
    missing = [c for c in absent if c not in types]
    if missing:
        raise ValueError(
            f"The {name} table has no {', '.join(missing)} column: the feature query reads "
            f"{', '.join(columns)} (README, 'The data contract'); it has "
            f"{', '.join(map(str, frame.columns))}"
        )
    present = [c for c in columns if c in frame.columns]
    select = [
        f"CAST({c if c in present else 'NULL'} AS {types[c]}) AS {c}" if c in types else c
        for c in columns
    ]
    source = f"{name}_given"
    return EngineTables(
        {source: frame[present]}, {name: f"SELECT {', '.join(select)} FROM {source}"}
    )


def is_empty(frame: Frame | None) -> bool:
    """No table, or one without rows (a Spark DataFrame is asked, not counted)."""
    if frame is None:
        return True
    return frame.empty if isinstance(frame, pd.DataFrame) else frame.isEmpty()


def sql_timestamp(value: pd.Timestamp) -> str:
    """A cutoff as a SQL timestamp literal (naive UTC, as the contract's dates)."""
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"


def spark_dialect(sql: str, names: Mapping[str, str] | None = None) -> str:
    """The DuckDB query in Spark SQL, its tables renamed as `names` says."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.name in (names or {}):
            table.set("this", exp.to_identifier(names[table.name]))
    return tree.sql(dialect="spark")


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
def _on_duckdb(tables: EngineTables) -> Iterator[Query]:
    con = duckdb.connect(config={"threads": machine_threads()})
    try:
        for name, frame in tables.frames.items():
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(
                    f"table {name!r} is a {type(frame).__module__}.{type(frame).__name__}: "
                    "features.engine duckdb reads "
                    "pandas DataFrames (Spark DataFrames need features.engine: spark)"
                )
            con.register(name, frame)
        for name, sql in tables.views.items():
            con.execute(f"CREATE TEMP VIEW {name} AS {sql}")
        yield lambda sql: con.execute(sql).df()
    finally:
        con.close()


FEATURES_COLLECTED = (
    "The features come back to the Spark driver as pandas (about 0.6 GB per million customers)"
)


def collected(frame, what: str = FEATURES_COLLECTED) -> pd.DataFrame:
    """A query's result in the driver, as pandas; a result larger than the driver may collect
    is refused, saying what comes back (`what`) and what to set, not with the JVM's stack
    trace alone."""
    try:
        return frame.toPandas()
    except Exception as error:
        if "spark.driver.maxResultSize" not in str(error):
            raise
        raise RuntimeError(
            f"{what} and this result is larger than spark.driver.maxResultSize lets the "
            "driver collect: raise it (spark-submit --conf spark.driver.maxResultSize=8g, or "
            "0 for no limit) with a spark.driver.memory to hold it."
        ) from error


@contextmanager
def spark_tables(tables: EngineTables) -> Iterator[Callable[[str], Any]]:
    """`tables` on Spark for the block, and a DuckDB-dialect query's Spark DataFrame (not
    collected: rows that stay on the cluster). Each table is cached on Spark (unless the caller
    cached it), a pandas one after crossing once from the driver: a table read by several
    queries (or twice in one) would otherwise be rebuilt from the driver's Arrow batches, or
    read from its files, every time. Tables and views are registered under names of their own
    for the block (a session's own temp views of the same names are left alone), and dropped,
    and the caches freed, when it ends: a DataFrame kept past the block reads its sources
    again unless it is persisted."""
    from pyspark import StorageLevel
    from pyspark.sql.functions import lit

    spark = spark_session()
    block = uuid4().hex[:8]
    names = {name: f"{name}_{block}" for name in [*tables.frames, *tables.views]}
    cached = []
    folder = tempfile.TemporaryDirectory(prefix=f"tier_ml_spark_{block}_")
    try:
        for name, frame in tables.frames.items():
            given = on_spark(spark, frame, Path(folder.name) / f"{name}.parquet")
            if given.storageLevel == StorageLevel.NONE:
                cached.append(given.cache())
            # a view of a plan of its own: dropping a view uncaches the data cached for its
            # plan, which may be the caller's (a no-op filter is a plan of its own)
            given.where(lit(True)).createOrReplaceTempView(names[name])
        for name, sql in tables.views.items():
            spark.sql(spark_dialect(sql, names)).createOrReplaceTempView(names[name])
        yield lambda sql: spark.sql(spark_dialect(sql, names))
    finally:
        for name in reversed(names.values()):
            spark.catalog.dropTempView(name)
        for frame in cached:
            frame.unpersist()
        folder.cleanup()


def on_spark(spark: Any, frame: Frame, path: Path) -> Any:
    """`frame` as a Spark DataFrame. A pandas one on a local session goes through a Parquet
    file at `path`, which Spark reads in parallel: sent with `createDataFrame`, its rows ride
    in the tasks themselves (a "task of very large size" warning for each, and 2.9 times
    slower features at 1M customers). Times are written in microseconds, Spark's own
    precision (it cannot read nanoseconds from Parquet). On a cluster the driver's files are
    out of the executors' reach, and a table Parquet cannot hold (mixed types in a column) is
    sent as before."""
    if not isinstance(frame, pd.DataFrame):
        return frame
    if spark.sparkContext.master.startswith("local"):
        try:
            frame.to_parquet(
                path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True
            )
            return spark.read.parquet(str(path))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            path.unlink(missing_ok=True)
    return spark.createDataFrame(frame)


@contextmanager
def _on_spark(tables: EngineTables) -> Iterator[Query]:
    with spark_tables(tables) as frame:
        yield lambda sql: collected(frame(sql))


@contextmanager
def tables_on(engine: str, tables: EngineTables) -> Iterator[Query]:
    """The named engine with `tables` registered under their names, for as many DuckDB-dialect
    queries as the caller runs inside the block."""
    if engine not in ENGINES:
        raise ValueError(f"features.engine must be one of {ENGINES}, not {engine!r}")
    with (_on_duckdb if engine == "duckdb" else _on_spark)(tables) as query:
        yield query


def run_query(engine: str, sql: str, tables: EngineTables) -> pd.DataFrame:
    """One DuckDB-dialect query on the named engine."""
    with tables_on(engine, tables) as query:
        return query(sql)
