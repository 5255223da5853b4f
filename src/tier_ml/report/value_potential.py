"""The value–potential matrix of the tiering playbooks: what a customer brings now (won revenue
in the last period) against what the model expects (expected value), in four quadrants.

Each axis splits at its median over the customers placed: above the median is high, at or below
it low. Where most customers bought nothing in the last period the median is 0, and "high
current value" then means any revenue won in it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tier_ml.tiering import TIERS

# (high current value, high potential) -> quadrant, in the order the report lays them out
QUADRANTS = {
    (True, True): "grow",
    (True, False): "protect",
    (False, True): "develop",
    (False, False): "maintain",
}
EXAMPLES = 3  # named accounts per quadrant


def quadrants(current: pd.Series, potential: pd.Series) -> pd.Series:
    """Each customer's quadrant, the axes split at their medians (above is high)."""
    high_value = current > current.median()
    high_potential = potential > potential.median()
    return pd.Series(
        [QUADRANTS[key] for key in zip(high_value, high_potential, strict=True)],
        index=current.index,
    )


def value_potential(scores: pd.DataFrame, current_value: pd.DataFrame) -> dict[str, Any] | None:
    """The matrix of one run: each quadrant's count and its largest accounts (by current value
    plus expected value), the medians it splits at, and how many of each tier fall in each
    quadrant. `current_value` holds `customer_id, current_value`. None where no customer has
    both numbers (rules only, without money)."""
    placed = scores.merge(current_value, on="customer_id").dropna(
        subset=["current_value", "expected_value"]
    )
    if placed.empty:
        return None
    placed = placed.assign(quadrant=quadrants(placed["current_value"], placed["expected_value"]))
    size = placed["current_value"] + placed["expected_value"]
    largest = placed.loc[size.sort_values(ascending=False).index]
    by_tier = pd.crosstab(placed["tier"], placed["quadrant"]).reindex(
        index=list(TIERS), columns=list(QUADRANTS.values()), fill_value=0
    )
    return {
        "customers": len(placed),
        "value_median": float(placed["current_value"].median()),
        "potential_median": float(placed["expected_value"].median()),
        "quadrants": [
            {
                "key": key,
                "high_value": high_value,
                "high_potential": high_potential,
                "customers": int((placed["quadrant"] == key).sum()),
                "examples": largest.loc[largest["quadrant"] == key, "customer_id"]
                .head(EXAMPLES)
                .tolist(),
            }
            for (high_value, high_potential), key in QUADRANTS.items()
        ],
        "by_tier": [
            {"tier": tier, "counts": {k: int(n) for k, n in row.items()}}
            for tier, row in by_tier.iterrows()
        ],
    }
