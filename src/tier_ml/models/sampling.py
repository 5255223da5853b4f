"""Which labelled rows a model is fitted on, and with what weight.

Stacked cutoffs grow as customers × cutoffs: 24 cutoffs of 100,000 customers are 2.4 million
rows, most of them customers who bought nothing, and a fit does not need every one of them.
Above `max_rows`, negatives are thinned first, at one rate over every cutoff, but no cutoff
keeps fewer than `min_negatives_per_positive` times its positives; if the rows still exceed
the budget, every row is thinned evenly. Each kept row weighs 1 / P(kept), so the weighted
sums a gradient-boosted fit makes (gradients, hessians, calibration) estimate the full data's
without bias, and probabilities keep their scale.

A row is kept or not by a hash of (customer, cutoff, seed), not by its position: the same
rows are drawn whatever order they come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.util import hash_array


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


def keep_rates(won: pd.Series, as_of: pd.Series, sampling: SamplingParams) -> np.ndarray:
    """P(kept) per row: within the row budget every row; above it negatives first, down to
    each cutoff's floor, then every row evenly."""
    won = np.asarray(won, dtype=bool)
    rates = np.ones(len(won))
    budget = sampling.max_rows
    if budget is None or len(won) <= budget:
        return rates
    cutoff = pd.Series(won).groupby(np.asarray(as_of))
    positives = cutoff.transform("sum").to_numpy(float)
    negatives = cutoff.transform("size").to_numpy(float) - positives
    floor = np.minimum(
        1.0, sampling.min_negatives_per_positive * positives / np.maximum(negatives, 1.0)
    )
    uniform = max(0.0, budget - won.sum()) / max(1, (~won).sum())
    rates[~won] = np.maximum(uniform, floor[~won])
    expected = rates.sum()
    return rates if np.isclose(expected, budget) else rates * min(1.0, budget / expected)


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
    (customer, cutoff): rows of one customer at one cutoff (its open deals) stay together."""
    rates = keep_rates(rows[label], rows["as_of"], sampling)
    if (rates >= 1.0).all():
        return rows, np.ones(len(rows))
    kept = row_draws(rows["customer_id"], rows["as_of"], seed) < rates
    return rows[kept], 1.0 / rates[kept]
