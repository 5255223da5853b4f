"""Reasons in plain words: exact TreeSHAP contributions on the probability scale.

LightGBM's `pred_contrib` gives exact TreeSHAP values on the raw (log-odds) scale: for each
customer, the base value plus the contributions equals the raw score. The win probability is
the calibrator applied to the raw score, so each contribution is rescaled by the same factor,

    c_prob_i = c_raw_i * (p(x) - p(base)) / (raw(x) - raw(base)),

which keeps the signs and the ranking and makes the probability-scale contributions add up
exactly to p(x) - p(base). (When raw(x) is within 1e-9 of the base, the factor is the
calibrator's slope there.) Columns that derive from one source feature are summed back to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from tier_ml.features.registry import FeatureSpec


def probability_scale(contributions: np.ndarray,
                      calibrate: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Raw-scale contributions (features, then base) to the probability scale, base last."""
    base_raw = contributions[:, -1]
    raw = contributions.sum(axis=1)
    p, p_base = calibrate(raw), calibrate(base_raw)
    delta = raw - base_raw
    eps = 1e-4
    slope = (calibrate(base_raw + eps) - calibrate(base_raw - eps)) / (2 * eps)
    factor = np.where(np.abs(delta) > 1e-9, (p - p_base) / np.where(delta == 0, 1, delta), slope)
    scaled = contributions[:, :-1] * factor[:, None]
    return np.column_stack([scaled, p_base])


def group_columns(contributions: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Sum the columns that share a source feature (`groups` maps column -> source)."""
    sources = [groups.get(c, c) for c in contributions.columns]
    return contributions.T.groupby(sources, sort=False).sum().T


def one_hot_groups(columns: list[str], separator: str = "=") -> dict[str, str]:
    """`industry=Retail` belongs to `industry`."""
    return {c: c.split(separator, 1)[0] for c in columns if separator in c}


def _sentence(spec: FeatureSpec | None, feature: str, value: object, points: float) -> str:
    text = spec.sentence(value) if spec else f"{feature.replace('_', ' ')} = {value}"
    return f"{text} ({points:+.1f} pts)"


def reason_codes(contributions: pd.DataFrame, values: pd.DataFrame,
                 registry: Mapping[str, FeatureSpec], n_reasons: int = 3,
                 n_risks: int = 2) -> pd.DataFrame:
    """reason_1..n (what raises the win probability most) and risk_1..m (what lowers it),
    each a sentence with the customer's own value and its effect in percentage points."""
    matrix = contributions.to_numpy(float)
    names = np.asarray(contributions.columns)
    order = np.argsort(-matrix, axis=1, kind="stable")
    records = []
    for i in range(len(matrix)):
        row_values = values.iloc[i]
        ups = [j for j in order[i, :n_reasons] if matrix[i, j] > 0]
        downs = [j for j in order[i, ::-1][:n_risks] if matrix[i, j] < 0]
        record = {f"reason_{k + 1}": None for k in range(n_reasons)}
        record.update({f"risk_{k + 1}": None for k in range(n_risks)})
        for k, j in enumerate(ups):
            record[f"reason_{k + 1}"] = _sentence(registry.get(names[j]), names[j],
                                                  row_values.get(names[j]), 100 * matrix[i, j])
        for k, j in enumerate(downs):
            record[f"risk_{k + 1}"] = _sentence(registry.get(names[j]), names[j],
                                                row_values.get(names[j]), 100 * matrix[i, j])
        records.append(record)
    return pd.DataFrame(records, index=contributions.index)


def top_contributions(contributions: pd.DataFrame, values: pd.DataFrame,
                      customer_ids: pd.Series, top: int = 8) -> pd.DataFrame:
    """Long format for drill-down: customer_id, feature, value, contribution (the `top`
    largest by size per customer)."""
    matrix = contributions.to_numpy(float)
    k = min(top, matrix.shape[1])
    idx = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(len(matrix)), k)
    cols = idx.ravel()
    names = np.asarray(contributions.columns)[cols]
    value_matrix = values[list(contributions.columns)].astype("object").to_numpy()
    return pd.DataFrame({
        "customer_id": customer_ids.to_numpy()[rows],
        "feature": names,
        "value": pd.Series(value_matrix[rows, cols]).astype("str").to_numpy(),
        "contribution": matrix[rows, cols],
    })
