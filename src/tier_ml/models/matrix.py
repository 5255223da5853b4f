"""From a feature table to a model matrix: which columns, and categories fixed at fit time."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from tier_ml.features.build import KEY_COLUMNS, LABEL_COLUMNS, ROW_WEIGHT


def model_columns(table: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Every feature column: not a key, a label, a row's weight, the owner (carried for
    tiering) or excluded."""
    skip = set(KEY_COLUMNS) | set(LABEL_COLUMNS) | {ROW_WEIGHT, "owner"} | set(exclude)
    return [c for c in table.columns if c not in skip]


def learn_categories(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The categories of each text column, sorted, as seen in training."""
    return {
        c: sorted(frame[c].dropna().astype("str").unique().tolist())
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c])
    }


def to_matrix(
    frame: pd.DataFrame, features: list[str], categories: dict[str, list[str]]
) -> pd.DataFrame:
    """Columns in training order; text as categoricals with the training categories
    (a value never seen in training becomes missing), numbers as float. Columns that are
    numbers already are converted as one block (model fits call this dozens of times)."""
    numbers = [c for c in features if c not in categories]
    typed = [c for c in numbers if pd.api.types.is_numeric_dtype(frame[c])]
    out = dict(zip(typed, frame[typed].to_numpy("float64", na_value=np.nan).T, strict=True))
    for c in numbers:
        if c not in out:  # text holding numbers: unreadable values become missing
            out[c] = pd.to_numeric(frame[c], errors="coerce").to_numpy("float64", na_value=np.nan)
    for c, known in categories.items():
        if c in features:
            codes = pd.Index(known).get_indexer(frame[c])
            out[c] = pd.Categorical.from_codes(codes, categories=known)
    return pd.DataFrame({c: out[c] for c in features}, index=frame.index)
