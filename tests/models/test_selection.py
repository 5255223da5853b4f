"""The champion rule: paired bootstrap at equal customer shares, baselines can win, a model
wins only with confidence, replays never learn from outcomes after their origin."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import tier_ml.models.selection as selection
import tier_ml.models.training as training
from tests.models.conftest import HORIZON
from tier_ml.evaluation import top_share_capture as top_capture
from tier_ml.models.candidates import BASELINES
from tier_ml.models.selection import (
    auc_ranks,
    capture_order,
    choose_champion,
    weighted_auc,
    weighted_top_share_capture,
)
from tier_ml.models.training import evaluate_candidates, replay_at, selection_origins


def test_metrics_of_a_resample_from_its_counts_equal_those_of_its_rows():
    """A bootstrap draw held as counts per customer gives the AUC (ties counted half) and the
    top-10 % capture (ties by row order, copies adjacent) of the rows it stands for."""
    rng = np.random.default_rng(1)
    won = rng.random(3000) < 0.3
    score = np.round(rng.normal(size=3000) + won, 1)  # many ties
    revenue = np.where(won, rng.gamma(2.0, 100.0, 3000), 0.0)
    value = np.round(rng.normal(size=3000) + won, 1)
    unsold_top = np.where(value < np.quantile(value, 0.8), 5, 0)  # the top is far down the order
    counts = np.stack([np.ones(3000, int), unsold_top, *rng.poisson(1.0, (4, 3000))], axis=1)
    auc = weighted_auc(counts, auc_ranks(won, score))
    capture = weighted_top_share_capture(counts, capture_order(revenue, value, 0.1))
    for draw, c in enumerate(counts.T):
        rows = np.repeat(np.arange(3000), c)  # the resample's rows, in row order
        assert auc[draw] == pytest.approx(roc_auc_score(won[rows], score[rows]), abs=1e-12)
        assert capture[draw] == pytest.approx(top_capture(revenue[rows], value[rows]), abs=1e-12)
    # 12 rows, so the top 10 % is 1 of the top customer's 3 copies: a third of the revenue
    three_copies = np.array([[3, *[1] * 9]]).T
    top_customer = weighted_top_share_capture(
        three_copies, capture_order(np.r_[100.0, np.zeros(9)], np.arange(10.0)[::-1], 0.1)
    )
    assert top_customer == pytest.approx([1 / 3])
    only_lost = weighted_auc(counts[:5, :1], auc_ranks(np.zeros(5, bool), np.arange(5.0)))
    no_revenue = weighted_top_share_capture(
        counts[:5, :1], capture_order(np.zeros(5), np.arange(5.0), 0.1)
    )
    assert np.isnan(only_lost).all() and np.isnan(no_revenue).all()


def test_bootstrap_metrics_are_those_of_each_draws_rows_where_origins_hold_other_customers(
    monkeypatch,
):
    """Origins hold different, shuffled subsets of the customers, and the draws come in
    chunks of 3: each draw's metric is still the mean over origins of the AUC and top-10 %
    capture of the rows that draw takes at each origin."""
    rng = np.random.default_rng(7)
    universe = np.array([f"c{i}" for i in range(400)])
    frames = []
    for k, share in enumerate((1.0, 0.7, 0.5)):
        ids = rng.permutation(universe)[: int(share * len(universe))]
        won = rng.random(len(ids)) < 0.3
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": ids,
                    "origin": pd.Timestamp("2025-01-01") + pd.DateOffset(months=3 * k),
                    "won_any": won,
                    "won_revenue": np.where(won, rng.gamma(2.0, 100.0, len(ids)), 0.0),
                    "p_model": np.round(rng.random(len(ids)) + 0.4 * won, 1),
                    "value_model": np.round(rng.random(len(ids)) + 0.4 * won, 1),
                }
            )
        )
    predictions = pd.concat(frames, ignore_index=True)
    monkeypatch.setattr(selection, "BOOTSTRAP_CELLS", 3 * len(universe))
    draws = selection.bootstrap_primary(predictions, ["model"], 7, seed=3)["model"]
    first_seen = pd.Index(predictions["customer_id"].unique())
    counts = selection.resample_counts(np.random.default_rng(3), len(first_seen), 7)
    for draw in range(7):
        per_origin = []
        for frame in frames:
            rows = np.repeat(
                np.arange(len(frame)), counts[first_seen.get_indexer(frame.customer_id), draw]
            )
            taken = frame.iloc[rows]
            per_origin.append(
                (
                    roc_auc_score(taken.won_any, taken.p_model),
                    top_capture(taken.won_revenue.to_numpy(), taken.value_model.to_numpy()),
                )
            )
        assert draws[draw] == pytest.approx(np.mean(per_origin, axis=0), abs=1e-12)


def test_top_capture_takes_exactly_the_share_and_breaks_ties_by_row_order():
    revenue = np.array([0, 10, 0, 0, 0, 0, 0, 0, 0, 90.0] * 2)
    tied = np.ones(20)  # everyone tied: the first 2 rows (10 %) are the top
    assert top_capture(revenue, tied) == pytest.approx(10 / 200)
    value = np.array([5, 1, 1, 1, 1, 1, 1, 1, 1, 9.0] * 2)
    assert top_capture(revenue, value) == pytest.approx(180 / 200)


def _predictions(n: int, origins: int, seed: int, model_noise: float, bad_capture=False):
    """Outcomes driven by a score that RFM sees; the model sees it with `model_noise`."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(origins):
        truth = rng.normal(size=n)
        won = rng.random(n) < 1 / (1 + np.exp(-(2 * truth - 1)))
        revenue = np.where(won, 100.0 * np.exp(truth), 0.0)
        noisy = truth + rng.normal(scale=0.8, size=n)
        model = truth + rng.normal(scale=model_noise, size=n) if model_noise else noisy + 1e-9
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i}" for i in range(n)],
                    "origin": pd.Timestamp("2025-01-01") + pd.DateOffset(months=3 * k),
                    "won_any": won,
                    "won_revenue": revenue,
                    "p_rfm": 1 / (1 + np.exp(-noisy)),
                    "value_rfm": np.exp(noisy),
                    "p_scorecard": rng.random(n),
                    "value_scorecard": rng.random(n),
                    "p_model": 1 / (1 + np.exp(-model)),
                    "value_model": -np.exp(model) if bad_capture else np.exp(model),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_a_model_that_ranks_better_with_confidence_is_champion():
    selection = choose_champion(_predictions(3000, 3, 0, model_noise=0.2), "test", 100)
    assert selection.champion == "model" and selection.best_baseline == "rfm"
    row = selection.table.set_index("method").loc["model"]
    assert row["auc_low"] > 0 and row["top_decile_capture_low"] > 0 and row["champion"]


def test_a_model_that_only_ties_with_rfm_leaves_rfm_champion_and_says_so():
    selection = choose_champion(_predictions(3000, 3, 0, model_noise=0.0), "test", 100)
    assert selection.champion == "rfm" and selection.baseline_is_champion
    assert selection.reason == (
        "on this history the model ranks customers no better than RFM quintiles; "
        "tiers use RFM quintiles"
    )
    row = selection.table.set_index("method").loc["model"]
    assert row["auc_low"] <= 0 <= row["auc_high"]


def test_better_auc_does_not_make_a_champion_that_captures_less_revenue():
    predictions = _predictions(3000, 3, 0, model_noise=0.2, bad_capture=True)
    selection = choose_champion(predictions, "test", 100)
    assert selection.champion == "rfm"
    assert selection.table.set_index("method").loc["model", "top_decile_capture_high"] < 0


def test_missing_metrics_never_promote():
    predictions = _predictions(3000, 2, 0, model_noise=0.2).assign(p_model=np.nan)
    assert choose_champion(predictions, "test", 50).champion == "rfm"


def test_origins_are_the_latest_cutoffs_with_closed_windows_before_them_spaced_apart():
    weekly = list(pd.date_range("2025-01-06", periods=30, freq="7D"))
    origins = selection_origins(weekly, horizon_days=91, count=3)
    assert origins == [weekly[-11], weekly[-6], weekly[-1]]  # 35 days: the first >= 91 // 3
    for origin in origins:
        closed = [t for t in weekly if t + pd.Timedelta(days=91) <= origin]
        assert len(closed) >= 2
    # too little history: no origin at all (the caller cross-validates instead)
    assert selection_origins(weekly[:14], horizon_days=91, count=3) == []


def test_a_replay_learns_only_from_label_windows_closed_by_its_origin(
    model_input, train_params, monkeypatch
):
    seen = {}
    real = training.fit_candidates

    def spy(rows, params, methods):
        seen["latest"] = rows["as_of"].max()
        return real(rows, params, [m for m in methods if m in BASELINES])

    monkeypatch.setattr(training, "fit_candidates", spy)
    origin = sorted(model_input["as_of"].unique())[-1]
    predictions = replay_at(model_input, origin, train_params)
    assert seen["latest"] + pd.Timedelta(days=HORIZON) <= origin
    assert (predictions["origin"] == origin).all()
    assert len(predictions) == (model_input["as_of"] == origin).sum()


@pytest.mark.slow
def test_when_rfm_is_the_truth_the_champion_is_rfm_or_tied_with_it(model_input, train_params):
    """Outcomes drawn from the RFM score alone: no model can do better than tie with RFM."""
    rng = np.random.default_rng(7)
    centred = model_input["rfm_score"] - model_input["rfm_score"].mean()
    won = rng.random(len(model_input)) < 1 / (1 + np.exp(-(0.9 * centred - 1.0)))
    rfm_truth = model_input.assign(won_any=won, won_revenue=np.where(won, 100.0, 0.0))
    evaluation = evaluate_candidates(rfm_truth, replace(train_params, selection_origins=2))
    selection = evaluation.selection
    table = selection.table.set_index("method")
    assert selection.best_baseline == "rfm"
    if selection.champion != "rfm":  # only a candidate statistically tied with RFM on AUC
        assert table.loc[selection.champion, "auc_low"] <= 0
    assert "no better than RFM quintiles; tiers use RFM quintiles" in selection.reason or (
        selection.champion != "rfm"
    )


def test_too_little_history_cross_validates_customers_and_says_so(model_input, train_params):
    """Three monthly cutoffs and a 180-day horizon leave no replay origin: every customer at
    the latest cutoff is predicted by candidates fitted without them."""
    cutoffs = sorted(model_input["as_of"].unique())
    short = model_input[model_input["as_of"].isin(cutoffs[:3])]
    evaluation = evaluate_candidates(short, replace(train_params, bootstrap_draws=20))
    assert evaluation.selection.evidence.startswith("customer cross-validation")
    predictions = evaluation.predictions
    assert (predictions["origin"] == cutoffs[2]).all() and predictions["customer_id"].is_unique
    assert len(predictions) == (short["as_of"] == cutoffs[2]).sum()
    assert {"p_model", "p_stacked", "p_rfm"} <= set(predictions.columns)


def test_a_model_missing_at_one_origin_is_not_compared_on_the_others():
    """Compared only where every method predicted: a model that failed the minimum data
    check at one origin cannot win on the origins where it happened to be fitted."""
    predictions = _predictions(2000, 2, 0, model_noise=0.2)
    first = predictions["origin"] == predictions["origin"].min()
    predictions.loc[first, ["p_model", "value_model"]] = np.nan
    selection = choose_champion(predictions, "test", 50)
    assert selection.champion == "rfm" and "model" not in set(selection.table["method"])


def test_the_reference_baseline_is_not_beaten_by_another_baseline():
    """RFM and the scorecard tie on AUC, but the scorecard captures far more revenue: RFM,
    though higher on AUC, is not the best baseline."""
    predictions = _predictions(3000, 2, 1, model_noise=0.0)
    predictions["p_scorecard"] = predictions["p_rfm"] - 1e-9
    truth_order = predictions["won_revenue"] + predictions["value_rfm"] * 1e-6
    predictions["value_scorecard"] = truth_order
    predictions["value_model"] = predictions["value_rfm"]
    selection = choose_champion(predictions, "test", 60)
    assert selection.best_baseline == "scorecard" == selection.champion


def test_origins_that_repeat_the_same_customers_add_no_confidence():
    """The bootstrap resamples customers once per draw for all origins: the same outcomes
    seen three times give the interval of seeing them once."""
    once = _predictions(1500, 1, 2, model_noise=0.5)
    thrice = pd.concat(
        [once.assign(origin=once["origin"] + pd.DateOffset(months=k)) for k in range(3)]
    )
    width = {
        name: np.subtract(
            *choose_champion(frame, "test", 100, seed=3)
            .table.set_index("method")
            .loc["model", ["auc_high", "auc_low"]]
        )
        for name, frame in (("once", once), ("thrice", thrice))
    }
    assert width["thrice"] == pytest.approx(width["once"], rel=0.2)


def test_promotion_is_refused_without_finite_metrics():
    from tier_ml.pipelines.backtest.nodes import promotion_gate

    versions = {"propensity": 3, "ltv": 3}
    unsound = {"champion": "rfm", "sound": False, "reason": "no finite metrics"}
    decision, _, metrics = promotion_gate(versions, unsound)
    assert not decision["promote"] and metrics["gate.promote"]["value"] == 0.0
    sound = {"champion": "rfm", "sound": True, "reason": "r", "evidence": "e"}
    assert promotion_gate(versions, sound)[0]["promote"]
    assert not promotion_gate({"propensity": None}, sound)[0]["promote"]


def test_scoring_far_past_the_data_end_is_refused():
    from tier_ml.pipelines.score.nodes import StaleData, check_fresh

    end = pd.Timestamp("2025-12-31")
    check_fresh(pd.Timestamp("2026-01-07"), end, 7)
    with pytest.raises(StaleData, match="2026-01-08 is 8 days after the data's end 2025-12-31"):
        check_fresh(pd.Timestamp("2026-01-08"), end, 7)
