"""Rolling-origin replays: what would we have predicted at a past origin O, and what happened.

At each origin O the models are trained only on cutoffs T_k with T_k + H <= O (so every label
window used for training had closed by O), customers are scored at O exactly as `score` does,
and the result is judged against the deals won in [O, O + H).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tier_ml.features.build import build_feature_table, training_cutoffs
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.inputs import with_model_outputs
from tier_ml.models.opportunity import fit_opportunity_model, opportunity_rows
from tier_ml.models.segments import SegmentModel
from tier_ml.models.split import time_split
from tier_ml.models.training import TrainedModels, TrainParams, predictions_at, train_models


@dataclass(frozen=True)
class OriginReplay:
    """The models trained for one origin and every method's predictions at it."""

    origin: pd.Timestamp
    models: TrainedModels
    model_input: pd.DataFrame
    predictions: pd.DataFrame


def replay_origin(customers: pd.DataFrame, deals: pd.DataFrame, activities: pd.DataFrame,
                  origin: pd.Timestamp, config: FeatureConfig, params: TrainParams,
                  cutoff_count: int, step_months: int = 1, btyd: bool = False,
                  previous_segments: SegmentModel | None = None) -> OriginReplay:
    """Train on cutoffs whose label windows closed by `origin`, predict at `origin`."""
    origin = pd.Timestamp(origin)
    horizon = params.horizon_days
    cutoffs = training_cutoffs(origin, horizon, cutoff_count, step_months)
    table = build_feature_table(customers, deals, activities, [*cutoffs, origin], horizon, config)
    model_input = with_model_outputs(table, deals, horizon, params.seed, btyd)
    split = time_split([*cutoffs, origin], horizon, params.valid_cutoffs, test_cutoffs=1)
    history = table[table["as_of"] < origin]
    opportunity = fit_opportunity_model(opportunity_rows(deals, history, horizon), params.seed)
    models = train_models(model_input, split, params, previous_segments, opportunity)
    predictions = predictions_at(models, model_input, params, [origin])
    return OriginReplay(origin, models, model_input, predictions)
