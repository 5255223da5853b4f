"""Which labelled rows a model is fitted on, and with what weight.

Stacked cutoffs grow as customers × cutoffs: 24 cutoffs of 100,000 customers are 2.4 million
rows, most of them customers who bought nothing, and a fit does not need every one of them.
Above `max_rows`, negatives are thinned first, at one rate over every cutoff, but no cutoff
keeps fewer than `min_negatives_per_positive` times its positives; if the rows still exceed
the budget, every row is thinned evenly. Each kept row weighs 1 / P(kept), so the weighted
sums a gradient-boosted fit makes (gradients, hessians, calibration) estimate the full data's
without bias, and probabilities keep their scale.

A row is kept or not by a hash of (customer, cutoff, seed), not by its position: the same
rows are drawn whatever order they come in. The training table itself is thinned as each
cutoff is built (`StoredSample`), by the same hash at the highest rate any fit draws there,
so every fit's sample lies inside it; its rows carry their weights (`row_weight`), which the
fits and everything that counts or ranks the table's customers read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.util import hash_array

from tier_ml.features.build import ROW_WEIGHT, row_weights


@dataclass(frozen=True)
class SamplingParams:
    """`train.sampling`; `max_rows: null` fits on every row."""

    max_rows: int | None = None
    min_negatives_per_positive: float = 2.0

    @classmethod
    def from_dict(cls, sampling: dict[str, Any] | None) -> SamplingParams:
        sampling = sampling or {}
        budget = sampling.get("max_rows")
        return cls(
            max_rows=None if budget is None else int(budget),
            min_negatives_per_positive=float(sampling.get("min_negatives_per_positive", 2.0)),
        )


EVERY_ROW = SamplingParams()  # no row budget: a fit sees every row


def cutoff_counts(
    won: pd.Series, as_of: pd.Series, weight: np.ndarray | None = None
) -> pd.DataFrame:
    """Per cutoff (the index), how many rows won (`won`) and how many did not (`lost`); with
    `weight`, how many rows they stand for."""
    won = np.asarray(won, dtype=bool)
    weight = np.ones(len(won)) if weight is None else np.asarray(weight, dtype=float)
    frame = pd.DataFrame({"as_of": np.asarray(as_of), "won": weight * won, "lost": weight * ~won})
    return frame.groupby("as_of").sum()


def cutoff_keep_rates(counts: pd.DataFrame, sampling: SamplingParams) -> pd.DataFrame:
    """P(kept) of a row that won (`won`) and of one that did not (`lost`) at each cutoff of
    `counts` (`cutoff_counts`): within the row budget every row; above it negatives first, at
    one rate, down to each cutoff's floor, then every row evenly."""
    rates = pd.DataFrame(1.0, index=counts.index, columns=["won", "lost"])
    positives, negatives = counts["won"].to_numpy(float), counts["lost"].to_numpy(float)
    budget = sampling.max_rows
    if budget is None or positives.sum() + negatives.sum() <= budget:
        return rates
    floor = np.minimum(
        1.0, sampling.min_negatives_per_positive * positives / np.maximum(negatives, 1.0)
    )
    uniform = max(0.0, budget - positives.sum()) / max(1.0, negatives.sum())
    rates["lost"] = np.maximum(uniform, floor)
    expected = positives.sum() + (rates["lost"].to_numpy() * negatives).sum()
    return rates if np.isclose(expected, budget) else rates * min(1.0, budget / expected)


def rate_of_each_row(rates: pd.DataFrame, won: pd.Series, as_of: pd.Series) -> np.ndarray:
    """Each row's rate from its cutoff's row of `rates` (`cutoff_keep_rates`)."""
    at = rates.index.get_indexer(np.asarray(as_of))
    if (at < 0).any():  # an index of -1 would read the last cutoff's rate
        raise ValueError(f"no keep rate for cutoff(s) {sorted(set(np.asarray(as_of)[at < 0]))}")
    won = np.asarray(won, dtype=bool)
    return np.where(won, rates["won"].to_numpy()[at], rates["lost"].to_numpy()[at])


def keep_rates(
    won: pd.Series, as_of: pd.Series, sampling: SamplingParams, weight: np.ndarray | None = None
) -> np.ndarray:
    """P(kept) per row, from the rows that `weight` (of a thinned table) says they stand for."""
    rates = cutoff_keep_rates(cutoff_counts(won, as_of, weight), sampling)
    return rate_of_each_row(rates, won, as_of)


def row_draws(customer_id: pd.Series, as_of: pd.Series, seed: int) -> np.ndarray:
    """A uniform draw in [0, 1) per (customer, cutoff), fixed by the seed, independent across
    a customer's cutoffs: the customer's keyed hash and the cutoff's hash, mixed by hashing
    again (no per-row strings: a fit at 100,000 customers draws for 2 M rows)."""
    key = f"tier-ml-s{seed:07d}"[:16]
    customer = hash_array(customer_id.astype("str").to_numpy(), hash_key=key)
    cutoff = hash_array(np.asarray(as_of, dtype="datetime64[us]").view("int64"))
    hashed = hash_array(customer ^ cutoff)
    return (hashed >> np.uint64(11)).astype(float) / float(1 << 53)


def training_sample(
    rows: pd.DataFrame, sampling: SamplingParams, seed: int, label: str = "won_any"
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows to fit on and their weights (1 / P(kept)); all rows, weight 1, when nothing
    needs thinning. `label`: the outcome whose negatives thin first. Rows are drawn by
    (customer, cutoff): rows of one customer at one cutoff (its open deals) stay together.
    Rows of a table thinned as it was built (`StoredSample`, its weights in `row_weight`)
    were drawn by the same hash: a fit keeps those whose draw is below its own rate, so its
    rows are the ones it would have drawn from the whole table, where the table kept them."""
    stored = row_weights(rows)
    rates = keep_rates(rows[label], rows["as_of"], sampling, stored)
    present = 1.0 / stored
    if (rates >= present).all():
        return rows, stored
    kept = row_draws(rows["customer_id"], rows["as_of"], seed) < rates
    return rows[kept], 1.0 / np.minimum(rates, present)[kept]


@dataclass(frozen=True)
class StoredSample:
    """Which rows the stacked training table keeps as each cutoff is built, so that a million
    customers' 24 cutoffs fit in memory. At each cutoff it keeps the highest P(kept) that any
    fit of `fit_sets` draws there (`cutoff_keep_rates` on that fit's cutoffs), by the same
    hash, so every fit's sample lies inside the table; and every row of the `whole` cutoffs
    (the replay origins, judged on every customer, and the latest, which sets the tier cut
    points and the drift reference). Each kept row carries its weight, 1 / P(kept)."""

    sampling: SamplingParams
    seed: int
    fit_sets: tuple[tuple[pd.Timestamp, ...], ...]
    whole: tuple[pd.Timestamp, ...]

    def rates(self, counts: pd.DataFrame) -> pd.DataFrame:
        """Per cutoff of `counts` (`cutoff_counts` of the whole population): P(kept)."""
        rates = pd.DataFrame(0.0, index=counts.index, columns=["won", "lost"])
        for cutoffs in self.fit_sets:
            fit = cutoff_keep_rates(counts.loc[list(cutoffs)], self.sampling)
            rates.loc[fit.index] = np.maximum(rates.loc[fit.index], fit)
        rates.loc[list(self.whole)] = 1.0
        return rates

    def thin(self, cutoff: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
        """The rows of one labelled cutoff that the table keeps, with their weights. Its
        outcomes must be the ones counted before building (`counts`), or the rates are wrong."""
        t = cutoff["as_of"].iloc[0] if len(cutoff) else None
        built = cutoff_counts(cutoff["won_any"], cutoff["as_of"])
        if t is not None and not np.allclose(built.loc[t], counts.loc[t]):
            raise RuntimeError(
                f"cutoff {pd.Timestamp(t).date()}: {built.loc[t].to_dict()} rows won/lost as "
                f"built, {counts.loc[t].to_dict()} as counted before building"
            )
        rate = rate_of_each_row(self.rates(counts), cutoff["won_any"], cutoff["as_of"])
        kept = row_draws(cutoff["customer_id"], cutoff["as_of"], self.seed) < rate
        return cutoff[kept].assign(**{ROW_WEIGHT: 1.0 / rate[kept]})
