"""Splitting stacked cutoffs by time, with a purge gap so that no label window crosses a split."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs for fitting, for early stopping and calibration, and for the held-out test."""

    train: list[pd.Timestamp]
    valid: list[pd.Timestamp]
    test: list[pd.Timestamp]

    def as_dict(self) -> dict[str, list[str]]:
        return {
            k: [t.date().isoformat() for t in getattr(self, k)] for k in ("train", "valid", "test")
        }


class NotEnoughCutoffs(ValueError):
    """Too few cutoffs for a purged train / valid / test split."""


def purged_before(
    cutoffs: list[pd.Timestamp], boundary: pd.Timestamp, horizon_days: int
) -> list[pd.Timestamp]:
    """Cutoffs whose label window ends on or before `boundary`."""
    return [t for t in cutoffs if t + pd.Timedelta(days=horizon_days) <= boundary]


def time_split(
    cutoffs: list[pd.Timestamp], horizon_days: int, valid_cutoffs: int = 2, test_cutoffs: int = 1
) -> TimeSplit:
    """Latest cutoffs are the test; before them (label windows closed by the first test
    cutoff) the validation slice; before that, likewise purged, the training slice."""
    ordered = sorted(pd.Timestamp(t) for t in cutoffs)
    test = ordered[-test_cutoffs:]
    valid = purged_before(ordered, test[0], horizon_days)[-valid_cutoffs:]
    train = purged_before(ordered, valid[0], horizon_days) if valid else []
    if not train or len(valid) < valid_cutoffs:
        raise NotEnoughCutoffs(
            f"{len(ordered)} cutoffs are too few for a purged split with a {horizon_days}-day "
            f"horizon ({valid_cutoffs} validation, {test_cutoffs} test cutoffs): add cutoffs "
            "(features.cutoffs.count) or shorten the horizon"
        )
    return TimeSplit(train=train, valid=valid, test=test)


def rows_at(table: pd.DataFrame, cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
    return table[table["as_of"].isin(cutoffs)]
