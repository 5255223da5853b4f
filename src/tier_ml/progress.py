"""Progress of long loops as plain log lines, e.g. `features: cutoff 7/24 (2024-03-01)`.

A nightly run over a million customers spends minutes in a few loops (features at each cutoff,
candidates at each origin, explanations of each batch of customers); its log file should say
where it is. A line is written only when `INTERVAL_S` seconds have passed since the loop
started or since its last line, so fast loops (the default data) add nothing and a step costs one
clock read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from time import monotonic
from typing import TypeVar

import pandas as pd

logger = logging.getLogger(__name__)
INTERVAL_S = 10.0

Step = TypeVar("Step")


def day(value: object) -> str:
    """A cutoff or origin as its date."""
    return pd.Timestamp(value).date().isoformat()


def progress(
    steps: Sequence[Step],
    task: str,
    unit: str,
    describe: Callable[[Step], str] = day,
) -> Iterator[Step]:
    """Yield `steps`; log `task: unit i/n (describe(step))` before a step that starts at least
    `INTERVAL_S` seconds after the loop started or after the last such line."""
    last = monotonic()
    for i, step in enumerate(steps, start=1):
        now = monotonic()
        if now - last >= INTERVAL_S:
            logger.info("%s: %s %d/%d (%s)", task, unit, i, len(steps), describe(step))
            last = now
        yield step
