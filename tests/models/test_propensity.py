"""The propensity model: early-stopped and deployment fits, calibration, determinism,
exact contributions, and the minimum data check."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from tests.models.conftest import HORIZON, SPEC
from tier_ml.evaluation import expected_calibration_error
from tier_ml.models.candidates import customer_folds, latest_cutoff_rows
from tier_ml.models.matrix import learn_categories, model_columns
from tier_ml.models.propensity import (
    EARLY_STOPPING_ROUNDS,
    PropensityModel,
    fit_early_stopped,
    lgbm_settings,
)
from tier_ml.models.training import labelled_before, minimum_data_check
from tier_ml.sources.synthetic import hidden_quality


@pytest.fixture(scope="module")
def slices(model_input):
    """Fit on cutoffs whose windows closed 180 days before the last, stop on the next
    ones, test on the last cutoff."""
    features = model_columns(model_input)
    cutoffs = sorted(model_input["as_of"].unique())
    test = model_input[model_input["as_of"] == cutoffs[-1]]
    seen = labelled_before(model_input, cutoffs[-1], HORIZON)
    stop_from = sorted(seen["as_of"].unique())[-2]
    fit = labelled_before(seen, stop_from, HORIZON)
    return features, [fit, seen[seen["as_of"] >= stop_from], test]


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
        "28 more customers who bought in the horizon in the labelled cutoffs (have 12, need 40)"
        in check.message
    )
    assert "chosen among the baselines" in check.message
    assert minimum_data_check(rows, 10, 40).passed


def test_horizon_of_fixture_matches_labels(model_input):
    assert (model_input["as_of"] + pd.Timedelta(days=HORIZON) <= pd.Timestamp(SPEC.end_date)).all()


@pytest.fixture(scope="module")
def deployed(slices):
    features, (fit, stop, _) = slices
    rows = pd.concat([fit, stop], ignore_index=True)
    folds = customer_folds(rows["customer_id"], seed=3)
    calibration = latest_cutoff_rows(rows["as_of"])
    model = PropensityModel({"n_estimators": 150}, seed=5)
    return (
        rows,
        folds,
        calibration,
        model.fit_deployed(rows[features], rows["won_any"], folds, calibration),
    )


def test_customer_folds_keep_a_customer_in_one_fold_at_every_cutoff(deployed):
    rows, folds, calibration, _ = deployed
    per_customer = pd.Series(folds).groupby(rows["customer_id"].to_numpy()).nunique()
    assert (per_customer == 1).all() and set(folds) == {0, 1, 2}
    latest = sorted(rows["as_of"].unique())[-(len(rows["as_of"].unique()) // 4) :]
    np.testing.assert_array_equal(calibration, rows["as_of"].isin(latest).to_numpy())


def _probe(x: pd.DataFrame, y: np.ndarray, folds: np.ndarray, weight: np.ndarray):
    """The early-stopping probe that `fit_deployed` fits inside: the other folds, fold 0
    stopping the trees, categories learnt from every row."""
    stop = folds == 0
    return fit_early_stopped(
        lgb.LGBMClassifier(**lgbm_settings({"n_estimators": 150}, 5)),
        x[~stop],
        y[~stop],
        x[stop],
        y[stop],
        list(x.columns),
        learn_categories(x),
        EARLY_STOPPING_ROUNDS,
        weight[~stop],
        weight[stop],
    )


@pytest.fixture(scope="module")
def probe(deployed, slices):
    features, _ = slices
    rows, folds, _, _ = deployed
    return _probe(rows[features], rows["won_any"].to_numpy(int), folds, np.ones(len(rows)))


def test_deployed_fit_learns_from_every_row_with_the_early_stopped_tree_count(
    deployed, slices, probe
):
    features, _ = slices
    rows, folds, _, model = deployed
    assert model.booster_.n_estimators == probe.best_iteration_
    # refitted on every row, the stopping fold included: not the probe's trees
    stopped = model.matrix(rows[features][folds == 0])
    deployed_raw = model.booster_.predict(stopped, raw_score=True)
    assert not np.allclose(deployed_raw, probe.predict(stopped, raw_score=True))


def _platt_on_probe(model, probe, x, y, held, weight) -> LogisticRegression:
    raw = probe.predict(model.matrix(x[held]), raw_score=True).reshape(-1, 1)
    return LogisticRegression(C=1e6).fit(raw, y[held], sample_weight=weight[held])


def test_deployed_calibration_is_the_probes_scores_of_the_stopping_fold_lately(
    deployed, slices, probe
):
    """Platt on the probe's scores of fold 0 at the latest cutoffs only: customers the probe
    never learnt from, as close in time as the data allows."""
    features, _ = slices
    rows, folds, calibration, model = deployed
    y, held = rows["won_any"].to_numpy(int), (folds == 0) & calibration
    expected = _platt_on_probe(model, probe, rows[features], y, held, np.ones(len(rows)))
    np.testing.assert_allclose(model.calibrator_.coef_, expected.coef_, rtol=1e-6)
    np.testing.assert_allclose(model.calibrator_.intercept_, expected.intercept_, rtol=1e-6)


def test_deployed_calibration_weighs_rows_as_the_sample_does(deployed, slices):
    features, _ = slices
    rows, folds, calibration, _ = deployed
    x, y = rows[features], rows["won_any"].to_numpy(int)
    weight = np.where(y == 1, 1.0, 3.0)  # negatives thinned to a third
    model = PropensityModel({"n_estimators": 150}, seed=5).fit_deployed(
        x, y, folds, calibration, weight
    )
    probe = _probe(x, y, folds, weight)
    held = (folds == 0) & calibration
    expected = _platt_on_probe(model, probe, x, y, held, weight)
    unweighted = _platt_on_probe(model, probe, x, y, held, np.ones(len(y)))
    np.testing.assert_allclose(model.calibrator_.intercept_, expected.intercept_, rtol=1e-6)
    assert not np.allclose(model.calibrator_.intercept_, unweighted.intercept_, rtol=1e-3)


def test_deployed_calibration_holds_on_a_later_cutoff(deployed, slices):
    features, (_, _, test) = slices
    *_, model = deployed
    y = test["won_any"].to_numpy()
    calibrated = expected_calibration_error(y, model.predict(test[features]))
    assert calibrated < 0.04


def test_one_outcome_in_the_latest_cutoffs_falls_back_to_every_cutoff(deployed, slices):
    """Customers who all bought lately (Maven: 99.9 %) leave the calibration slice one class:
    calibrate on the probe's scores at every cutoff instead of crashing."""
    features, _ = slices
    rows, folds, calibration, _ = deployed
    won = rows["won_any"].where(~calibration, True)
    model = PropensityModel({"n_estimators": 40}, seed=5).fit_deployed(
        rows[features], won, folds, calibration
    )
    p_win = model.predict(rows[features].head(50))
    assert model.calibrator_ is not None and np.isfinite(p_win).all()
