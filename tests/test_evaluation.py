"""Metrics: known answers."""

import numpy as np
import pytest

from tier_ml.evaluation import (
    classification_metrics,
    expected_calibration_error,
    normalized_gini,
    reliability_table,
    revenue_metrics,
    top_share_capture,
)


def test_ece_known_answer():
    # bin 0.0-0.1: predicted 0.05, observed 0.5 (gap 0.45); bin 0.9-1.0: 0.95 vs 1 (gap 0.05)
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95])
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.45 + 0.5 * 0.05)
    table = reliability_table(y, p)
    assert table["count"].sum() == 4 and len(table) == 10


def test_perfectly_calibrated_has_zero_ece():
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)


def test_normalized_gini_bounds():
    actual = np.array([0, 0, 5, 10, 0, 3.0])
    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    assert normalized_gini(actual, -actual) == pytest.approx(-1.0, abs=0.35)
    assert normalized_gini(actual, -actual) < 0


def test_top_decile_capture_known_answer():
    actual = np.array([100.0] + [1.0] * 9)
    assert top_share_capture(actual, np.arange(10)[::-1]) == pytest.approx(100 / 109)
    assert top_share_capture(actual, np.arange(10)) == pytest.approx(1 / 109)


def test_metric_sets_are_complete():
    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.1, 0.8, 0.3, 0.6, 0.9])
    m = classification_metrics(y, p)
    assert set(m) == {"auc", "pr_auc", "brier", "log_loss", "ece"} and m["auc"] == 1.0
    r = revenue_metrics(np.array([0, 10, 0, 5, 20.0]), np.array([1, 8, 0, 6, 15.0]))
    assert r["mae"] == pytest.approx((1 + 2 + 0 + 1 + 5) / 5)
    assert r["spearman"] > 0.9
