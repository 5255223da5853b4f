"""A synthetic CRM with its model input, built once for the model tests."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from tests.conftest import base_parameters
from tier_ml.features.build import build_feature_table, training_cutoffs
from tier_ml.features.config import FeatureParams
from tier_ml.models.inputs import with_model_outputs
from tier_ml.models.training import TrainParams
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm

SPEC = SyntheticSpec(n_customers=2500, seed=11)
HORIZON = 180


@pytest.fixture(scope="session")
def crm():
    return generate_crm(SPEC)


@pytest.fixture(scope="session")
def feature_table(crm):
    customers, deals, activities = crm
    params = FeatureParams.from_dict(base_parameters("features")["features"])
    cutoffs = training_cutoffs(pd.Timestamp(SPEC.end_date), HORIZON, 20)
    return build_feature_table(customers, deals, activities, cutoffs, HORIZON, params.config)


@pytest.fixture(scope="session")
def train_params() -> TrainParams:
    """The shipped parameters with smaller trees and fewer bootstrap draws, for speed."""
    shipped = TrainParams.from_dict(base_parameters("train")["train"], HORIZON)
    return replace(shipped, lgbm={**shipped.lgbm, "n_estimators": 120}, bootstrap_draws=60)


@pytest.fixture(scope="session")
def model_input(crm, feature_table, train_params):
    return with_model_outputs(
        feature_table, crm[1], HORIZON, seed=0, btyd=False, scorecard=train_params.scorecard
    )
