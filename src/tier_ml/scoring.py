"""Batch scoring at `as_of`: features, win probability, expected value, tiers and reasons.

The same function scores a nightly run and a backtest origin. With no propensity model (the
minimum data check failed) the weighted scorecard is the tier source ("rules only"): its
score becomes p_win and expected value only through a fitted `ScoreMapper` under
`RULES_MAPPER`; without one, money columns stay missing and tiers follow the score's rank.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.cold_start import (
    cold_start_kind,
    cold_start_reasons,
    no_purchases_yet,
    with_pooled_estimate,
)
from tier_ml.distinct import per_distinct
from tier_ml.explain import (
    ValueParts,
    fold_absent,
    group_columns,
    link_scale,
    money_unit,
    one_hot_groups,
    reason_codes,
    top_contributions,
)
from tier_ml.features.build import build_features
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import FeatureConfig, FeatureSpec
from tier_ml.io.keys import POOL, TAGS
from tier_ml.language import Language
from tier_ml.models.baselines import (
    parse_scorecard,
    rfm_parts,
    scorecard_dimensions,
    scorecard_score,
)
from tier_ml.models.btyd import add_btyd_features
from tier_ml.models.candidates import BaselineModel, with_stack_scores
from tier_ml.models.ltv import HurdleLTV
from tier_ml.models.opportunity import (
    historic_win_rate,
    join_pipeline_value,
    opportunity_rows,
    pipeline_value,
)
from tier_ml.next_step import (
    SEARCHED,
    NextStepParams,
    increasing_features,
    next_step_sentences,
    split_on,
    steps_to_cross,
)
from tier_ml.progress import progress
from tier_ml.tiering import RANK, TIERS, TierAssigner, TierPolicy, tier_inputs

SCORE_COLUMNS = [
    "customer_id",
    "as_of",
    "p_win",
    "expected_revenue",
    "expected_value",
    "tier",
    "action",
    "segment",
    "reason_1",
    "reason_2",
    "reason_3",
    "risk_1",
    "risk_2",
    "next_step",
    "previous_tier",
    "tier_change",
    "tier_change_reason",
    "cold_start",
    "no_purchases_yet",
    "owner",
    "source",
]
RULES_MAPPER = "rules_mapper"  # models key of a fitted ScoreMapper for the scorecard score
# customers per TreeSHAP call: two of its largest blocks (`treeshap.ROWS_PER_TASK`)
EXPLAIN_BATCH_ROWS = 131_072

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringParams:
    """What a scoring run needs besides data and models."""

    as_of: pd.Timestamp
    horizon_days: int
    policy: TierPolicy
    scorecard: Mapping[str, Any]
    n_reasons: int = 3
    n_risks: int = 2
    top_contributions: int = 8
    btyd: bool = False
    next_step: NextStepParams = NextStepParams()
    currency: str = ""  # of the money in reasons (the report's too: globals.yml)


def scoring_params(
    scoring: dict[str, Any],
    features: dict[str, Any],
    train: dict[str, Any],
    data_end: str,
    btyd: bool,
) -> ScoringParams:
    """The run's parameters from the `scoring`, `features` and `train` sections; `as_of` is
    `scoring.as_of`, else `data_end`."""
    return ScoringParams(
        as_of=pd.Timestamp(scoring.get("as_of") or data_end),
        horizon_days=FeatureParams.from_dict(features).horizon_days,
        policy=TierPolicy.from_dict(scoring),
        scorecard=train["scorecard"],
        n_reasons=int(scoring["reasons"]),
        n_risks=int(scoring["risks"]),
        top_contributions=int(scoring["top_contributions"]),
        btyd=btyd,
        next_step=NextStepParams.from_dict(scoring.get("next_step")),
        currency=str(scoring.get("currency") or ""),
    )


def scoring_features(
    customers: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    as_of: pd.Timestamp,
    config: FeatureConfig,
    horizon_days: int,
    opportunity: Any | None,
    btyd: bool,
    scorecard: Mapping[str, Any],
    deal_history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Point-in-time features at `as_of`, with the champion's open-deal scoring (or the
    historic win rate, as in training) and the baselines' scores."""
    features = with_owner(
        build_features(customers, deals, activities, as_of, config, deal_history), customers
    )
    rows = opportunity_rows(deals, features, horizon_days, config, deal_history)
    value = pipeline_value(rows, opportunity, historic_win_rate(deals, as_of))
    features = join_pipeline_value(features, value)
    features = add_btyd_features(features, deals, horizon_days) if btyd else features
    return with_stack_scores(features, scorecard)


def adds_owner(feature_columns: Sequence[str], customer_columns: Sequence[str]) -> bool:
    """The customers have an owner the features do not carry yet."""
    return "owner" in customer_columns and "owner" not in feature_columns


def with_owner(features: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The account owner rides along (for capacity tiers and the report); not a feature."""
    if not adds_owner(features.columns, customers.columns):
        return features
    owners = customers.drop_duplicates("customer_id").set_index("customer_id")["owner"]
    return features.assign(owner=features["customer_id"].map(owners))


def latest_before(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Each customer's tier in the latest earlier scoring run."""
    if history.empty:
        return pd.Series(dtype="object")
    earlier = history[history["as_of"] < as_of]
    if earlier.empty:
        return pd.Series(dtype="object")
    last = earlier[earlier["as_of"] == earlier["as_of"].max()]
    return last.set_index("customer_id")["tier"]


def raw_contributions(model: Any, x: pd.DataFrame) -> np.ndarray:
    """TreeSHAP of every row on the model's raw scale, a batch of customers at a time:
    explaining a million customers takes minutes, and the run log then says how far it is
    (the values do not depend on the batch)."""
    out = np.empty((len(x), len(model.features_) + 1))
    batches = [slice(i, i + EXPLAIN_BATCH_ROWS) for i in range(0, len(x), EXPLAIN_BATCH_ROWS)]
    for rows in progress(
        batches, "explanations", "batch", lambda r: f"from customer {r.start + 1:,} of {len(x):,}"
    ):
        out[rows] = model.contributions(x.iloc[rows])
    return out


def by_feature(scaled: np.ndarray, columns: list[str], index: pd.Index) -> pd.DataFrame:
    """Rescaled contributions (base last) as one column per source feature."""
    frame = pd.DataFrame(scaled[:, :-1], columns=columns, index=index, copy=False)
    return group_columns(frame, one_hot_groups(columns))


def log_amount(raw: np.ndarray) -> np.ndarray:
    """log of the amount if won from the amount model's log1p score (the smearing factor, a
    constant, belongs to the base)."""
    return np.log(np.expm1(raw))


def likelihood_scales(propensity: Any, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The win-probability model's TreeSHAP `raw` (base last; overwritten) on the
    probability scale and on the log-probability scale: the first adds up to p_win, the
    second to log p_win."""
    probability = link_scale(raw, propensity.calibrate)
    return probability, link_scale(raw, lambda m: np.log(propensity.calibrate(m)), out=raw)


def value_parts(
    propensity: Any,
    ltv: Any,
    size: np.ndarray,
    log_probability: np.ndarray,
    index: pd.Index,
) -> ValueParts:
    """log EV split into the win-probability model's part (its TreeSHAP on log p_win) and
    the amount's part from the LTV model's TreeSHAP `size` (overwritten): the hurdle's amount
    model rescaled from its log1p scale to log, or a Tweedie model's log EV (its raw score:
    one model) less the likelihood part."""
    hurdle = isinstance(ltv, HurdleLTV)
    if hurdle:
        link_scale(size, log_amount, out=size)
        size[:, -1] += np.log(ltv.smearing_)
    likely = by_feature(log_probability, propensity.features_, index)
    large = by_feature(size, ltv.features_, index)
    columns = likely.columns.union(large.columns, sort=False)
    likely, large = (f.reindex(columns=columns, fill_value=0.0) for f in (likely, large))
    if hurdle:
        return ValueParts(likely, large, log_probability[:, -1] + size[:, -1])
    return ValueParts(likely, large - likely, size[:, -1])


@dataclass(frozen=True)
class ModelScores:
    """What the champion gives every customer in one pass: P(win) and the expected value
    (both from the TreeSHAP sums, which equal the models' raw scores: no model predicts
    twice), those raw scores (`propensity` and `ltv`, for the next-step search), and the
    reasons."""

    p_win: np.ndarray
    value: np.ndarray
    raw: dict[str, np.ndarray]
    reasons: pd.DataFrame
    long: pd.DataFrame


def _model_reasons(
    models: Mapping[str, Any],
    features: pd.DataFrame,
    params: ScoringParams,
    registry: Mapping[str, FeatureSpec],
) -> ModelScores:
    """P(win), the expected value, and reasons for it: each feature's effect on it in money,
    said with the part (likely to buy, or large) that drives it. The long table keeps each
    feature's win-probability contribution beside its effect."""
    propensity, ltv = models["propensity"], models["ltv"]
    likely, size = (
        fold_absent(raw_contributions(m, features[m.features_]), m.features_, features, registry)
        for m in (propensity, ltv)
    )
    raw = {"propensity": likely.sum(axis=1), "ltv": size.sum(axis=1)}
    probability, log_probability = likelihood_scales(propensity, likely)
    parts = value_parts(propensity, ltv, size, log_probability, features.index)
    led, effects, value = parts.likelihood_led(), parts.money(), ltv.value_from_raw(raw)
    del parts, log_probability, likely, size  # a million customers: free what is not read
    contributions = by_feature(probability, propensity.features_, features.index).reindex(
        columns=effects.columns, fill_value=0.0
    )
    reasons = reason_codes(
        effects,
        features,
        registry,
        params.n_reasons,
        params.n_risks,
        money_unit(params.currency),
        led,
        params.policy.language,
    )
    long = top_contributions(
        contributions, features, features["customer_id"], params.top_contributions, effects, led
    )
    return ModelScores(probability.sum(axis=1), value, raw, reasons, long)


def _rules_reasons(
    features: pd.DataFrame, params: ScoringParams, registry: Mapping[str, FeatureSpec]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rules only: each scorecard dimension's weighted score, above or below its average,
    said through its most telling feature."""
    weighted = scorecard_parts(features, params.scorecard)
    return _part_reasons(weighted - weighted.mean(), features, params, registry)


def scorecard_parts(features: pd.DataFrame, scorecard: Mapping[str, Any]) -> pd.DataFrame:
    """The scorecard's weighted dimensions (they add up to its score), each under its most
    telling feature."""
    dims = parse_scorecard(scorecard)
    weighted = scorecard_dimensions(features, dims) * pd.Series(
        {k: d.weight for k, d in dims.items()}
    )
    return weighted.rename(columns={k: next(iter(d.features)) for k, d in dims.items()})


def _part_reasons(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    params: ScoringParams,
    registry: Mapping[str, FeatureSpec],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reason sentences and the long table from contributions named by features."""
    values = features[list(contributions.columns)]
    reasons = reason_codes(
        contributions,
        values,
        registry,
        params.n_reasons,
        params.n_risks,
        language=params.policy.language,
    )
    long = top_contributions(
        contributions, values, features["customer_id"], params.top_contributions
    )
    return reasons, long


def _rules_values(
    features: pd.DataFrame, models: Mapping[str, Any], params: ScoringParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rules only: p_win, expected value and the value tiers are cut on. A fitted score
    mapper turns the unitless 0-1 scorecard score into money; without one there is no money,
    so p_win and expected value stay missing, tiers follow the score's rank, and a policy
    that cuts on money is refused."""
    score = scorecard_score(features, parse_scorecard(params.scorecard)).to_numpy(float)
    mapper = models.get(RULES_MAPPER)
    if mapper is not None:
        value = mapper.revenue(score)
        return mapper.probability(score), value, value
    if params.policy.kind == "threshold":
        raise ValueError(
            "The threshold tier policy cuts on expected value in money, but this run has no "
            "champion model and no score mapper (models key "
            f"'{RULES_MAPPER}'), so tiers come from the unitless 0-1 scorecard score. Use "
            "scoring.policy: quantile or capacity, or train and promote a model first."
        )
    missing = np.full(len(score), np.nan)
    return missing, missing, score


def tier_source(models: Mapping[str, Any]) -> str:
    """What set the tiers: the champion's method as registered ("model", "stacked", "rfm"...),
    "model" for a model registered without that tag."""
    propensity = models["propensity"]
    if isinstance(propensity, BaselineModel):
        return propensity.method
    return models.get(TAGS, {}).get("champion_method", "model")


def _baseline_values(
    models: Mapping[str, Any], features: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """A baseline is champion: its mapped P(win) and revenue."""
    rows = features[models["propensity"].features_]
    return models["propensity"].predict(rows), models["ltv"].predict(rows)


def _baseline_reasons(
    models: Mapping[str, Any],
    features: pd.DataFrame,
    p_win: np.ndarray,
    params: ScoringParams,
    registry: Mapping[str, FeatureSpec],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A baseline champion's reasons and long table. Each reason is one part of its score
    (recency, frequency and spend for RFM; a dimension of the scorecard; the score itself
    otherwise) in win-probability points: P(win) now against P(win) with that part at the
    population's average."""
    baseline = models["propensity"]
    rows = features[baseline.features_]
    if baseline.method == "rfm":
        parts = rfm_parts(features)
    elif baseline.method == "scorecard":
        parts = scorecard_parts(features, params.scorecard)
    else:
        parts = rows[baseline.features_[:1]]
    score = baseline.score(rows)
    probability = baseline.mapper_.probability
    contributions = pd.DataFrame(
        {
            c: p_win - probability(score - parts[c].to_numpy() + parts[c].mean())
            for c in parts.columns
        },
        index=features.index,
    )
    return _part_reasons(contributions, features, params, registry)


def no_reasons(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reasons and a long table that say nothing (their columns are filled in as None)."""
    return pd.DataFrame(index=features.index), pd.DataFrame(
        {"customer_id": features["customer_id"].iloc[:0]}
    )


def is_baseline(models: Mapping[str, Any]) -> bool:
    """The champion is a baseline (RFM, the scorecard...), not a model."""
    return isinstance(models.get("propensity"), BaselineModel)


def value_constrained(ltv: Any) -> set[str]:
    """The features the expected-value model never scores lower as they rise: for the hurdle,
    both its win-probability and its amount model must be constrained on them."""
    if isinstance(ltv, HurdleLTV):
        return increasing_features(
            ltv.propensity.booster_, ltv.propensity.features_
        ) & increasing_features(ltv.amount_, ltv.features_)
    return increasing_features(ltv.booster_, ltv.features_)


def value_moved_by(ltv: Any) -> set[str]:
    """The features the expected-value model splits on: for the hurdle, its win-probability
    or its amount model."""
    if isinstance(ltv, HurdleLTV):
        return split_on(ltv.propensity.booster_, ltv.propensity.features_) | split_on(
            ltv.amount_, ltv.features_
        )
    return split_on(ltv.booster_, ltv.features_)


def searchable(models: Mapping[str, Any], params: ScoringParams) -> dict[str, float]:
    """The actionable features the next step may vary, each with its step: none for rules,
    a baseline champion (no feature of theirs is a seller's action) or capacity tiers (cut
    per owner, not on one value); of the others, only those the champion is monotone in and
    uses (a feature it never splits on moves no one: "no change in meetings would move it"
    would be true and empty), and the log names the rest."""
    if "propensity" not in models or is_baseline(models):
        return {}
    if params.policy.kind == "capacity":
        logger.info("No next step: capacity tiers are cut per owner, not on one value")
        return {}
    constrained = value_constrained(models["ltv"])
    skipped = [f for f in params.next_step.actionable if f not in constrained]
    if skipped:
        logger.warning(
            "No next step through %s: the champion is not constrained to rise with them "
            "(train.monotone_increasing), so an answer could be perverse",
            skipped,
        )
    used = value_moved_by(models["ltv"])
    unused = [f for f in params.next_step.actionable if f in constrained and f not in used]
    if unused:
        logger.info(
            "No next step through %s: the champion never uses them (no split), so changing "
            "them moves no customer",
            unused,
        )
    return {f: s for f, s in params.next_step.actionable.items() if f in constrained and f in used}


def next_steps(
    models: Mapping[str, Any],
    features: pd.DataFrame,
    value: np.ndarray,
    tier: np.ndarray,
    modelled: np.ndarray,
    assigner: TierAssigner,
    params: ScoringParams,
    raw: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Per customer, what would move a modelled B or C account to the tier above, by the
    champion's own re-predicted expected value against the fitted cut point; "" for the
    others (A has no tier above, D is on hold, cold starts carry a pooled estimate). `raw`:
    the champion's raw scores of every customer, where scoring has them already."""
    out = np.full(len(features), "", dtype=object)
    actionable = searchable(models, params)
    rows = np.flatnonzero(np.isin(tier, SEARCHED) & modelled)
    if not actionable or not len(rows):
        return out
    up = per_distinct(lambda t: TIERS[RANK[t] - 1], tier[rows])
    target = per_distinct(lambda t: assigner.cuts_[t], up).astype(float)  # no cut: KeyError
    reaches = value[rows] > target
    search = rows[~reaches]
    ltv = models["ltv"]
    known = None if raw is None else {model: scores[search] for model, scores in raw.items()}
    steps, chosen = np.zeros(len(rows), dtype=int), np.full(len(rows), "", dtype=object)
    steps[~reaches], chosen[~reaches] = steps_to_cross(
        ltv.value_what_if(ltv.matrix(features.iloc[search]), known),
        features.iloc[search][list(actionable)],
        target[~reaches],
        actionable,
        params.next_step.max_steps,
    )
    found = NextStepParams(actionable, params.next_step.max_steps)
    out[rows] = next_step_sentences(
        tier[rows], up, reaches, steps, chosen, found, params.policy.language, params.currency
    )
    return out


def _pooled_cold_starts(
    features: pd.DataFrame,
    kind: pd.Series,
    pool: pd.DataFrame,
    p_win: np.ndarray,
    expected_value: np.ndarray,
    reasons: pd.DataFrame,
    long: pd.DataFrame,
    language: Language,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Cold-start customers take the pooled estimate of similar accounts and a reason that
    says so (in `language`); their contributions leave the long table (they explain a number
    not shown)."""
    cold = kind.notna().to_numpy()
    return (
        *with_pooled_estimate(features, kind, pool, p_win, expected_value),
        cold_start_reasons(reasons, kind, language),
        long[~long["customer_id"].isin(features.loc[cold, "customer_id"])],
    )


@dataclass(frozen=True)
class Estimates:
    """What the champion (or the scorecard) says of each customer before tiering: P(win), the
    expected value, the value tiers are cut on, the reasons and the long table (pooled cold
    starts say so in both), the model's raw scores (None unless a model is champion), and
    which customers carry the model's own estimate (not a pooled one)."""

    p_win: np.ndarray
    expected_value: np.ndarray
    tier_value: np.ndarray
    reasons: pd.DataFrame
    long: pd.DataFrame
    raw: dict[str, np.ndarray] | None
    modelled: np.ndarray
    unitless: bool


def estimate_customers(
    features: pd.DataFrame,
    models: Mapping[str, Any],
    params: ScoringParams,
    registry: Mapping[str, FeatureSpec],
    kind: pd.Series | None,
    population: bool = True,
    explain: bool = True,
) -> Estimates:
    """Each customer's estimates and reasons. `kind`: why each customer has too little
    history to model (`cold_start_kind`); those take the pooled estimate stored with the
    champion, where there is one (None: no customer does). `population` False: the rows are a
    batch of it (the portable model's), where only a model champion's reasons, row by row,
    hold; the scorecard's and a baseline's rank within the whole population and are left
    out. `explain` False: the values alone (fitting cut points, a drift reference)."""
    rules_only = "propensity" not in models
    unitless = rules_only and models.get(RULES_MAPPER) is None
    said = explain and (population or not (rules_only or is_baseline(models)))
    raw = None
    reasons, long = no_reasons(features)
    if rules_only:
        p_win, expected_value, tier_value = _rules_values(features, models, params)
        if said:
            reasons, long = _rules_reasons(features, params, registry)
    elif is_baseline(models):
        p_win, expected_value = _baseline_values(models, features)
        tier_value = expected_value
        if said:
            reasons, long = _baseline_reasons(models, features, p_win, params, registry)
    elif said:
        scored = _model_reasons(models, features, params, registry)
        p_win, expected_value, tier_value = scored.p_win, scored.value, scored.value
        reasons, long, raw = scored.reasons, scored.long, scored.raw
    else:
        propensity, ltv = models["propensity"], models["ltv"]
        p_win = propensity.predict(features[propensity.features_])
        expected_value = tier_value = ltv.predict(features[ltv.features_])
    pool = models.get(POOL)
    modelled = np.ones(len(features), dtype=bool)
    if kind is not None and pool is not None and len(pool) > 0 and not unitless:
        p_win, expected_value, reasons, long = _pooled_cold_starts(
            features, kind, pool, p_win, expected_value, reasons, long, params.policy.language
        )
        tier_value, modelled = expected_value, kind.isna().to_numpy()
    return Estimates(p_win, expected_value, tier_value, reasons, long, raw, modelled, unitless)


def score_customers(
    features: pd.DataFrame,
    models: Mapping[str, Any],
    params: ScoringParams,
    registry: Mapping[str, FeatureSpec],
    history: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, TierAssigner]:
    """One row per customer with tier, action, segment, reasons and tier change; the top
    contributions in long format; and the fitted tier assigner. Customers with too little
    history to model get the pooled estimate stored with the champion, where there is one."""
    features = features.reset_index(drop=True)
    kind = cold_start_kind(features, params.horizon_days)
    scored = estimate_customers(features, models, params, registry, kind)
    frame = tier_inputs(
        features, scored.tier_value, params.horizon_days, latest_before(history, params.as_of)
    )
    assigner = TierAssigner(
        params.policy, "scorecard score" if scored.unitless else "expected value"
    )
    tiers = assigner.fit_assign(frame)
    next_step = next_steps(
        models,
        features,
        scored.tier_value,
        tiers["tier"].to_numpy(object),
        scored.modelled,
        assigner,
        params,
        scored.raw,
    )
    segments = models.get("segments")
    segment = segments.name(segments.predict(features)) if segments is not None else None
    scores = pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "as_of": features["as_of"],
            "p_win": scored.p_win,
            "expected_revenue": expected_revenue(scored.expected_value, scored.p_win),
            "expected_value": scored.expected_value,
            **tiers,
            "segment": segment,
            **scored.reasons,
            "next_step": next_step,
            "previous_tier": frame["previous_tier"],
            "cold_start": kind.notna(),
            "no_purchases_yet": no_purchases_yet(features, kind),
            "owner": frame["owner"],
            "source": "rules" if "propensity" not in models else tier_source(models),
        }
    )
    long = scored.long
    long.insert(1, "as_of", params.as_of)
    return with_stable_types(scores[SCORE_COLUMNS]), long, assigner


def expected_revenue(expected_value: np.ndarray, p_win: np.ndarray) -> np.ndarray:
    """Revenue if won: the expected value over P(win) (floored, so a near-zero P(win) does not
    blow it up)."""
    return expected_value / np.clip(p_win, 1e-6, None)


NUMERIC_COLUMNS = {
    "as_of",
    "p_win",
    "expected_revenue",
    "expected_value",
    "cold_start",
    "no_purchases_yet",
}
TEXT_COLUMNS = [c for c in SCORE_COLUMNS if c not in NUMERIC_COLUMNS]


def with_stable_types(scores: pd.DataFrame) -> pd.DataFrame:
    """The same Parquet schema in every run, even where a column is empty this time."""
    return scores.astype(
        {
            **{c: "str" for c in TEXT_COLUMNS},
            "p_win": "float64",
            "expected_revenue": "float64",
            "expected_value": "float64",
            "cold_start": "bool",
            "no_purchases_yet": "bool",
            "as_of": "datetime64[us]",
        }
    )


def run_summary(scores: pd.DataFrame, seconds: float) -> dict[str, Any]:
    """Customers scored, counts per tier, tier moves and duration, for the log and MLflow."""
    per_tier = scores["tier"].value_counts().reindex(list("ABCD"), fill_value=0)
    moves = scores["tier_change"].value_counts()
    return {
        "customers_scored": int(len(scores)),
        **{f"tier_{t}": int(n) for t, n in per_tier.items()},
        **{f"moves_{k}": int(moves.get(k, 0)) for k in ("up", "down", "same", "new")},
        "cold_start": int(scores["cold_start"].sum()),
        "no_purchases_yet": int(scores["no_purchases_yet"].sum()),
        "rules_only": bool((scores["source"] == "rules").all()),
        "duration_s": round(seconds, 2),
    }
