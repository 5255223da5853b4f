"""Evaluate, select, refit: the model lifecycle that the train pipeline and the backtests share.

1. Evaluate every candidate (models and baselines) at rolling origins O: each is fitted only on
   cutoffs whose label windows closed by O (T + H <= O) and judged on what closed in [O, O + H).
   With too little history for any such origin, customers are cross-validated at the latest
   labelled cutoff instead, and the run says so.
2. Select the champion with the paired rule in `selection.py`.
3. Refit the champion on every labelled cutoff; `trained_through` is the end of the last label
   window it used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.features.build import build_feature_table, label_counts, row_weights
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.candidates import (
    MODELS,
    Candidate,
    CandidateParams,
    available_candidates,
    candidate_predictions,
    customer_folds,
    fit_candidate,
)
from tier_ml.models.matrix import model_columns
from tier_ml.models.sampling import SamplingParams, StoredSample, row_draws
from tier_ml.models.segments import SegmentModel
from tier_ml.models.selection import Selection, choose_champion
from tier_ml.progress import progress


@dataclass(frozen=True)
class TrainParams:
    """The `train` parameters, typed."""

    horizon_days: int
    min_positives: int = 40
    min_negatives: int = 40
    seed: int = 0
    calibration: str = "platt"
    lgbm: dict[str, Any] = field(default_factory=dict)
    ltv: str = "hurdle"
    tweedie_variance_power: float = 1.3
    segment_k_range: tuple[int, int] = (3, 7)
    scorecard: dict[str, Any] = field(default_factory=dict)
    exclude_features: tuple[str, ...] = ()
    selection_origins: int = 3
    bootstrap_draws: int = 200
    sampling: SamplingParams = SamplingParams()
    monotone_increasing: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, train: dict[str, Any], horizon_days: int) -> TrainParams:
        return cls(
            horizon_days=horizon_days,
            min_positives=int(train["minimum_data"]["positives"]),
            min_negatives=int(train["minimum_data"]["negatives"]),
            seed=int(train["seed"]),
            calibration=train["propensity"]["calibration"],
            lgbm=dict(train["propensity"].get("lgbm") or {}),
            ltv=train["ltv"]["model"],
            tweedie_variance_power=float(train["ltv"]["tweedie_variance_power"]),
            segment_k_range=tuple(train["segments"]["k_range"]),
            scorecard=dict(train["scorecard"]),
            exclude_features=tuple(train.get("exclude_features") or ()),
            selection_origins=int(train["selection"]["origins"]),
            bootstrap_draws=int(train["selection"]["bootstrap_draws"]),
            sampling=SamplingParams.from_dict(train.get("sampling")),
            monotone_increasing=tuple(train.get("monotone_increasing") or ()),
        )

    @property
    def candidates(self) -> CandidateParams:
        return CandidateParams(
            horizon_days=self.horizon_days,
            seed=self.seed,
            lgbm=self.lgbm,
            calibration=self.calibration,
            ltv=self.ltv,
            tweedie_variance_power=self.tweedie_variance_power,
            scorecard=self.scorecard,
            exclude_features=self.exclude_features,
            sampling=self.sampling,
            monotone_increasing=self.monotone_increasing,
        )


@dataclass(frozen=True)
class MinimumDataCheck:
    """Whether the training slice has enough wins and non-wins to learn from."""

    passed: bool
    positives: int
    negatives: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "positives": self.positives,
            "negatives": self.negatives,
            "message": self.message,
        }


def _shortfall(
    rows: pd.DataFrame, min_positives: int, min_negatives: int, where: str
) -> tuple[int, int, list[str]]:
    weight = row_weights(rows)
    won = rows["won_any"].to_numpy(bool)
    positives, negatives = round(weight[won].sum()), round(weight[~won].sum())
    missing = []
    if positives < min_positives:
        missing.append(
            f"{min_positives - positives} more customers who bought in the horizon {where} "
            f"(have {positives}, need {min_positives})"
        )
    if negatives < min_negatives:
        missing.append(
            f"{min_negatives - negatives} more customers who did not {where} "
            f"(have {negatives}, need {min_negatives})"
        )
    return positives, negatives, missing


def minimum_data_check(
    rows: pd.DataFrame, min_positives: int, min_negatives: int
) -> MinimumDataCheck:
    """As Dynamics 365 and Salesforce do: too few examples of either outcome, no model (the
    baselines still compete)."""
    positives, negatives, missing = _shortfall(
        rows, min_positives, min_negatives, "in the labelled cutoffs"
    )
    if missing:
        return MinimumDataCheck(
            False,
            positives,
            negatives,
            "Not enough training data for a model: "
            + "; ".join(missing)
            + ". The champion is chosen among the baselines until then.",
        )
    return MinimumDataCheck(
        True, positives, negatives, f"{positives} positive and {negatives} negative examples"
    )


def labelled_before(rows: pd.DataFrame, origin: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """Rows whose label window closed by `origin`: all a model used at `origin` may learn from."""
    return rows[rows["as_of"] + pd.Timedelta(days=horizon_days) <= origin]


def selection_origins(
    cutoffs: list[pd.Timestamp], horizon_days: int, count: int, min_training_cutoffs: int = 2
) -> list[pd.Timestamp]:
    """The latest labelled cutoffs usable as replay origins: each has `min_training_cutoffs`
    cutoffs whose label windows closed before it; spaced at least a third of the horizon
    apart so that every origin adds new outcomes. Oldest first."""
    ordered = sorted(pd.Timestamp(t) for t in cutoffs)
    gap = pd.Timedelta(days=max(1, horizon_days // 3))
    origins: list[pd.Timestamp] = []
    for origin in reversed(ordered):
        trained_on = [t for t in ordered if t + pd.Timedelta(days=horizon_days) <= origin]
        spaced = not origins or origins[-1] - origin >= gap
        if len(trained_on) >= min_training_cutoffs and spaced:
            origins.append(origin)
        if len(origins) == count:
            break
    return sorted(origins)


def stored_sample(
    cutoffs: Sequence[pd.Timestamp], params: TrainParams, scored: Sequence[pd.Timestamp] = ()
) -> StoredSample | None:
    """How the training table at `cutoffs` is thinned as it is built (`StoredSample`): the
    fits are the candidates' at each replay origin (on the cutoffs labelled by then) and the
    champion's on every cutoff; the origins, the latest cutoff and the `scored` ones (a
    replay's own origin) are kept whole. None without a row budget or an origin (with too
    little history the customer folds of `cross_validated` see every cutoff)."""
    ordered = sorted(map(pd.Timestamp, cutoffs))
    origins = selection_origins(ordered, params.horizon_days, params.selection_origins)
    if params.sampling.max_rows is None or not origins:
        return None
    window = pd.Timedelta(days=params.horizon_days)
    fit_sets = tuple(tuple(t for t in ordered if t + window <= o) for o in origins)
    whole = (*origins, ordered[-1], *map(pd.Timestamp, scored))
    return StoredSample(params.sampling, params.seed, (*fit_sets, tuple(ordered)), whole)


def training_table(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    cutoffs: Sequence[pd.Timestamp],
    config: FeatureConfig,
    params: TrainParams,
    deal_history: pd.DataFrame | None = None,
    scored: Sequence[pd.Timestamp] = (),
) -> pd.DataFrame:
    """Features and labels at the training `cutoffs` (and the `scored` ones), each cutoff
    thinned as it is built where more rows than the row budget would be stored
    (`stored_sample`): at a million customers the whole table would not fit in memory."""
    every = sorted({*map(pd.Timestamp, cutoffs), *map(pd.Timestamp, scored)})
    horizon, stored = params.horizon_days, stored_sample(cutoffs, params, scored)
    thin = None
    if stored is not None and len(customers) * len(every) > params.sampling.max_rows:
        counts = label_counts(customers, deals, every, horizon, config.engine)
        thin = partial(stored.thin, counts=counts)
    return build_feature_table(
        customers, deals, activities, every, horizon, config, deal_history, thin
    )


def fit_candidates(
    rows: pd.DataFrame, params: TrainParams, methods: list[str]
) -> dict[str, Candidate]:
    return {m: fit_candidate(rows, m, params.candidates) for m in methods}


def models_allowed(rows: pd.DataFrame, params: TrainParams) -> MinimumDataCheck:
    return minimum_data_check(rows, params.min_positives, params.min_negatives)


def replay_at(model_input: pd.DataFrame, origin: pd.Timestamp, params: TrainParams) -> pd.DataFrame:
    """Every candidate fitted on the cutoffs closed by `origin`, predicting at `origin`."""
    history = labelled_before(model_input, origin, params.horizon_days)
    methods = available_candidates(model_input, models_allowed(history, params).passed)
    at_origin = model_input[model_input["as_of"] == origin]
    return candidate_predictions(fit_candidates(history, params, methods), at_origin).assign(
        origin=origin
    )


def replay_origins(
    model_input: pd.DataFrame, origins: list[pd.Timestamp], params: TrainParams
) -> pd.DataFrame:
    """Every candidate at every origin, each fitted only on cutoffs closed by its origin."""
    return pd.concat(
        [
            replay_at(model_input, pd.Timestamp(o), params)
            for o in progress(origins, "evaluation", "origin")
        ],
        ignore_index=True,
    )


def cross_validated(model_input: pd.DataFrame, params: TrainParams) -> pd.DataFrame:
    """Too little history for a replay: each customer fold at the latest cutoff is predicted
    by candidates fitted on the other customers' rows. Not a test of time: said so in the log."""
    latest = model_input["as_of"].max()
    # another seed than the candidates' own early-stopping folds, which nest inside these
    folds = customer_folds(model_input["customer_id"], params.seed + 1)
    frames = []
    for fold in progress(np.unique(folds), "evaluation", "customer fold", str):
        train = model_input[folds != fold]
        methods = available_candidates(model_input, models_allowed(train, params).passed)
        held = model_input[(folds == fold) & (model_input["as_of"] == latest)]
        frames.append(candidate_predictions(fit_candidates(train, params, methods), held))
    return pd.concat(frames, ignore_index=True).assign(origin=latest).dropna(axis=1)


@dataclass(frozen=True)
class Evaluation:
    """Every candidate's predictions at the evaluation origins, and the champion chosen."""

    predictions: pd.DataFrame
    selection: Selection


def check_stored_sample(rows: pd.DataFrame, origins: list[pd.Timestamp], seed: int) -> None:
    """A table thinned under other `train` parameters than this run's (another seed, more
    origins: `kedro run --pipelines=train --params=...` on a saved feature table) would be
    weighed and judged wrongly without a word: refused."""
    weight = row_weights(rows)
    thinned = weight > 1.0
    if not thinned.any():
        return
    whole = rows["as_of"].isin([*origins, rows["as_of"].max()]).to_numpy()
    draws = row_draws(rows["customer_id"][thinned], rows["as_of"][thinned], seed)
    if (thinned & whole).any() or (draws * weight[thinned] >= 1.0 + 1e-9).any():
        raise ValueError(
            "The feature table was thinned under other train parameters (train.seed, "
            "train.selection.origins or train.sampling) than this run's: rebuild it with this "
            "run's (kedro run --pipelines=features,train --params=...)"
        )


def evaluate_candidates(model_input: pd.DataFrame, params: TrainParams) -> Evaluation:
    """Replay every candidate at rolling origins (or cross-validate with too little history)
    and choose the champion."""
    cutoffs = sorted(model_input["as_of"].unique())
    origins = selection_origins(cutoffs, params.horizon_days, params.selection_origins)
    check_stored_sample(model_input, origins, params.seed)
    if origins:
        predictions = replay_origins(model_input, origins, params)
        evidence = f"rolling origins {', '.join(str(o.date()) for o in origins)}"
    else:
        predictions = cross_validated(model_input, params)
        evidence = (
            "customer cross-validation at the latest labelled cutoff (too little history for "
            "a replay over time)"
        )
    selection = choose_champion(predictions, evidence, params.bootstrap_draws, params.seed)
    return Evaluation(predictions, selection)


@dataclass
class TrainedModels:
    """The champion refitted on every labelled cutoff, with what chose it."""

    check: MinimumDataCheck
    champion: Candidate
    segments: SegmentModel
    selection: Selection
    cutoffs: list[pd.Timestamp]
    trained_through: pd.Timestamp
    opportunity: Any | None = None
    example: pd.DataFrame | None = None

    @property
    def features(self) -> list[str]:
        """The columns the registered models read (the champion's, segments', tiers')."""
        return list(self.example.columns)

    @property
    def rules_only(self) -> bool:
        """A baseline is the champion: no model explains the tiers."""
        return self.champion.method not in MODELS


def refit_champion(
    model_input: pd.DataFrame,
    selection: Selection,
    params: TrainParams,
    previous_segments: SegmentModel | None = None,
    opportunity: Any | None = None,
) -> TrainedModels:
    """The chosen candidate refitted on every labelled cutoff, and segments on the latest."""
    cutoffs = sorted(pd.Timestamp(t) for t in model_input["as_of"].unique())
    check = models_allowed(model_input, params)
    method = (
        selection.champion
        if check.passed or selection.champion not in MODELS
        else (selection.best_baseline)
    )
    champion = fit_candidate(model_input, method, params.candidates)
    latest = model_input[model_input["as_of"] == cutoffs[-1]]
    segments = SegmentModel(params.segment_k_range, seed=params.seed).fit(latest, previous_segments)
    # every registered model (segments, the scoring pyfunc) reads from the same example rows
    features = model_columns(model_input, params.exclude_features)
    return TrainedModels(
        check=check,
        champion=champion,
        segments=segments,
        selection=selection,
        cutoffs=cutoffs,
        trained_through=cutoffs[-1] + pd.Timedelta(days=params.horizon_days),
        opportunity=opportunity,
        example=latest[features].head(5),
    )
