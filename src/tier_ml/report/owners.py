"""Each account owner's list: who owns which scored account, and the file a CRM reads back.

Customers whose owner is missing or blank belong to the unassigned list, which has its own
file: an account nobody owns is a question for leadership, not a row to drop.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

UNASSIGNED = "unassigned"  # the file of the accounts without an owner
WRITEBACK_COLUMNS = [
    "customer_id",
    "tier",
    "previous_tier",
    "p_win",
    "expected_value",
    "top_reason",
    "risk",
    "as_of",
]


def owners(scores: pd.DataFrame) -> pd.Series:
    """Each row's owner, missing (NaN) where the CRM names none or only blanks."""
    named = scores["owner"].astype("object")
    return named.where(named.map(lambda o: isinstance(o, str) and bool(o.strip())))


def _safe_stem(owner: str) -> str:
    """The owner's name with everything but letters, digits, "_" and "-" turned into "_",
    so that no name can climb out of the folder, hide a file or upset a file system."""
    return re.sub(r"[^\w-]+", "_", owner).strip("_-")[:80] or "owner"


def _digest(owner: str) -> str:
    return hashlib.sha1(owner.encode()).hexdigest()[:6]


def file_stems(names: Iterable[str]) -> dict[str, str]:
    """Each owner's file name without `.csv`. Names that come out alike (ignoring case, as
    some file systems do), or like the unassigned list's, get a short digest of the owner's
    own name, so that no list overwrites another."""
    safe = {name: _safe_stem(name) for name in sorted(set(names))}
    taken = Counter(stem.casefold() for stem in safe.values()) + Counter([UNASSIGNED])
    return {
        name: stem if taken[stem.casefold()] == 1 else f"{stem}-{_digest(name)}"
        for name, stem in safe.items()
    }


def writeback_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """Accounts as a CRM imports them: the tier and the one before it, the win probability,
    the expected value, the top reason and risk, the run date; A first, largest first."""
    ordered = scores.sort_values(["tier", "expected_value"], ascending=[True, False])
    return pd.DataFrame(
        {
            "customer_id": ordered["customer_id"],
            "tier": ordered["tier"],
            "previous_tier": ordered["previous_tier"],
            "p_win": ordered["p_win"].round(4),
            "expected_value": ordered["expected_value"].round(2),
            "top_reason": ordered["reason_1"],
            "risk": ordered["risk_1"],
            "as_of": pd.to_datetime(ordered["as_of"]).dt.date.astype(str),
        }
    )[WRITEBACK_COLUMNS]


def list_stems(scores: pd.DataFrame) -> pd.Series:
    """Each row's list: its owner's file name (without `.csv`), or `UNASSIGNED`."""
    owner = owners(scores)
    return owner.map(file_stems(owner.dropna())).fillna(UNASSIGNED)


def owner_lists(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One run's accounts, every tier, split by owner and keyed by file name (without
    `.csv`); the accounts without an owner under `UNASSIGNED`."""
    lists = scores.assign(list=list_stems(scores)).groupby("list")
    return {stem: writeback_rows(accounts) for stem, accounts in lists}
