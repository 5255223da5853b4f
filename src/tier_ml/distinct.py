"""Per-row text rendered once per distinct row: a million customers share a handful of
combinations (tier, previous tier, overlay note; a next step's feature and size), so the
sentences are formatted a handful of times, not a million."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def per_distinct(render: Callable[..., object], *columns: np.ndarray) -> np.ndarray:
    """`render(*row)` for every row of `columns` (equal lengths), calling it once per
    distinct row. Rows are numbered from their columns' integer codes, not hashed as tuples
    (a million tuples cost seconds)."""
    columns = tuple(np.asarray(c) for c in columns)
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        key = pd.factorize(key * len(uniques) + codes)[0]  # 0.. in order of first appearance
    first = np.unique(key, return_index=True)[1]
    rendered = np.empty(len(first), dtype=object)
    rendered[:] = [render(*(column[i] for column in columns)) for i in first]
    return rendered[key]
