"""Promotion follows registration, and scoring follows both, in every combination."""

from __future__ import annotations

from itertools import combinations, pairwise

import pytest
from kedro.pipeline import Pipeline

from tier_ml.pipelines.backtest import create_pipeline as backtest_pipeline
from tier_ml.pipelines.score import create_pipeline as score_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline

PIPELINES = {"train": train_pipeline, "backtest": backtest_pipeline, "score": score_pipeline}
COMBINATIONS = [names for n in (2, 3) for names in combinations(PIPELINES, n)]


def _downstream(pipeline: Pipeline, node_name: str) -> set[str]:
    return {n.name for n in pipeline.from_nodes(node_name).nodes} - {node_name}


@pytest.mark.parametrize("names", COMBINATIONS, ids="+".join)
def test_each_step_waits_for_the_registry_changes_before_it(names):
    pipeline = sum((PIPELINES[name]() for name in names), Pipeline([]))
    order = [
        ("train", "register_models"),
        ("backtest", "promotion_gate"),
        ("score", "score_customers"),
    ]
    steps = [node for name, node in order if name in names]
    for earlier, later in pairwise(steps):
        assert later in _downstream(pipeline, earlier)
