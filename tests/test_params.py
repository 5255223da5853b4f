"""Parameters that cannot work together fail up front, naming the parameter to change."""

from __future__ import annotations

import pytest

from tests.conftest import base_parameters
from tier_ml.params import ParameterError, check_parameters


def _params(features: dict | None = None, train: dict | None = None) -> tuple[dict, dict]:
    shipped_features = base_parameters("features")["features"]
    shipped_train = base_parameters("train")["train"]
    return {**shipped_features, **(features or {})}, {**shipped_train, **(train or {})}


def test_the_shipped_parameters_pass():
    check_parameters(*_params())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"rfm_windows": [90, 180, 730]}, "add 365 to features.rfm_windows"),
        ({"activity_windows": [30, 365]}, "add 90 to features.activity_windows"),
        ({"activity_types": ["web_visit", "call"]}, "add 'meeting' to features.activity_types"),
    ],
)
def test_a_window_a_model_reads_must_be_computed(change, expected):
    with pytest.raises(ParameterError, match=expected):
        check_parameters(*_params(features=change))


def test_every_consumer_of_a_missing_window_is_named():
    with pytest.raises(ParameterError) as error:
        check_parameters(*_params(features={"rfm_windows": [90, 180]}))
    message = str(error.value)
    for consumer in ("the segment model", "the RFM baseline", "train.scorecard"):
        assert f"{consumer} reads 'won_count_365d'" in message


@pytest.mark.parametrize(
    "excluded",
    [
        "won_count_365d",
        "act_total_90d",
        "days_since_last_touch",
        "won_revenue_180d",
        "lost_count_total",  # the cold-start flag of the registered scoring model
    ],
)
def test_features_the_registered_models_read_cannot_be_excluded(excluded):
    with pytest.raises(ParameterError, match=f"train.exclude_features removes '{excluded}'"):
        check_parameters(*_params(train={"exclude_features": [excluded, "industry"]}))


def test_other_features_can_be_excluded():
    check_parameters(*_params(train={"exclude_features": ["industry", "act_email_30d"]}))
