"""Population stability: known answers for PSI, its bins (quantiles, a missing bin, unseen
categories), the levels, the references a scoring run compares with, and the report's view."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.test_report import scores as report_scores
from tier_ml.drift import (
    EPSILON,
    MISSING,
    OTHER,
    SCORE_FEATURES,
    distribution,
    drift_messages,
    drift_metrics,
    drift_overview,
    feature_bins,
    level,
    population_drift,
    shares,
)
from tier_ml.pipelines.score.nodes import drift_references
from tier_ml.report.content import build_content
from tier_ml.report.html import render

AS_OF = pd.Timestamp("2025-12-31")
REFERENCE = pd.DataFrame(
    {
        "amount": np.arange(100.0),  # deciles 9, 19, ..., 89: ten customers per bin
        "industry": ["retail", "software"] * 50,
    }
)


def psi_by_hand(expected: list[float], actual: list[float]) -> float:
    return sum(
        (max(a, EPSILON) - max(e, EPSILON)) * math.log(max(a, EPSILON) / max(e, EPSILON))
        for e, a in zip(expected, actual, strict=True)
    )


def drift_of(population: pd.DataFrame) -> pd.Series:
    table = population_drift(AS_OF, population, {"training": distribution(REFERENCE, REFERENCE)})
    return table.set_index("feature")["psi"]


def test_numeric_bins_are_the_reference_deciles_then_a_missing_bin():
    bins = feature_bins(REFERENCE["amount"])
    np.testing.assert_allclose(bins["upper"].iloc[:-1], [*np.arange(9, 99, 10), np.inf])
    assert np.isnan(bins["upper"].iloc[-1]) and bins["category"].iloc[-1] == MISSING
    np.testing.assert_allclose(shares(REFERENCE["amount"], bins), [0.1] * 10 + [0.0])
    # repeated values make fewer bins, never empty duplicates
    assert len(feature_bins(pd.Series([0.0] * 90 + [5.0] * 10))) == 3  # <= 0, > 0, missing


def test_win_probability_is_cut_in_bands_of_ten_points():
    # most customers near zero, as a model scores the dormant ones: deciles would cut inside
    # that cluster, and a model that says 0.03 % instead of 0.02 % would look like drift
    tail = list(np.linspace(0.05, 0.95, 40))
    reference = pd.DataFrame({"p_win": [0.0002] * 60 + tail})
    bins = distribution(reference, ["p_win"])
    np.testing.assert_allclose(bins["upper"].iloc[:-1], [*np.arange(1, 10) / 10, np.inf])
    retrained = pd.DataFrame({"p_win": [0.0003] * 60 + tail})
    assert population_drift(AS_OF, retrained, {"training": bins})["psi"].item() == 0.0


def test_identical_distributions_have_no_drift():
    psi = drift_of(REFERENCE)
    assert psi.to_dict() == {"amount": 0.0, "industry": 0.0}


def test_a_known_shift_gives_the_psi_computed_by_hand():
    shifted = REFERENCE.assign(
        amount=REFERENCE["amount"] + 10,  # the first decile empties, the open top one doubles
        industry=["retail"] * 80 + ["software"] * 20,
    )
    psi = drift_of(shifted)
    amount = psi_by_hand([0.1] * 10 + [0.0], [0.0] + [0.1] * 8 + [0.2, 0.0])
    industry = psi_by_hand([0.5, 0.5, 0.0, 0.0], [0.8, 0.2, 0.0, 0.0])
    assert psi["amount"] == pytest.approx(amount) and amount == pytest.approx(0.7594, abs=1e-4)
    assert psi["industry"] == pytest.approx(industry) and industry == pytest.approx(
        0.4159, abs=1e-4
    )


def test_missing_values_fall_in_their_own_bin():
    # seven of every ten customers as in training, three now missing
    population = pd.DataFrame(
        {
            "amount": [*np.tile(np.arange(100.0), 7), *[np.nan] * 300],
            "industry": ["retail", "software"] * 500,
        }
    )
    bins = feature_bins(REFERENCE["amount"])
    np.testing.assert_allclose(shares(population["amount"], bins), [0.07] * 10 + [0.3])
    assert drift_of(population)["amount"] == pytest.approx(
        psi_by_hand([0.1] * 10 + [0.0], [0.07] * 10 + [0.3])
    )


def test_a_category_never_seen_in_training_counts_as_other():
    bins = feature_bins(REFERENCE["industry"])
    assert bins["category"].tolist() == ["retail", "software", OTHER, MISSING]
    population = REFERENCE.assign(industry=["retail", "farming"] * 50)
    np.testing.assert_allclose(shares(population["industry"], bins), [0.5, 0.0, 0.5, 0.0])
    assert drift_of(population)["industry"] == pytest.approx(
        psi_by_hand([0.5, 0.5, 0.0, 0.0], [0.5, 0.0, 0.5, 0.0])
    )


@pytest.mark.parametrize(
    ("psi", "expected"), [(0.0, "stable"), (0.1, "stable"), (0.2, "warning"), (0.26, "alert")]
)
def test_levels_warn_above_a_tenth_and_alert_above_a_quarter(psi, expected):
    assert level(psi) == expected


def test_the_log_and_mlflow_name_each_moved_feature_and_reference():
    references = {"training": distribution(REFERENCE, REFERENCE), "previous_run": pd.DataFrame()}
    table = population_drift(AS_OF, REFERENCE.assign(amount=REFERENCE["amount"] + 10), references)
    assert table["against"].unique().tolist() == ["training"]  # no previous run: no rows
    assert table.set_index("feature")["level"].to_dict() == {
        "amount": "alert",
        "industry": "stable",
    }
    assert drift_messages(table) == [
        "Drift alert against the training data (PSI above 0.25): amount 0.76"
    ]
    assert set(drift_metrics(table)) == {"psi.training.amount", "psi.training.industry"}


def test_a_previous_run_stored_before_drift_monitoring_is_compared_on_p_win_and_tiers():
    previous = report_scores()
    references = drift_references(pd.DataFrame(), pd.DataFrame(), previous)
    assert references["training"].empty
    assert references["previous_run"]["feature"].unique().tolist() == list(SCORE_FEATURES)
    assert population_drift(AS_OF, previous, references)["psi"].tolist() == [0.0, 0.0]


def test_the_report_shows_the_alert_and_the_features_that_moved():
    drift = pd.DataFrame(
        {
            "as_of": AS_OF,
            "feature": ["annual_revenue", "annual_revenue", "tier", "industry"],
            "against": ["training", "previous_run", "previous_run", "training"],
            "psi": [0.9, 0.3, 0.12, 0.01],
            "level": ["alert", "alert", "warning", "stable"],
        }
    )
    labels = {"annual_revenue": "annual revenue", "tier": "tier shares"}
    overview = drift_overview(drift, AS_OF, labels)
    assert overview["compared"] == {"training": 2, "previous_run": 2}
    assert [r["feature"] for r in overview["rows"]] == ["annual_revenue", "tier"]  # not industry
    assert overview["rows"][1] == {
        "feature": "tier",
        "label": "Tier shares",
        "training": None,
        "previous_run": 0.12,
        "level": "warning",
    }
    content = build_content(
        report_scores(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, "en", 5, 5, None, {}
    )
    html = render(replace(content, drift=overview))
    alert = html.split('data-testid="drift-alert">')[1].split("</p>")[0]
    assert "since training: Annual revenue (0.90)" in alert
    assert "since the previous run: Annual revenue (0.30)" in alert
    assert alert.rstrip().endswith("</a>.")
    # in Chinese with Chinese punctuation: no ASCII colon, brackets or full stop
    zh = build_content(
        report_scores(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, "zh", 5, 5, None, {}
    )
    zh_html = render(replace(zh, drift=overview))
    zh_alert = zh_html.split('data-testid="drift-alert">')[1].split("</p>")[0]
    assert "（0.90）" in zh_alert and "；" in zh_alert and zh_alert.rstrip().endswith("</a>。")
    assert not set(":;()") & set(zh_alert.split("<a ")[0].replace("</strong>", ""))
    assert 'data-feature="tier" class="drift-warning"' in html
    # a run with nothing to compare with says so, and raises no alert
    quiet = render(replace(content, drift=drift_overview(drift.iloc[:0], AS_OF, labels)))
    assert 'data-testid="drift-alert"' not in quiet and "No drift measured yet" in quiet
