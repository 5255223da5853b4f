"""Deals as they were known at a cutoff T.

An export holds each deal's final values: the amount agreed at the close (0 on a lost deal
in some CRMs), the stage it ended in, the owner who closed it. Read at an earlier T they
tell the outcome. `deals_at` gives every deal created before T with its status at T and its
changing fields as of T, so customer features and opportunity rows see the same deals:

- with a deal history (`deal_id, changed_at, field, value[, old_value]`), each field takes
  the value of its last change before T; before its first change, that change's old value
  (unknown when not given). The history is taken as complete: a field with no change on a
  deal kept its exported value since the deal was created;
- without one, a deal closed before T keeps its exported values, and a deal open at T keeps
  only the fields trusted as known at creation (`deal_fields_known_at_creation`); the others
  are unknown (missing).
"""

from __future__ import annotations

import pandas as pd

from tier_ml.contract import DEAL_HISTORY_FIELDS

_TYPES = {"amount": "float64", "expected_close_at": "datetime64[us]"}


def _typed(field: str, values: pd.Series) -> pd.Series:
    """History values are canonical text (see the contract); back to the deal column's type."""
    kind = _TYPES.get(field, "str")
    if kind == "float64":
        return pd.to_numeric(values, errors="coerce").astype(kind)
    if kind == "datetime64[us]":
        return pd.to_datetime(values, errors="coerce").astype(kind)
    return values.astype("str").where(values.notna())


def history_as_of(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per deal and changed field: its value at `as_of` (missing when unknown)."""
    ordered = history.sort_values("changed_at", kind="stable")
    before = ordered[ordered["changed_at"] < as_of]
    last = before.drop_duplicates(["deal_id", "field"], keep="last")
    first_later = ordered[ordered["changed_at"] >= as_of].drop_duplicates(
        ["deal_id", "field"], keep="first"
    )
    old = first_later["old_value"] if "old_value" in first_later else None
    known = pd.concat([last, first_later.assign(value=old)], ignore_index=True)
    return known.drop_duplicates(["deal_id", "field"], keep="first")[["deal_id", "field", "value"]]


def _with_history(state: pd.DataFrame, history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Changed fields take their value at T; unchanged ones keep the export's (history is
    taken as complete)."""
    values = history_as_of(history[history["deal_id"].isin(state["deal_id"])], as_of)
    out = state.copy()
    for field, changes in values.groupby("field"):
        if field not in out.columns:
            continue
        at_t = changes.set_index("deal_id")["value"]
        changed = out["deal_id"].isin(at_t.index)
        out.loc[changed, field] = _typed(str(field), out.loc[changed, "deal_id"].map(at_t))
    return out


def _trusted_only(
    state: pd.DataFrame, is_open: pd.Series, known_at_creation: tuple[str, ...]
) -> pd.DataFrame:
    """Without history, an open deal's exported field may already hold its outcome: keep only
    the fields declared known at creation."""
    out = state.copy()
    for field in DEAL_HISTORY_FIELDS:
        if field in out.columns and field not in known_at_creation:
            out[field] = out[field].where(~is_open)
    return out


def deals_at(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    history: pd.DataFrame | None = None,
    known_at_creation: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Deals created before `as_of` as known then: status and `closed_at` at T (open deals
    have none), and each changing field as of T. The input's index is kept."""
    t = pd.Timestamp(as_of)
    state = deals.loc[deals["created_at"] < t].copy()
    closed = state["status"].ne("open") & (state["closed_at"] < t)
    state["status"] = state["status"].where(closed, "open")
    state["closed_at"] = state["closed_at"].where(closed)
    if "expected_close_at" not in state.columns:
        state["expected_close_at"] = pd.Series(pd.NaT, index=state.index, dtype="datetime64[us]")
    if has_history(history):
        return _with_history(state, history, t)
    return _trusted_only(state, ~closed, known_at_creation)


def has_history(history: pd.DataFrame | None) -> bool:
    """A deal history is given: an empty table counts as none."""
    return history is not None and not history.empty
