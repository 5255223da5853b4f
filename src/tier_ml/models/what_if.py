"""A model's score of the same rows with one feature changed, for the next-step search.

The search re-scores the B and C accounts some forty times (a few features, a bisection over
steps each). Only the trees that split on the changed feature can send a row to another leaf,
so a row's new raw score is its raw score less its old leaves in those trees plus its new
ones: exact, and a fraction of a full predict when a feature is used by a fraction of the
trees. Models outside the compiled-trees scheme (`treeshap.compile_trees`) are predicted
again by LightGBM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.treeshap import booster_trees, estimator_threads, leaf_changes, lightgbm_matrix

# the score of rows `at` (positions) with `feature` set to `values` (one per row)
WhatIf = Callable[[str, np.ndarray, np.ndarray], np.ndarray]


def raw_what_if(model: Any, matrix: pd.DataFrame, raw: np.ndarray | None = None) -> WhatIf:
    """A fitted LightGBM estimator's raw score of `matrix`'s rows with one feature changed,
    equal to `model.predict(changed, raw_score=True)`. `raw`: the rows' raw scores as they
    are, where the caller has them (scoring: the TreeSHAP sums)."""
    trees = booster_trees(model)
    if trees is None:
        return lambda feature, at, values: model.predict(
            matrix.iloc[at].assign(**{feature: values}), raw_score=True
        )
    threads = estimator_threads(model)
    x = np.ascontiguousarray(lightgbm_matrix(matrix, model.booster_.pandas_categorical))
    raw = model.predict(matrix, raw_score=True) if raw is None else raw
    columns = list(matrix.columns)

    def changed(feature: str, at: np.ndarray, values: np.ndarray) -> np.ndarray:
        column = columns.index(feature)
        return raw[at] + leaf_changes(trees, x, at, column, values, threads)

    return changed
