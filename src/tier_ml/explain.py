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


def probability_scale(
    contributions: np.ndarray, calibrate: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
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
    if not any(c in groups for c in contributions.columns):
        return contributions  # native categoricals: one column per feature already
    sources = [groups.get(c, c) for c in contributions.columns]
    return contributions.T.groupby(sources, sort=False).sum().T


def one_hot_groups(columns: list[str], separator: str = "=") -> dict[str, str]:
    """`industry=Retail` belongs to `industry`."""
    return {c: c.split(separator, 1)[0] for c in columns if separator in c}


def _value_sentences(spec: FeatureSpec | None, feature: str, column: pd.Series) -> np.ndarray:
    """Each row's value said in words, rendered once per distinct value (a million customers
    share few values of one feature)."""
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    words = [spec.sentence(v) if spec else f"{feature.replace('_', ' ')} = {v}" for v in distinct]
    return np.asarray(words, dtype=object)[codes]


def tenths_of_points(contributions: np.ndarray) -> np.ndarray:
    """Probability-scale effects in the tenths of a percentage point that a reason shows."""
    return np.round(contributions * 1000).astype(np.int64)


def _points(contributions: np.ndarray) -> np.ndarray:
    """' (+4.2 pts)' for each effect, rendered once per distinct tenth of a point."""
    distinct, inverse = np.unique(tenths_of_points(contributions), return_inverse=True)
    return np.asarray([f" ({t / 10:+.1f} pts)" for t in distinct], dtype=object)[inverse]


def _ranked_sentences(
    matrix: np.ndarray,
    picks: np.ndarray,
    keep: np.ndarray,
    values: pd.DataFrame,
    names: np.ndarray,
    registry: Mapping[str, FeatureSpec],
) -> np.ndarray:
    """The sentence for each row's picked feature, rendered one feature at a time."""
    effects = matrix[np.arange(len(matrix)), picks]
    out = np.full(len(matrix), None, dtype=object)
    for j in np.unique(picks[keep]):
        chosen = keep & (picks == j)
        column = values[names[j]][chosen]
        said = _value_sentences(registry.get(names[j]), names[j], column)
        out[chosen] = said + _points(effects[chosen])
    return out


def reason_codes(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
    n_reasons: int = 3,
    n_risks: int = 2,
) -> pd.DataFrame:
    """reason_1..n (what raises the win probability most) and risk_1..m (what lowers it),
    each a sentence with the customer's own value and its effect in percentage points. An
    effect that rounds to 0.0 points is no reason: it is left out."""
    matrix = contributions.to_numpy(float)
    names = np.asarray(contributions.columns)
    values = values.reset_index(drop=True)
    order = np.argsort(-matrix, axis=1, kind="stable")
    rows = np.arange(len(matrix))
    shown = tenths_of_points(matrix)
    out = {}
    for k in range(n_reasons):
        picks = order[:, k] if k < matrix.shape[1] else np.zeros(len(matrix), dtype=int)
        keep = (shown[rows, picks] > 0) if k < matrix.shape[1] else np.zeros(len(matrix), bool)
        out[f"reason_{k + 1}"] = _ranked_sentences(matrix, picks, keep, values, names, registry)
    for k in range(n_risks):
        picks = order[:, -1 - k] if k < matrix.shape[1] else np.zeros(len(matrix), dtype=int)
        keep = (shown[rows, picks] < 0) if k < matrix.shape[1] else np.zeros(len(matrix), bool)
        out[f"risk_{k + 1}"] = _ranked_sentences(matrix, picks, keep, values, names, registry)
    return pd.DataFrame(out, index=contributions.index)


def top_contributions(
    contributions: pd.DataFrame, values: pd.DataFrame, customer_ids: pd.Series, top: int = 8
) -> pd.DataFrame:
    """Long format for drill-down: customer_id, feature, the customer's value (a number in
    `value`, the name of a category in `category`, so that SQL can sum and compare values)
    and contribution (the `top` largest by size per customer)."""
    matrix = contributions.to_numpy(float)
    k = min(top, matrix.shape[1])
    cols = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :k].ravel()
    rows = np.repeat(np.arange(len(matrix)), k)
    names = np.asarray(contributions.columns)
    number = np.full(len(rows), np.nan)
    category = np.full(len(rows), None, dtype=object)
    for j in np.unique(cols):
        at = cols == j
        shown = values[names[j]].iloc[rows[at]]
        if pd.api.types.is_numeric_dtype(shown):
            number[at] = shown.to_numpy(dtype=float, na_value=np.nan)
        else:
            category[at] = shown.astype("str").to_numpy(dtype=object, na_value=None)
    return pd.DataFrame(
        {
            "customer_id": customer_ids.to_numpy()[rows],
            "feature": pd.array(names[cols], dtype="str"),
            "value": number,
            "category": pd.array(category, dtype="str"),
            "contribution": matrix[rows, cols],
        }
    )


def contribution_changes(
    reasons: pd.DataFrame, before: pd.Timestamp, after: pd.Timestamp
) -> pd.DataFrame:
    """customer_id, feature and `change` (contribution at `after` minus at `before`) from the
    long-format reasons of two runs, for the features in both runs' top contributions: the
    ones whose effect both runs know."""
    runs = reasons[reasons["as_of"].isin([before, after])]
    wide = runs.pivot_table(
        index=["customer_id", "feature"], columns="as_of", values="contribution", aggfunc="sum"
    )
    if not {before, after} <= set(wide.columns):
        return pd.DataFrame(columns=["customer_id", "feature", "change"])
    both = wide[[before, after]].dropna()
    return (both[after] - both[before]).rename("change").reset_index()
