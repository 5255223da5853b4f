"""Purged time splits, the propensity model, calibration, determinism, minimum data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.models.conftest import HORIZON, SPEC
from tier_ml.evaluation import expected_calibration_error
from tier_ml.models.matrix import model_columns
from tier_ml.models.propensity import PropensityModel
from tier_ml.models.split import NotEnoughCutoffs, rows_at, time_split
from tier_ml.models.training import minimum_data_check, train_models
from tier_ml.sources.synthetic import hidden_quality

MONTHLY = [pd.Timestamp("2024-01-01") + pd.DateOffset(months=k) for k in range(20)]


def test_split_is_purged_so_no_label_window_crosses_into_a_later_slice():
    split = time_split(MONTHLY, 180, valid_cutoffs=2, test_cutoffs=1)
    horizon = pd.Timedelta(days=180)
    assert split.test == [MONTHLY[-1]]
    assert max(split.valid) + horizon <= min(split.test)
    assert max(split.train) + horizon <= min(split.valid)
    assert len(split.valid) == 2 and split.train == sorted(split.train)


def test_split_refuses_too_few_cutoffs():
    with pytest.raises(NotEnoughCutoffs, match="5 cutoffs are too few"):
        time_split(MONTHLY[:5], 180)


@pytest.fixture(scope="module")
def slices(model_input, split):
    features = model_columns(model_input)
    return features, [rows_at(model_input, c) for c in (split.train, split.valid, split.test)]


def _fit(slices, **kwargs) -> PropensityModel:
    features, (train, valid, _) = slices
    return PropensityModel(seed=5, **kwargs).fit(
        train[features], train["won_any"], valid[features], valid["won_any"]
    )


def test_same_seed_gives_identical_predictions(slices):
    features, (_, _, test) = slices
    first, second = _fit(slices), _fit(slices)
    np.testing.assert_array_equal(first.predict(test[features]), second.predict(test[features]))


def test_calibration_does_not_worsen_ece(slices):
    features, (_, _, test) = slices
    y = test["won_any"].to_numpy()
    for method in ("platt", "isotonic"):
        model = _fit(slices, calibration=method)
        calibrated = expected_calibration_error(y, model.predict(test[features]))
        raw = expected_calibration_error(y, model.predict_uncalibrated(test[features]))
        assert calibrated <= raw + 1e-3, method


def test_model_learns_the_hidden_quality(slices):
    features, (_, _, test) = slices
    p = pd.Series(_fit(slices).predict(test[features]), index=test["customer_id"])
    quality = hidden_quality(SPEC).reindex(p.index)
    assert p.corr(quality, method="spearman") > 0.4


def test_contributions_add_up_to_the_raw_score(slices):
    features, (_, _, test) = slices
    model = _fit(slices)
    contributions = model.contributions(test[features].head(200))
    np.testing.assert_allclose(
        contributions.sum(axis=1), model.raw_score(test[features].head(200)), atol=1e-6
    )


def test_minimum_data_check_says_what_is_missing():
    rows = pd.DataFrame({"won_any": [True] * 12 + [False] * 100})
    check = minimum_data_check(rows, 40, 40)
    assert not check.passed and (check.positives, check.negatives) == (12, 100)
    assert (
        "28 more customers who bought in the horizon in the training slice (have 12, need 40)"
        in check.message
    )
    assert "rules scorecard" in check.message
    assert minimum_data_check(rows, 10, 40).passed


def test_too_little_data_trains_no_model(model_input, split, train_params):
    from dataclasses import replace

    strict = replace(train_params, min_positives=10**7)
    models = train_models(model_input, split, strict)
    assert models.rules_only and models.ltv is None and not models.check.passed
    assert models.segments is not None  # segments need no labels


def test_horizon_of_fixture_matches_labels(model_input):
    assert (model_input["as_of"] + pd.Timedelta(days=HORIZON) <= pd.Timestamp(SPEC.end_date)).all()


def test_calibration_needs_both_outcomes_in_the_validation_slice():
    train = pd.DataFrame({"won_any": [True] * 100 + [False] * 100})
    valid = pd.DataFrame({"won_any": [True] * 50 + [False] * 3})
    check = minimum_data_check(train, 40, 40, valid)
    assert not check.passed
    assert "7 more customers who did not in the validation slice (have 3, need 10)" in (
        check.message
    )
