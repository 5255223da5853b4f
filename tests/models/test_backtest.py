"""Rolling-origin backtests: no training label window ends after its origin, every method is
tiered at the same shares, and the model beats a random ranking with monotone tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import base_parameters
from tests.models.conftest import HORIZON
from tier_ml.backtest import backtest_tiers, cutoffs_used
from tier_ml.evaluation import classification_metrics, monotone_tiers, tier_table
from tier_ml.models.training import replay_origins
from tier_ml.tiering import TierPolicy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replays(model_input, train_params):
    cutoffs = sorted(model_input["as_of"].unique())
    origins = [cutoffs[-4], cutoffs[-1]]
    predictions = replay_origins(model_input, origins, train_params)
    policy = TierPolicy.from_dict(base_parameters("score")["scoring"])
    return origins, predictions, backtest_tiers(predictions, model_input, policy, HORIZON)


def test_no_training_label_window_ends_after_its_origin(replays, model_input):
    origins, predictions, _ = replays
    used = cutoffs_used(predictions, model_input, HORIZON)
    assert set(used["origin"]) == set(origins)
    assert (used["label_window_end"] <= used["origin"]).all()
    assert (used["cutoff"] + pd.Timedelta(days=HORIZON) == used["label_window_end"]).all()


def test_every_method_is_tiered_at_every_origin_at_the_same_shares(replays):
    origins, _, tiers = replays
    methods = {"model", "stacked", "rfm", "scorecard", "last_period_revenue"}
    assert set(tiers["method"]) == methods
    counts = tiers.groupby(["origin", "method"])["tier"].value_counts().unstack("tier")
    assert len(counts) == len(origins) * len(methods)
    for origin in origins:
        at = counts.loc[origin]
        n = int(at.sum(axis=1).iloc[0])
        expected = np.diff([0, *np.floor(np.array([0.1, 0.3, 0.6, 1.0]) * n + 0.5)])
        for method in methods:
            np.testing.assert_array_equal(at.loc[method, list("ABCD")], expected, method)


def test_model_beats_random_and_its_tiers_are_monotone(replays):
    *_, tiers = replays
    model = tiers[tiers["method"] == "model"]
    rng = np.random.default_rng(0)
    for origin, group in model.groupby("origin"):
        won = group["won_any"].to_numpy()
        auc = classification_metrics(won, group["p_win"].to_numpy())["auc"]
        random_auc = classification_metrics(won, rng.random(len(group)))["auc"]
        assert auc > random_auc + 0.2, origin
    flags = monotone_tiers(tier_table(model))
    assert flags["monotone"].all()
