"""Text rendered once per distinct row equals text rendered row by row."""

from __future__ import annotations

import numpy as np

from tier_ml.distinct import per_distinct


def test_each_distinct_row_is_rendered_once_and_every_row_gets_its_own_text():
    calls = []

    def render(tier, previous, kept):
        calls.append((tier, previous, kept))
        return f"{tier}<-{previous if isinstance(previous, str) else 'new'}{'!' if kept else ''}"

    tier = np.array(["A", "B", "A", "B", "A"], dtype=object)
    previous = np.array(["B", None, "B", None, "C"], dtype=object)
    kept = np.array([True, False, True, False, False])
    out = per_distinct(render, tier, previous, kept)
    assert out.tolist() == ["A<-B!", "B<-new", "A<-B!", "B<-new", "A<-C"]
    assert len(calls) == 3
    assert per_distinct(render, tier[:0], previous[:0], kept[:0]).tolist() == []
