"""Rolling-origin backtests: no training label window ends after its origin, the model
beats a random ranking with monotone tiers, and the gate refuses a degraded candidate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import base_parameters
from tests.models.conftest import HORIZON
from tier_ml.backtest import (
    gate_metrics,
    models_tiers,
    promotion_decision,
    run_backtest,
)
from tier_ml.evaluation import classification_metrics, monotone_tiers, tier_table
from tier_ml.features.config import FeatureParams
from tier_ml.tiering import TierPolicy

pytestmark = pytest.mark.slow
ORIGINS = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")]


@pytest.fixture(scope="module")
def result(crm, train_params):
    config = FeatureParams.from_dict(base_parameters("features")["features"]).config
    policy = TierPolicy.from_dict(base_parameters("score")["scoring"])
    return run_backtest(*crm, ORIGINS, config, train_params, policy, cutoff_count=12)


def test_no_training_label_window_ends_after_its_origin(result):
    used = result.cutoffs_used
    assert set(used["origin"]) == set(ORIGINS)
    assert (used["label_window_end"] <= used["origin"]).all()
    assert (used["cutoff"] + pd.Timedelta(days=HORIZON) == used["label_window_end"]).all()


def test_every_method_is_tiered_at_every_origin(result):
    combos = result.tiers.groupby(["origin", "method"]).size()
    assert set(combos.index.get_level_values("method")) == {
        "model",
        "rfm",
        "scorecard",
        "last_period_revenue",
    }
    assert len(combos) == 2 * 4


def test_model_beats_random_and_its_tiers_are_monotone(result):
    model = result.tiers[result.tiers["method"] == "model"]
    rng = np.random.default_rng(0)
    for origin, group in model.groupby("origin"):
        won = group["won_any"].to_numpy()
        auc = classification_metrics(won, group["p_win"].to_numpy())["auc"]
        random_auc = classification_metrics(won, rng.random(len(group)))["auc"]
        assert auc > random_auc + 0.2, origin
    flags = monotone_tiers(tier_table(model))
    assert flags["monotone"].all()


def test_gate_refuses_a_degraded_candidate(result, crm, train_params, model_input, split):
    from tier_ml.models.training import train_models

    models = train_models(model_input, split, train_params)
    good = {"propensity": models.propensity, "ltv": models.ltv}

    class Shuffled:
        """The good model's predictions handed to the wrong customers."""

        def __init__(self, model):
            self.model, self.features_ = model, model.features_

        def predict(self, x):
            return np.random.default_rng(1).permutation(self.model.predict(x))

    degraded = {"propensity": Shuffled(models.propensity), "ltv": Shuffled(models.ltv)}
    policy = TierPolicy.from_dict(base_parameters("score")["scoring"])
    at = split.test
    champion = gate_metrics(models_tiers(good, model_input, at, policy, HORIZON))
    decision = promotion_decision(
        gate_metrics(models_tiers(degraded, model_input, at, policy, HORIZON)),
        champion,
        ["auc", "top_tier_revenue_capture"],
        0.005,
    )
    assert not decision["promote"] and "auc" in decision["reason"]
    same = promotion_decision(champion, champion, ["auc", "top_tier_revenue_capture"], 0.005)
    assert same["promote"]


def test_gate_tolerance_is_in_metric_units():
    champion = {"auc": 0.80, "top_tier_revenue_capture": 0.50}
    slightly_worse = {"auc": 0.796, "top_tier_revenue_capture": 0.50}
    assert promotion_decision(slightly_worse, champion, ["auc"], 0.005)["promote"]
    assert not promotion_decision(slightly_worse, champion, ["auc"], 0.003)["promote"]
