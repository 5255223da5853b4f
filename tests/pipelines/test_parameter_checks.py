"""The train and score pipelines check their parameters first, before reading any data."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from tests.conftest import base_parameters
from tier_ml.pipelines.score.nodes import score_all
from tier_ml.pipelines.train.nodes import build_model_input

FIRST_NODES = {"train": build_model_input, "score": score_all}


def _call(node: Callable, features: dict, train: dict) -> None:
    """The node with its parameters and no data at all: only a check can run."""
    names = inspect.signature(node).parameters
    given = {"features": features, "train": train}
    node(**{name: given.get(name) for name in names})


@pytest.mark.parametrize("pipeline", FIRST_NODES)
@pytest.mark.parametrize(
    ("section", "change", "expected"),
    [
        ("features", {"rfm_windows": [90, 180, 730]}, "add 365 to features.rfm_windows"),
        ("features", {"activity_windows": [30, 365]}, "add 90 to features.activity_windows"),
        ("train", {"exclude_features": ["won_count_365d"]}, "train.exclude_features removes"),
    ],
)
def test_a_bad_setting_fails_before_any_work(pipeline, section, change, expected):
    params = {name: base_parameters(name)[name] for name in ("features", "train")}
    params[section] = {**params[section], **change}
    with pytest.raises(ValueError, match=expected):
        _call(FIRST_NODES[pipeline], params["features"], params["train"])
