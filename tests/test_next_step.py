"""The next step: on a synthetic case where winning needs five meetings by construction, the
monotone champion says exactly how many more meetings lift an account, and never less."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.test_report import scores as report_scores
from tier_ml.models.baselines import ScoreMapper
from tier_ml.models.candidates import BaselineModel, CandidateParams, fit_model_candidate
from tier_ml.models.propensity import with_monotone
from tier_ml.next_step import NextStepParams, change_words
from tier_ml.report.content import build_content
from tier_ml.report.html import render
from tier_ml.scoring import ScoringParams, _model_reasons, next_steps, searchable
from tier_ml.tiering import TierAssigner, TierPolicy

ACTIONABLE = ("act_meeting_90d", "act_call_30d", "open_deal_count")
AMOUNT = 1_000.0  # what a won customer buys, whatever its meetings
LIKELY = 5  # meetings from which a customer wins often (60 %) rather than rarely (10 %)
# expected value is about 100 below five meetings and 600 from five: A starts in between,
# or (C accounts) B does
CUTS = {"A": 300.0, "B": 50.0, "C": 10.0}
CUTS_B = {"A": 800.0, "B": 300.0, "C": 10.0}


def synthetic_rows(n: int = 6_000, seed: int = 3) -> pd.DataFrame:
    """Customers whose win chance jumps at five meetings; calls, open deals and the size
    band do nothing."""
    rng = np.random.default_rng(seed)
    meetings = rng.integers(0, 11, n)
    won = rng.random(n) < np.where(meetings >= LIKELY, 0.6, 0.1)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "as_of": pd.to_datetime("2024-01-01") + pd.to_timedelta(30 * (np.arange(n) % 4), "D"),
            "act_meeting_90d": meetings.astype(float),
            "act_call_30d": rng.integers(0, 6, n).astype(float),
            "open_deal_count": rng.integers(0, 4, n).astype(float),
            "size_band": rng.normal(size=n),
            "won_any": won,
            "won_revenue": np.where(won, AMOUNT * rng.lognormal(0, 0.1, n), 0.0),
        }
    )


def candidate_params(monotone: tuple[str, ...]) -> CandidateParams:
    return CandidateParams(
        horizon_days=180,
        seed=1,
        lgbm={"n_estimators": 80, "min_child_samples": 40},
        calibration="platt",
        ltv="hurdle",
        tweedie_variance_power=1.3,
        scorecard={},
        monotone_increasing=monotone,
    )


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return synthetic_rows()


@pytest.fixture(scope="module")
def champion(rows):
    fitted = fit_model_candidate(rows, "model", candidate_params(ACTIONABLE))
    return {"propensity": fitted.propensity, "ltv": fitted.ltv}


def scoring_params(
    max_steps: int = 10, language: str = "en", cuts: dict[str, float] = CUTS
) -> ScoringParams:
    return ScoringParams(
        as_of=pd.Timestamp("2024-06-01"),
        horizon_days=180,
        policy=TierPolicy(kind="threshold", thresholds=cuts, language=language),
        scorecard={},
        next_step=NextStepParams(dict.fromkeys(ACTIONABLE, 1.0), max_steps),
    )


def accounts(meetings: list[float]) -> pd.DataFrame:
    """Accounts alike but for their meetings."""
    n = len(meetings)
    return pd.DataFrame(
        {
            "act_meeting_90d": meetings,
            "act_call_30d": [1.0] * n,
            "open_deal_count": [1.0] * n,
            "size_band": [0.0] * n,
        }
    )


def said(champion, meetings: list[float], tiers: list[str], params: ScoringParams) -> list[str]:
    """The next step of each account, tiered on the fixed cuts."""
    features = accounts(meetings)
    value = champion["ltv"].predict(features)
    assigner = TierAssigner(params.policy).fit(pd.Series(value))
    tier = np.array(tiers, dtype=object)
    modelled = np.ones(len(tier), dtype=bool)
    return next_steps(champion, features, value, tier, modelled, assigner, params).tolist()


def test_the_next_step_names_the_meetings_that_cross_into_the_tier_above(champion):
    two, five = said(champion, [2.0, 5.0], ["B", "B"], scoring_params())
    assert two == "3 more meetings in the last 90 days would move it to A"
    assert five == "its expected value already reaches A; the tier rules keep it in B"
    (zero,) = said(champion, [0.0], ["C"], scoring_params(cuts=CUTS_B))
    assert zero == "5 more meetings in the last 90 days would move it to B"


def test_the_next_step_in_chinese_and_for_one_meeting(champion):
    (four,) = said(champion, [4.0], ["B"], scoring_params(language="zh"))
    assert four == "近 90 天内再增加 1 次会议即可升至 A 级"
    (english,) = said(champion, [4.0], ["B"], scoring_params())
    assert english.startswith("1 more meeting in the last 90 days")


def test_out_of_reach_within_the_cap_is_said_never_made_up(champion):
    (two,) = said(champion, [2.0], ["B"], scoring_params(max_steps=2))
    assert two == (
        "no single change of up to 2 steps in meetings (90 days), calls (30 days) or open deals "
        "would move it to A"
    )


@pytest.mark.parametrize(
    ("currency", "language", "expected"),
    [
        ("USD", "en", "$20,000 more in open deals"),
        ("EUR", "en", "€20,000 more in open deals"),
        ("", "en", "20,000 more in open deals"),
        ("USD", "zh", "进行中的商机金额再增加 US$20,000"),
    ],
)
def test_open_pipeline_to_add_is_said_in_the_runs_currency(currency, language, expected):
    assert change_words("open_deal_amount", 20_000.0, language, currency) == expected


def test_scorings_own_raw_scores_give_the_same_next_steps_as_predicting_them(champion):
    """Scoring hands the search the raw scores of every customer (the TreeSHAP sums): each
    row must line up with its own account, as when the search predicts them itself."""
    features = accounts([4.0, 0.0, 1.0, 2.0]).assign(customer_id=range(4))
    params = scoring_params(cuts=CUTS_B)
    scored = _model_reasons(champion, features, params, {})
    assigner = TierAssigner(params.policy).fit(pd.Series(scored.value))
    tier = np.array(["C"] * 4, dtype=object)
    ready = (champion, features, scored.value, tier, np.ones(4, dtype=bool), assigner, params)
    own = next_steps(*ready)
    assert next_steps(*ready, scored.raw).tolist() == own.tolist()
    assert len(set(own)) == 4  # every account its own answer
    smaller = {**scored.raw, "ltv": scored.raw["ltv"] - 5}  # the search reads what it is given
    assert next_steps(*ready, smaller).tolist() != own.tolist()


def test_a_and_d_accounts_get_no_next_step(champion):
    assert said(champion, [2.0, 2.0], ["A", "D"], scoring_params()) == ["", ""]


def test_predictions_never_fall_as_an_actionable_feature_rises(champion, rows):
    sample = rows.sample(300, random_state=0)[list(accounts([]).columns)]
    for feature in ACTIONABLE:
        values = [
            (model.predict(sample.assign(**{feature: sample[feature] + k})))
            for k in range(11)
            for model in (champion["propensity"], champion["ltv"])
        ]
        p_win, value = np.array(values[0::2]), np.array(values[1::2])
        assert (np.diff(p_win, axis=0) >= -1e-12).all(), feature
        assert (np.diff(value, axis=0) >= -1e-9).all(), feature


def test_a_champion_without_constraints_or_a_baseline_has_no_next_step(rows):
    free = fit_model_candidate(rows, "model", candidate_params(()))
    params = scoring_params()
    assert searchable({"propensity": free.propensity, "ltv": free.ltv}, params) == {}
    baseline = BaselineModel("rfm")
    assert searchable({"propensity": baseline, "ltv": None}, params) == {}
    assert searchable({"rules_mapper": ScoreMapper()}, params) == {}
    capacity = replace(params, policy=TierPolicy(kind="capacity"))
    assert searchable({"propensity": free.propensity, "ltv": free.ltv}, capacity) == {}


def test_a_feature_the_champion_never_uses_is_not_searched(rows):
    """Purchase-only data has no calls: "no single change in calls would move it" would be
    true and empty, so calls are not searched, and the sentence names only what was."""
    fitted = fit_model_candidate(
        rows.assign(act_call_30d=0.0), "model", candidate_params(ACTIONABLE)
    )
    champion = {"propensity": fitted.propensity, "ltv": fitted.ltv}
    assert set(searchable(champion, scoring_params())) == {"act_meeting_90d", "open_deal_count"}
    (two,) = said(champion, [2.0], ["B"], scoring_params(max_steps=2))
    assert two == (
        "no single change of up to 2 steps in meetings (90 days) or open deals would move it to A"
    )


def test_the_users_own_constraints_win_and_features_map_to_their_columns():
    columns = ["size_band", "act_meeting_90d", "open_deal_count"]
    settings = with_monotone({"num_leaves": 7}, columns, ["open_deal_count", "act_meeting_90d"])
    assert settings == {"monotone_constraints": [0, 1, 1], "num_leaves": 7}
    own = {"monotone_constraints": [0, 0, -1]}
    assert with_monotone(own, columns, ["act_meeting_90d"]) == own
    assert with_monotone({}, columns, []) == {}
    assert with_monotone({}, columns, ["not_a_column"]) == {}


@pytest.mark.parametrize(
    "language, said_step, no_step",
    [
        ("en", "Next step: 3 more meetings", "No next step in this run"),
        ("zh", "下一步：近 90 天内再增加 3 次会议", "本次没有“下一步”建议"),
    ],
)
def test_the_report_shows_the_next_step_of_a_b_account_or_says_why_there_is_none(
    language, said_step, no_step
):
    step = {"en": "3 more meetings in the last 90 days would move it to A"}
    step["zh"] = "近 90 天内再增加 3 次会议即可升至 A 级"
    scored = report_scores()
    scored["next_step"] = np.where(scored["customer_id"] == "C2", step[language], "")
    empty = pd.DataFrame(columns=["origin", "method", "tier"])
    for frame, shown in ((scored, said_step), (scored.drop(columns="next_step"), no_step)):
        html = render(build_content(frame, empty, empty, empty, {}, language, 10, 10, {}, {}))
        assert shown in html
