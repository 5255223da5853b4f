"""Cold start means too little history to model (younger than the horizon, or no deal ever);
never-won customers with history are counted apart; cold starts get the pooled estimate of
similar accounts, stored at training, with a reason that says so."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from tests.pipelines.conftest import small_parameters
from tests.pipelines.test_score import IDS, SCORECARD, _rules_features
from tests.test_features import CONFIG, T
from tests.test_report import scores as report_scores
from tier_ml.cold_start import (
    NEW_ACCOUNT,
    NO_DEAL,
    PRIOR_ROWS,
    REASONS,
    champion_as_scored,
    cold_start_kind,
    no_purchases_yet,
    pool_against_champion,
    pool_earns_its_place,
    pooled_estimate,
    pooled_outcomes,
)
from tier_ml.features.registry import reason_registry
from tier_ml.io.keys import POOL
from tier_ml.models.baselines import ScoreMapper
from tier_ml.models.candidates import BaselineModel
from tier_ml.pipelines.backtest.nodes import tier_backtest
from tier_ml.portable import TierScoringModel
from tier_ml.report.content import build_content
from tier_ml.report.html import render
from tier_ml.scoring import RULES_MAPPER, ScoringParams, score_customers
from tier_ml.tiering import TierAssigner, TierPolicy

HORIZON = 180

SOFTWARE_EMEA_POOL = pd.DataFrame(
    {
        "kind": [NO_DEAL],
        "industry": ["Software"],
        "region": ["EMEA"],
        "rows": [1_000],
        "won": [200.0],
        "revenue": [3_000_000.0],
    }
)


def _customers(**columns) -> pd.DataFrame:
    """young: 30 days old with a won deal; idle: 3 years old, no deal ever; lost: 3 years
    old, one lost deal; buyer: 3 years old, two won; unknown: no creation date, one open."""
    base = {
        "customer_id": ["young", "idle", "lost", "buyer", "unknown"],
        "tenure_days": [30.0, 1095.0, 1095.0, 1095.0, np.nan],
        "won_count_total": [1.0, 0.0, 0.0, 2.0, 0.0],
        "lost_count_total": [0.0, 0.0, 1.0, 0.0, 0.0],
        "open_deal_count": [0.0, 0.0, 0.0, 0.0, 1.0],
        "industry": ["Retail", "Retail", "Retail", "Retail", None],
        "region": ["EMEA", "EMEA", "APAC", "EMEA", "EMEA"],
    }
    return pd.DataFrame({**base, **columns})


def test_cold_start_is_too_little_history_and_never_won_with_history_is_apart():
    customers = _customers()
    kind = cold_start_kind(customers, HORIZON)
    assert kind.tolist()[:2] == [NEW_ACCOUNT, NO_DEAL]
    assert kind.iloc[2:].isna().all()  # a lost deal, two won, an open deal: history to model
    assert no_purchases_yet(customers, kind).tolist() == [False, False, True, False, True]


def _training_rows() -> pd.DataFrame:
    """Idle Retail/EMEA accounts: 100 rows, 10 won 1,000 each; idle Retail/APAC: 20 rows,
    none won; young Retail/EMEA: 50 rows, 25 won 4,000 each; 30 modelled rows besides."""
    idle = dict(tenure_days=1095.0, won_count_total=0.0, lost_count_total=0.0, open_deal_count=0.0)
    young = dict(idle, tenure_days=30.0)
    modelled = dict(idle, won_count_total=3.0)
    groups = [
        (idle, "EMEA", 100, 10, 1_000.0),
        (idle, "APAC", 20, 0, 0.0),
        (young, "EMEA", 50, 25, 4_000.0),
        (modelled, "EMEA", 30, 30, 9_999.0),
    ]
    frames = [
        pd.DataFrame(
            {
                **{k: [v] * n for k, v in features.items()},
                "industry": "Retail",
                "region": region,
                "won_any": [1] * won + [0] * (n - won),
                "won_revenue": [amount] * won + [0.0] * (n - won),
            }
        )
        for features, region, n, won, amount in groups
    ]
    return pd.concat(frames, ignore_index=True)


def test_the_pool_sums_each_kind_and_group_of_cold_starts_only():
    pool = pooled_outcomes(_training_rows(), HORIZON, ["industry", "region"])
    table = pool.set_index(["kind", "industry", "region"])
    assert len(pool) == 3  # the modelled rows are not in it
    assert table.loc[(NO_DEAL, "Retail", "EMEA")].tolist() == [100, 10, 10_000.0]
    assert table.loc[(NO_DEAL, "Retail", "APAC")].tolist() == [20, 0, 0.0]
    assert table.loc[(NEW_ACCOUNT, "Retail", "EMEA")].tolist() == [50, 25, 100_000.0]


def test_the_estimate_is_the_group_shrunk_towards_its_kind():
    pool = pooled_outcomes(_training_rows(), HORIZON, ["industry", "region"])
    customers = _customers(region=["EMEA", "APAC", "EMEA", "EMEA", "EMEA"])
    p_win, value = pooled_estimate(customers, cold_start_kind(customers, HORIZON), pool)
    # no deal yet, Retail/APAC: 0 of 20 won; its kind won 10 of 120 (10,000 in all)
    kind_rate, kind_value = 10 / 120, 10_000 / 120
    assert p_win[1] == pytest.approx((0 + PRIOR_ROWS * kind_rate) / (20 + PRIOR_ROWS))
    assert value[1] == pytest.approx((0 + PRIOR_ROWS * kind_value) / (20 + PRIOR_ROWS))
    # new account, Retail/EMEA: 25 of 50 won 4,000 each; its kind is that one group
    assert p_win[0] == pytest.approx(0.5) and value[0] == pytest.approx(2_000.0)
    assert np.isnan(p_win[2:]).all() and np.isnan(value[2:]).all()  # modelled


def _replayed(champion_p: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows labelled at 2024-01-01 and the same customers again at the origin
    2024-07-01 (181 days later), with the champion's replayed p_win there: `truth` (the
    outcome itself) or `inverse` (its opposite)."""
    origin = pd.Timestamp("2024-07-01")
    history = _training_rows().assign(as_of=pd.Timestamp("2024-01-01"))
    at_origin = history.assign(as_of=origin, customer_id=[f"C{i}" for i in range(len(history))])
    history = history.assign(customer_id=at_origin["customer_id"])
    won = at_origin["won_any"].to_numpy(float)
    p = won if champion_p == "truth" else 1 - won
    predictions = pd.DataFrame(
        {"customer_id": at_origin["customer_id"], "origin": origin, "p_model": p}
    )
    return pd.concat([history, at_origin], ignore_index=True), predictions


@pytest.mark.parametrize(("champion_p", "used"), [("truth", False), ("inverse", True)])
def test_the_pool_is_used_only_where_it_beat_the_champion_on_cold_starts(champion_p, used):
    model_input, predictions = _replayed(champion_p)
    comparison = pool_against_champion(
        model_input, predictions, "model", HORIZON, ["industry", "region"]
    )
    # the 170 cold starts at the origin (the 30 modelled rows are not judged)
    assert comparison["customers"] == 170
    assert comparison["brier_champion"] == (0.0 if champion_p == "truth" else 1.0)
    # the pool's own Brier: each group predicts its own (shrunk) rate
    assert 0 < comparison["brier_pool"] < 0.25
    assert pool_earns_its_place(comparison) is used


def _deployed_champion_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The replay of `_replayed("inverse")` with the champion's value, a second candidate,
    the outcomes beside the predictions, and later rows that a pool at the origin must not
    see (labelled after it)."""
    model_input, predictions = _replayed("inverse")
    # what tiering reads besides the value: silence and the last period's revenue
    model_input = model_input.assign(days_since_last_touch=10.0, won_revenue_180d=0.0)
    at_origin = model_input[model_input["as_of"] == predictions["origin"].iloc[0]]
    later = at_origin.assign(as_of=pd.Timestamp("2024-12-01"), won_any=1, won_revenue=1e6)
    predictions = predictions.assign(
        value_model=123.0,
        p_rfm=0.5,
        value_rfm=7.0,
        won_any=at_origin["won_any"].to_numpy(),
        won_revenue=at_origin["won_revenue"].to_numpy(),
    )
    return pd.concat([model_input, later], ignore_index=True), predictions


def test_the_backtest_tiers_the_champion_with_the_pool_scoring_uses():
    model_input, predictions = _deployed_champion_frames()
    out = champion_as_scored(predictions, model_input, "model", HORIZON, ["industry", "region"])
    cold, modelled = slice(0, 170), slice(170, None)
    # idle Retail/EMEA: 10 of 100 won before the origin, shrunk towards the 10 of 120 idle
    assert out["p_model"].iloc[0] == pytest.approx((10 + PRIOR_ROWS * 10 / 120) / 150)
    assert out["value_model"].iloc[0] == pytest.approx((10_000 + PRIOR_ROWS * 10_000 / 120) / 150)
    # young Retail/EMEA, the only group of its kind: 25 of 50 won 4,000 each
    assert out["p_model"].iloc[120] == pytest.approx(0.5)
    assert out["value_model"].iloc[120] == pytest.approx(2_000.0)
    assert not np.isclose(out["p_model"].iloc[cold], predictions["p_model"].iloc[cold]).any()
    pd.testing.assert_frame_equal(out.iloc[modelled], predictions.iloc[modelled])
    pd.testing.assert_series_equal(out["p_rfm"], predictions["p_rfm"])
    # the node does so only where scoring uses the pool
    pool = pooled_outcomes(model_input, HORIZON, ["industry", "region"])
    shipped = small_parameters()
    params = ({**shipped["features"], "horizon_days": HORIZON}, shipped["scoring"])
    for stored, expected in ((pool, out), (pool.head(0), predictions)):
        tiers, _ = tier_backtest(predictions, model_input, stored, {"champion": "model"}, *params)
        champion = tiers[tiers["method"] == "model"]
        np.testing.assert_allclose(champion["p_win"], expected["p_model"])


def test_a_replayed_customer_missing_from_the_model_input_is_refused():
    model_input, predictions = _deployed_champion_frames()
    stray = predictions.head(1).assign(customer_id="nobody")
    with pytest.raises(ValueError, match=r"1 customers replayed at 2024-07-01 .*'nobody'"):
        champion_as_scored(
            pd.concat([predictions, stray], ignore_index=True),
            model_input,
            "model",
            HORIZON,
            ["industry", "region"],
        )


def test_a_pool_never_measured_is_not_used():
    assert not pool_earns_its_place({"customers": 0})


def test_a_group_never_seen_takes_its_kind_and_a_kind_never_seen_every_cold_start():
    pool = pooled_outcomes(_training_rows(), HORIZON, ["industry", "region"])
    customers = _customers(industry=["Farming", "Farming", "Retail", "Retail", None])
    p_win, value = pooled_estimate(customers, cold_start_kind(customers, HORIZON), pool)
    assert p_win[0] == pytest.approx(0.5) and p_win[1] == pytest.approx(10 / 120)
    idle_only = pool[pool["kind"] == NO_DEAL]
    p_win, value = pooled_estimate(customers, cold_start_kind(customers, HORIZON), idle_only)
    assert p_win[0] == pytest.approx(10 / 120) and value[0] == pytest.approx(10_000 / 120)


def _scored(models: dict) -> pd.DataFrame:
    """Rules-only scoring of the ten customers of the score tests (even ids: no deal ever,
    odd ids: a won deal), with a score mapper worth 1,000 from a score of 0.45."""
    grid = np.linspace(0, 1, 101)
    mapper = ScoreMapper().fit(grid, grid >= 0.45, 1_000.0 * (grid >= 0.45))
    params = ScoringParams(as_of=T, horizon_days=HORIZON, policy=TierPolicy(), scorecard=SCORECARD)
    scores, long, _ = score_customers(
        _rules_features(),
        {RULES_MAPPER: mapper, **models},
        params,
        reason_registry(CONFIG),
        pd.DataFrame(),
    )
    return scores.set_index("customer_id"), long


def test_cold_start_customers_are_scored_from_the_pool_and_say_so():
    scores, long = _scored({POOL: SOFTWARE_EMEA_POOL})
    idle, buyers = IDS[0::2], IDS[1::2]
    assert scores.loc[idle, "cold_start"].all() and not scores.loc[buyers, "cold_start"].any()
    expected_p = (200 + PRIOR_ROWS * 0.2) / (1_000 + PRIOR_ROWS)
    expected_value = (3_000_000 + PRIOR_ROWS * 3_000) / (1_000 + PRIOR_ROWS)
    np.testing.assert_allclose(scores.loc[idle, "p_win"], expected_p)
    np.testing.assert_allclose(scores.loc[idle, "expected_value"], expected_value)
    assert (scores.loc[idle, "reason_1"] == REASONS[NO_DEAL].en).all()
    assert scores.loc[idle, ["reason_2", "reason_3", "risk_1", "risk_2"]].isna().all().all()
    assert not long["customer_id"].isin(idle).any() and long["customer_id"].isin(buyers).any()
    # the pooled 3,000 puts every account without a deal above the mapped buyers
    assert (scores.loc[idle, "tier"] <= scores.loc[buyers, "tier"].min()).all()


class _Constant(BaselineModel):
    """A baseline champion that gives every row the same prediction (what a pool must
    replace)."""

    def __init__(self, value: float, features: list[str]):
        self.value, self.features_ = value, features

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return np.full(len(rows), self.value)


class _OneSegment:
    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(rows), dtype=int)

    def name(self, labels: np.ndarray) -> pd.Series:
        return pd.Series(["all"] * len(labels))


def _portable(pool: pd.DataFrame | None) -> TierScoringModel:
    models = {
        "propensity": _Constant(0.01, ["tenure_days"]),
        "ltv": _Constant(5.0, ["tenure_days"]),
        "segments": _OneSegment(),
        POOL: pool,
    }
    params = ScoringParams(as_of=T, horizon_days=HORIZON, policy=TierPolicy(), scorecard={})
    assigner = TierAssigner(TierPolicy()).fit(pd.Series(np.linspace(0, 4_000, 100)))
    return TierScoringModel(models, assigner, params, reason_registry(CONFIG))


def test_the_portable_model_gives_cold_starts_the_pooled_estimate_as_scoring_does():
    features = _rules_features()
    out = _portable(SOFTWARE_EMEA_POOL).predict(None, features).set_index(features["customer_id"])
    idle, buyers = IDS[0::2], IDS[1::2]
    np.testing.assert_allclose(out.loc[idle, "p_win"], (200 + PRIOR_ROWS * 0.2) / 1_050)
    np.testing.assert_allclose(out.loc[idle, "expected_value"], (3e6 + PRIOR_ROWS * 3e3) / 1_050)
    assert (out.loc[buyers, "p_win"] == 0.01).all() and (
        out.loc[buyers, "expected_value"] == 5
    ).all()
    assert (
        out.loc[idle, "tier"] < out.loc[buyers, "tier"].min()
    ).all()  # pooled 2,990 ranks higher
    # a row's reason is its own: the pool says so; a baseline's parts rank within the whole
    # population, which a batch is not, so the buyers get none
    assert (out.loc[idle, "reason_1"] == REASONS[NO_DEAL].en).all()
    assert out.loc[buyers, ["reason_1", "risk_1"]].isna().all().all()
    assert (out["next_step"] == "").all()
    scores, _ = _scored({POOL: SOFTWARE_EMEA_POOL})  # the nightly path gives the same estimate
    for column in ("p_win", "expected_value"):
        np.testing.assert_allclose(out.loc[idle, column], scores.loc[idle, column])


def test_a_portable_model_registered_before_reasons_still_scores():
    """Pickled with propensity, ltv, segments, assigner, horizon_days and pool, and loaded
    where today's code is imported: it scores as today's model with the same parts does."""
    today = _portable(SOFTWARE_EMEA_POOL)
    older = TierScoringModel.__new__(TierScoringModel)
    older.__dict__.update(
        {
            "propensity": today.models["propensity"],
            "ltv": today.models["ltv"],
            "segments": today.models["segments"],
            "assigner": today.assigner,
            "horizon_days": HORIZON,
            "pool": SOFTWARE_EMEA_POOL,
        }
    )
    features = _rules_features()
    out = pickle.loads(pickle.dumps(older)).predict(None, features)
    expected = today.predict(None, features)
    # a baseline champion: today's model gives no reasons either, but the pool's own
    pd.testing.assert_frame_equal(out, expected)
    assert out["reason_1"].notna().sum() == 5


def test_the_portable_model_without_a_pool_or_its_columns():
    features = _rules_features()
    for pool in (None, SOFTWARE_EMEA_POOL.head(0)):
        assert (_portable(pool).predict(None, features)["expected_value"] == 5).all()
    with pytest.raises(ValueError, match="won_count_total"):
        _portable(SOFTWARE_EMEA_POOL).predict(None, features.drop(columns="won_count_total"))


@pytest.mark.parametrize("models", [{}, {POOL: pd.DataFrame()}], ids=["rules", "older-champion"])
def test_without_a_stored_pool_cold_starts_keep_the_models_estimate(models):
    """No champion, or one trained before the pool was logged (the registry loads it empty)."""
    scores, long = _scored(models)
    assert scores["cold_start"].sum() == 5
    assert not scores["reason_1"].isin([r.en for r in REASONS.values()]).any()
    assert long["customer_id"].isin(IDS[0::2]).any()


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", ["customer with too little history to model", "customers with history but no"]),
        ("zh", ["历史过少、无法建模的客户", "有往来但尚未成交的客户"]),
    ],
)
def test_the_report_counts_cold_starts_and_customers_with_no_purchase_yet(language, words):
    scores = report_scores().assign(no_purchases_yet=[False, True, True, False, False])
    nothing = pd.DataFrame()
    content = build_content(scores, nothing, nothing, nothing, {}, language, 10, 10, None, {})
    assert (content.health["cold_start"], content.health["no_purchases_yet"]) == (1, 2)
    html = render(content)
    assert 'data-testid="no-purchases-yet">2<' in html
    assert all(word in html for word in words)
