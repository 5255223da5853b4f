"""Baselines: known answers for RFM, the scorecard and last-period revenue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tier_ml.models.baselines import (
    ScoreMapper,
    last_period_revenue,
    parse_scorecard,
    rfm_score,
    scorecard_score,
)

AS_OF = pd.Timestamp("2025-01-01")


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"as_of": [AS_OF] * n, **columns})


def test_rfm_score_orders_best_to_worst():
    rows = frame(
        days_since_last_won=[5, 50, 200, 400, np.nan],
        won_count_365d=[9, 5, 3, 1, 0],
        won_revenue_365d=[900, 500, 300, 100, 0],
    )
    assert rfm_score(rows).tolist() == [15, 12, 9, 6, 3]


def test_scorecard_weights_must_add_up_to_one():
    with pytest.raises(ValueError, match="add up to 0.900"):
        parse_scorecard(
            {"a": {"weight": 0.5, "features": {"x": 1}}, "b": {"weight": 0.4, "features": {"y": 1}}}
        )


def test_scorecard_known_answer():
    dims = parse_scorecard(
        {
            "window": {"weight": 0.6, "features": {"recency": -1}},
            "budget": {"weight": 0.4, "features": {"spend": 1}},
        }
    )
    rows = frame(recency=[10.0, 20.0], spend=[100.0, 50.0])
    # ranks: recency 0.5, 1.0 -> reversed 0.5, 0.0; spend 1.0, 0.5
    assert scorecard_score(rows, dims).tolist() == pytest.approx(
        [0.6 * 0.5 + 0.4 * 1.0, 0.6 * 0.0 + 0.4 * 0.5]
    )


def test_last_period_revenue_uses_the_window_closest_to_the_horizon():
    rows = frame(
        won_revenue_90d=[1.0],
        won_revenue_180d=[2.0],
        won_revenue_365d=[3.0],
        won_revenue_total=[9.0],
    )
    assert last_period_revenue(rows, 180).tolist() == [2.0]
    assert last_period_revenue(rows, 91).tolist() == [1.0]


def test_score_mapper_is_monotone_in_the_score():
    rng = np.random.default_rng(0)
    score = rng.normal(size=2000)
    won = rng.random(2000) < 1 / (1 + np.exp(-2 * score))
    revenue = np.where(won, 100 * np.exp(score), 0.0)
    mapper = ScoreMapper().fit(score, won, revenue)
    grid = np.linspace(-2, 2, 9)
    probability = mapper.probability(grid)
    assert np.all(np.diff(probability) >= 0) and probability[-1] - probability[0] > 0.8
    assert np.all(np.diff(mapper.revenue(grid)) >= 0)
    # calibrated where the data are: the mapped rate matches the observed rate per decile
    observed = pd.Series(won).groupby(pd.qcut(score, 10, labels=False)).mean()
    mapped = pd.Series(mapper.probability(score)).groupby(pd.qcut(score, 10, labels=False)).mean()
    np.testing.assert_allclose(mapped, observed, atol=0.015)
    # a missing score ranks lowest
    assert mapper.probability(np.array([np.nan, 2.0]))[0] == probability.min()
