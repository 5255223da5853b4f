"""Population drift: is the population scored today the one the champion learned from, and
the one scored last time?

A *distribution* is a small table, one row per bin of each feature, on which any later
sample can be binned and compared:

- a numeric feature: bins cut at the reference's deciles (fewer where values repeat), each
  holding the values up to its `upper` edge (the last one open), then a bin for missing values;
  `p_win` in fixed bands of ten points instead (`FIXED_EDGES`);
- a categorical feature: the reference's categories (its `MAX_CATEGORIES` most frequent),
  `OTHER` for any value it did not see, then `MISSING`.

The population stability index sums (actual - expected) * ln(actual / expected) over the bins,
shares floored at `EPSILON` so that an empty bin counts without a division by zero. Below
`WARNING` a feature is stable; above `ALERT` it moved enough that the tiers may no longer
mean what they meant in training (the usual credit-scoring reading of PSI).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

N_BINS = 10
MAX_CATEGORIES = 20
EPSILON = 1e-4
WARNING, ALERT = 0.10, 0.25
MISSING, OTHER = "(missing)", "(other)"
SCORE_FEATURES = ("p_win", "tier")  # what scoring adds to the features it watches
AGAINST = ("training", "previous_run")
DISTRIBUTION_COLUMNS = ["feature", "upper", "category", "share"]
DRIFT_COLUMNS = ["as_of", "feature", "against", "psi", "level"]
# p_win's level is what the tiers read; decile edges inside a cluster of near-equal small
# probabilities (the many customers a model gives 0.02 %) would turn a shift of 0.0001 into a
# large PSI
FIXED_EDGES = {"p_win": np.arange(1, 10) / 10}


def empty_distribution() -> pd.DataFrame:
    """Typed even when empty: every run writes the same Parquet schema."""
    return pd.DataFrame(
        {
            "feature": pd.Series(dtype="str"),
            "upper": pd.Series(dtype="float64"),
            "category": pd.Series(dtype="str"),
            "share": pd.Series(dtype="float64"),
        }
    )


def empty_drift() -> pd.DataFrame:
    """Typed even when empty (a first run without a reference): the same schema for BI."""
    return pd.DataFrame(
        {
            "as_of": pd.Series(dtype="datetime64[us]"),
            "feature": pd.Series(dtype="str"),
            "against": pd.Series(dtype="str"),
            "psi": pd.Series(dtype="float64"),
            "level": pd.Series(dtype="str"),
        }
    )


def decile_edges(values: pd.Series) -> np.ndarray:
    """The reference's deciles, each an observed value (an interpolated edge would open a bin
    that is empty in the reference), once each."""
    present = values.dropna().to_numpy(float, na_value=np.nan)
    if not len(present):
        return np.array([])
    return np.unique(np.quantile(present, np.arange(1, N_BINS) / N_BINS, method="lower"))


def feature_bins(values: pd.Series, edges: np.ndarray | None = None) -> pd.DataFrame:
    """The bins of one feature, cut on a reference sample (at `edges` when given): `upper`
    edges for a number (NaN on the missing bin), `category` for text."""
    if pd.api.types.is_numeric_dtype(values):
        edges = decile_edges(values) if edges is None else edges
        return pd.DataFrame(
            {"upper": [*edges, np.inf, np.nan], "category": [None] * (len(edges) + 1) + [MISSING]}
        )
    counts = values.dropna().astype("str").value_counts().sort_index()
    kept = counts.sort_values(ascending=False, kind="stable").index[:MAX_CATEGORIES]
    return pd.DataFrame({"upper": np.nan, "category": [*sorted(kept), OTHER, MISSING]})


def bin_index(values: pd.Series, bins: pd.DataFrame) -> np.ndarray:
    """The bin of `bins` (one feature's rows of a distribution) that each value falls in."""
    upper = bins["upper"].to_numpy(float)
    missing = values.isna().to_numpy()
    if not np.isnan(upper).all():
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(float, na_value=np.nan)
        index = np.searchsorted(upper[:-2], numbers, side="left")
        return np.where(np.isnan(numbers), len(bins) - 1, index)
    position = {c: i for i, c in enumerate(bins["category"].iloc[:-2])}
    index = np.full(len(values), len(bins) - 1)
    known = values[~missing].astype("str").map(position)
    index[~missing] = known.fillna(len(bins) - 2).to_numpy(int)
    return index


def shares(values: pd.Series, bins: pd.DataFrame) -> np.ndarray:
    """The share of `values` in each bin."""
    counts = np.bincount(bin_index(values, bins), minlength=len(bins))
    return counts / max(len(values), 1)


def distribution(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Each column's bins, cut on `frame`, with the share of its rows in each: what later
    samples are compared with."""
    parts = []
    for column in columns:
        bins = feature_bins(frame[column], FIXED_EDGES.get(column))
        parts.append(bins.assign(feature=column, share=shares(frame[column], bins)))
    if not parts:
        return empty_distribution()
    return pd.concat(parts, ignore_index=True)[DISTRIBUTION_COLUMNS].astype(
        empty_distribution().dtypes.to_dict()
    )


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, float), EPSILON, None)
    a = np.clip(np.asarray(actual, float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    return "alert" if value > ALERT else "warning" if value > WARNING else "stable"


def drift_against(reference: pd.DataFrame, population: pd.DataFrame, against: str) -> pd.DataFrame:
    """The PSI of every feature of `reference` that `population` has, binned on the
    reference's bins."""
    rows = []
    for feature, bins in reference.groupby("feature", sort=False):
        if feature in population.columns:
            value = psi(bins["share"].to_numpy(), shares(population[feature], bins))
            rows.append(
                {"feature": feature, "against": against, "psi": value, "level": level(value)}
            )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS[1:])


def population_drift(
    as_of: pd.Timestamp, population: pd.DataFrame, references: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """One scoring run's drift table: a row per feature and reference (`training`,
    `previous_run`) given; none for an empty population, which has no distribution."""
    frames = [
        drift_against(reference, population, against)
        for against, reference in references.items()
        if len(reference) and len(population)
    ]
    if not frames:
        return empty_drift()
    table = pd.concat(frames, ignore_index=True).assign(as_of=pd.Timestamp(as_of))
    return table[DRIFT_COLUMNS].astype(empty_drift().dtypes.to_dict())


def drift_metrics(drift: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The drift table as MLflow metrics: `psi.<against>.<feature>` (under the `drift`
    prefix of the catalog)."""
    return {
        f"psi.{r.against}.{r.feature}": {"value": float(r.psi), "step": 0}
        for r in drift.itertuples()
    }


def drift_messages(drift: pd.DataFrame) -> list[str]:
    """One line per reference and level above stable, alerts first, for the run log."""
    reference = {"training": "the training data", "previous_run": "the previous run"}
    lines = []
    for name, threshold in (("alert", ALERT), ("warning", WARNING)):
        for against in AGAINST:
            moved = drift[(drift["level"] == name) & (drift["against"] == against)]
            if len(moved):
                listed = ", ".join(
                    f"{r.feature} {r.psi:.2f}"
                    for r in moved.sort_values("psi", ascending=False).itertuples()
                )
                lines.append(
                    f"Drift {name} against {reference[against]} (PSI above {threshold}): {listed}"
                )
    return lines


def _number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def drift_overview(
    drift: pd.DataFrame, as_of: pd.Timestamp, labels: Mapping[str, str], top: int = 10
) -> dict[str, Any]:
    """What the report shows of one run's drift: how many features each reference was
    compared on, the alerts per reference, and the `top` features that moved most against
    either (warning or alert), labelled, with both PSIs."""
    latest = drift[drift["as_of"] == pd.Timestamp(as_of)] if len(drift) else drift
    if latest.empty:
        return {"compared": {}, "alerts": {}, "rows": []}
    named = {f: labels.get(f, f.replace("_", " ")) for f in latest["feature"].unique()}
    label = {f: text[:1].upper() + text[1:] for f, text in named.items()}  # they head rows
    wide = latest.pivot(index="feature", columns="against", values="psi").reindex(
        columns=list(AGAINST)
    )
    worst = wide.max(axis=1)
    moved = worst[worst > WARNING].sort_values(ascending=False).head(top)
    alerts = {
        against: [
            {"feature": r.feature, "label": label[r.feature], "psi": float(r.psi)}
            for r in rows.sort_values("psi", ascending=False).itertuples()
        ]
        for against, rows in latest[latest["level"] == "alert"].groupby("against")
    }
    return {
        "compared": latest["against"].value_counts().to_dict(),
        "alerts": alerts,
        "rows": [
            {
                "feature": f,
                "label": label[f],
                **{against: _number(wide.at[f, against]) for against in AGAINST},
                "level": level(psi),
            }
            for f, psi in moved.items()
        ],
    }
