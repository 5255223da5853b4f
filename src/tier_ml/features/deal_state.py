"""Deals as they were known at a cutoff T.

An export holds each deal's final values: the amount agreed at the close (0 on a lost deal
in some CRMs), the stage it ended in, the owner who closed it. Read at an earlier T they
tell the outcome. `deal_state_sql` gives every deal created before T with its status at T and
its changing fields as of T, so customer features and opportunity rows see the same deals:

- with a deal history (`deal_id, changed_at, field, value[, old_value]`), each field takes
  the value of its last change before T; before its first change, that change's old value
  (unknown when not given). The history is taken as complete: a field with no change on a
  deal kept its exported value since the deal was created. Of two changes at one instant,
  the one listed later is the later (a Spark table's rows have no order: `in_export_order`);
- without one, a deal closed before T keeps its exported values, and a deal open at T keeps
  only the fields trusted as known at creation (`deal_fields_known_at_creation`); the others
  are unknown (missing).

It is SQL in DuckDB's dialect, written once: the feature query reads deals through it on
either engine (`features.engine`), and `deals_at` runs it on DuckDB for pandas callers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tier_ml.contract import DEAL_HISTORY_FIELDS
from tier_ml.features.engine import (
    EngineTables,
    Frame,
    is_empty,
    run_query,
    sql_timestamp,
    table_view,
)

# a change's place in the history (ties at one instant), and a deal's in the export
HISTORY_ROW = "history_row"
DEAL_ROW = "deal_row"
# what a deal's state at T consists of, and the types of its columns
STATE_COLUMNS = ("status", "closed_at", *DEAL_HISTORY_FIELDS)
_SQL_TYPES = {"amount": "DOUBLE", "expected_close_at": "TIMESTAMP"}
_PANDAS_TYPES = {
    "amount": "float64",
    "closed_at": "datetime64[us]",
    "expected_close_at": "datetime64[us]",
}


def has_history(history: Frame | None) -> bool:
    """A deal history is given: an empty table counts as none."""
    return not is_empty(history)


def given_history(history: Frame | None) -> Frame | None:
    """The deal history, or None where none is given (an empty table): asked once per build,
    a question Spark answers with a job."""
    return history if has_history(history) else None


HISTORY_COLUMNS = ("deal_id", "changed_at", "field", "value", "old_value", HISTORY_ROW)
TIE_KEYS = ["deal_id", "field", "changed_at"]


def in_export_order(history: Frame) -> Frame:
    """The history with `history_row`, which orders changes of a deal's field at one instant:
    the history's own column of that name where it has one, else a pandas frame's row order.
    A Spark DataFrame has no order of its own (it is read file by file, largest first, and
    shuffled), so one without the column is refused where such ties exist; without ties the
    order never matters."""
    if HISTORY_ROW in history.columns:
        return history
    if isinstance(history, pd.DataFrame):
        return history.assign(**{HISTORY_ROW: np.arange(len(history))})
    from pyspark.sql.functions import lit

    tied = history.groupBy(*TIE_KEYS).count().where("count > 1")
    examples = [tuple(row)[:-1] for row in tied.limit(3).collect()]
    if examples:
        raise ValueError(
            f"The deal history has {tied.count()} deal fields changed more than once at the "
            f"same instant ({', '.join(TIE_KEYS)}: e.g. {examples}). A Spark table's rows have "
            f"no order to tell which change came later: add the export's order as a "
            f"{HISTORY_ROW} column."
        )
    return history.withColumn(HISTORY_ROW, lit(0))


def deal_tables(deals: Frame, history: Frame | None, columns: Sequence[str]) -> EngineTables:
    """The tables `deal_state_sql` reads: `deals` with `columns` (an empty expected close date
    where the export has none), and `deal_history` (unless None) in the export's order
    (`in_export_order`), its values as text and an old value column, empty where the export
    has none."""
    tables = table_view("deals", deals, columns, {"expected_close_at": "TIMESTAMP"})
    if history is None:
        return tables
    text = {"value": "VARCHAR", "old_value": "VARCHAR"}
    return tables | table_view("deal_history", in_export_order(history), HISTORY_COLUMNS, text)


def _fields_at_sql(t: str, fields: Sequence[str]) -> str:
    """Per deal with a change: for each field, whether it changed (ever) and its value at T,
    from the change nearest before T, or else the old value of the first change after it."""
    before = f"changed_at < {t}"
    columns = ",\n        ".join(
        f"count(*) FILTER (WHERE field = '{f}') > 0 AS {f}_changed,"
        f" max(value) FILTER (WHERE field = '{f}') AS {f}"
        for f in fields
    )
    return f"""(
      SELECT deal_id,
        {columns}
      FROM (
        SELECT deal_id, field,
          CASE WHEN {before} THEN value ELSE old_value END AS value,
          row_number() OVER (
            PARTITION BY deal_id, field
            ORDER BY CASE WHEN {before} THEN changed_at END DESC NULLS LAST, changed_at,
              CASE WHEN {before} THEN -{HISTORY_ROW} ELSE {HISTORY_ROW} END
          ) AS nearest
        FROM deal_history
      ) AS changes
      WHERE nearest = 1
      GROUP BY deal_id
    )"""


def deal_state_sql(
    as_of: pd.Timestamp,
    columns: Sequence[str],
    with_history: bool,
    known_at_creation: tuple[str, ...] = (),
    open_only: bool = False,
) -> str:
    """A query of `columns` of every deal created before `as_of`, as known then, over the
    tables of `deal_tables`: status and `closed_at` at T (open deals have none), and each
    changing field as of T (`open_only`: of the deals open at T)."""
    t = sql_timestamp(as_of)
    closed = f"(d.status <> 'open' AND d.closed_at < {t})"
    fields = [c for c in columns if c in DEAL_HISTORY_FIELDS]

    def at_t(column: str) -> str:
        if column == "status":
            return f"CASE WHEN {closed} THEN d.status ELSE 'open' END"
        if column == "closed_at":
            return f"CASE WHEN {closed} THEN d.closed_at END"
        if column in fields and with_history:
            kind = _SQL_TYPES.get(column)
            value = f"TRY_CAST(h.{column} AS {kind})" if kind else f"h.{column}"
            return f"CASE WHEN h.{column}_changed THEN {value} ELSE d.{column} END"
        if column in fields and column not in known_at_creation:
            return f"CASE WHEN {closed} THEN d.{column} END"
        return f"d.{column}"

    select = ",\n      ".join(f"{at_t(c)} AS {c}" for c in columns)
    history = (
        f"LEFT JOIN {_fields_at_sql(t, fields)} AS h ON h.deal_id = d.deal_id"
        if with_history and fields
        else ""
    )
    sql = f"""
    SELECT {select}
    FROM deals d {history}
    WHERE d.created_at < {t}"""
    return f"SELECT * FROM ({sql}) AS known WHERE status = 'open'" if open_only else sql


def state_columns(deals: Frame) -> list[str]:
    """What a deal's state at T holds of `deals`: status, `closed_at` and the changing fields
    the export has (an expected close date always: empty where it has none)."""
    return [c for c in STATE_COLUMNS if c in deals.columns or c == "expected_close_at"]


def typed_state(state: pd.DataFrame, changing: Sequence[str]) -> pd.DataFrame:
    """The state's columns in pandas types, whatever the engine returned."""
    return state.astype({c: _PANDAS_TYPES.get(c, "str") for c in changing})


def deals_at(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    history: pd.DataFrame | None = None,
    known_at_creation: tuple[str, ...] = (),
    open_only: bool = False,
) -> pd.DataFrame:
    """`deal_state_sql` on DuckDB for pandas callers: the deals created before `as_of` as
    known then (`open_only`: those open then), in the input's order, with its index and its
    other columns as exported (only the columns the state reads go to DuckDB: an export's own
    column names need not be SQL names)."""
    sent = deals.assign(**{DEAL_ROW: np.arange(len(deals))})
    changing = state_columns(deals)
    history = given_history(history)
    sql = deal_state_sql(
        as_of, [DEAL_ROW, *changing], history is not None, known_at_creation, open_only
    )
    tables = deal_tables(sent, history, [DEAL_ROW, "deal_id", "created_at", *changing])
    state = run_query("duckdb", sql, tables).sort_values(DEAL_ROW, kind="stable")
    kept = deals.iloc[state[DEAL_ROW].to_numpy()]
    return typed_state(kept.assign(**{c: state[c].to_numpy() for c in changing}), changing)
