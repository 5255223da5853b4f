"""A synthetic CRM with its model input, built once for the model tests."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import base_parameters
from tier_ml.features.build import build_feature_table, training_cutoffs
from tier_ml.features.config import FeatureParams
from tier_ml.models.opportunity import add_pipeline_value, opportunity_rows
from tier_ml.models.split import time_split
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
def model_input(crm, feature_table):
    rows = opportunity_rows(crm[1], feature_table, HORIZON)
    return add_pipeline_value(feature_table, rows, HORIZON, seed=0)


@pytest.fixture(scope="session")
def train_params() -> TrainParams:
    return TrainParams.from_dict(base_parameters("train")["train"], HORIZON)


@pytest.fixture(scope="session")
def split(model_input, train_params):
    return time_split(
        sorted(model_input["as_of"].unique()),
        HORIZON,
        train_params.valid_cutoffs,
        train_params.test_cutoffs,
    )
