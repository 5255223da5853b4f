"""Hurdle LTV, segments with stable ids and names, open-deal scoring without leakage."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.models.conftest import HORIZON
from tier_ml.models import opportunity, propensity
from tier_ml.models.candidates import fit_candidate
from tier_ml.models.opportunity import (
    PIPELINE_FEATURE,
    fit_opportunity_model,
    held_out_auc,
    historic_win_rate,
    model_for,
    open_deals_at,
    opportunity_matrix,
    opportunity_rows,
)
from tier_ml.models.propensity import fit_early_stopped
from tier_ml.models.sampling import SamplingParams
from tier_ml.models.segments import SegmentModel, match_ids, name_segments
from tier_ml.models.training import labelled_before
from tier_ml.scoring import ScoringParams, score_customers
from tier_ml.tiering import TierPolicy


@pytest.fixture(scope="module")
def candidates(model_input, train_params):
    """Every candidate fitted on the cutoffs closed by the last one, and the last one."""
    last = model_input["as_of"].max()
    history = labelled_before(model_input, last, HORIZON)
    methods = ("model", "tweedie", "rfm", "scorecard", "last_period_revenue")
    fitted = {
        m: fit_candidate(
            history,
            "model" if m == "tweedie" else m,
            replace(train_params.candidates, ltv=m) if m == "tweedie" else train_params.candidates,
        )
        for m in methods
    }
    return fitted, model_input[model_input["as_of"] == last]


def test_hurdle_value_is_win_probability_times_revenue_if_won(candidates):
    fitted, test = candidates
    model = fitted["model"]
    p_win, value = model.predict(test)
    np.testing.assert_allclose(value, p_win * model.ltv.revenue_if_won(test[model.ltv.features_]))
    # the candidate reuses its P(win): the same values as the LTV model predicts on its own
    for method in ("model", "tweedie"):
        ltv = fitted[method].ltv
        np.testing.assert_allclose(
            fitted[method].predict(test)[1], ltv.predict(test[ltv.features_]), rtol=1e-12
        )
    assert fitted["tweedie"].ltv.__class__.__name__ == "TweedieLTV"


@pytest.mark.parametrize("feature", ["act_meeting_90d", "open_deal_amount"])
@pytest.mark.parametrize("method", ["model", "tweedie"])
def test_a_value_with_one_feature_changed_is_the_models_own_prediction(candidates, method, feature):
    """The next-step search re-walks only the trees that split on the changed feature; the
    value must be what the model predicts for the changed rows, for the hurdle and Tweedie."""
    fitted, test = candidates
    ltv = fitted[method].ltv
    rows = test[ltv.features_].reset_index(drop=True)
    at = np.arange(0, len(rows), 2)
    raised = rows[feature].fillna(0.0).to_numpy()[at] + np.arange(len(at)) % 7 * 3.0
    value_with = ltv.value_what_if(ltv.matrix(rows))
    expected = ltv.predict(rows.iloc[at].assign(**{feature: raised}))
    assert not np.allclose(expected, ltv.predict(rows.iloc[at]))  # the change moves values
    np.testing.assert_allclose(value_with(feature, at, raised), expected, rtol=1e-9)


@pytest.mark.parametrize("method", ["model", "tweedie"])
def test_scoring_gives_the_ltv_models_own_expected_value(candidates, method):
    """Scoring reuses the P(win) of the reasons for the hurdle model; the value must be the
    model's own, for the hurdle and for Tweedie alike."""
    fitted, test = candidates
    champion = fitted[method]
    models = {"propensity": champion.propensity, "ltv": champion.ltv}
    params = ScoringParams(test["as_of"].max(), HORIZON, TierPolicy(), {})
    scores, _, _ = score_customers(test, models, params, {}, pd.DataFrame())
    expected = champion.ltv.predict(test[champion.ltv.features_])
    np.testing.assert_allclose(scores["expected_value"], expected, rtol=1e-9)


def test_model_and_baselines_rank_revenue_and_the_model_wins_on_planted_signal(candidates):
    from tier_ml.evaluation import classification_metrics, normalized_gini

    fitted, test = candidates
    won, revenue = test["won_any"].to_numpy(), test["won_revenue"].to_numpy()
    auc, gini = {}, {}
    for method, candidate in fitted.items():
        p_win, value = candidate.predict(test)
        assert np.isfinite(p_win).all() and ((p_win > 0) & (p_win < 1)).all(), method
        auc[method] = classification_metrics(won, p_win)["auc"]
        gini[method] = normalized_gini(revenue, value)
    # on synthetic data with a planted signal the model beats every baseline's ranking
    assert auc["model"] > max(auc[m] for m in ("rfm", "scorecard", "last_period_revenue"))
    assert gini["model"] > max(gini[m] for m in ("rfm", "scorecard", "last_period_revenue"))


def test_segments_are_named_and_ids_stay_stable(model_input):
    cutoffs = sorted(model_input["as_of"].unique())
    latest = model_input[model_input["as_of"] == cutoffs[-2]]
    first = SegmentModel(seed=1).fit(latest)
    assert 3 <= first.k_ <= 7 and len(set(first.names_.values())) == first.k_
    # a retrain on the next month, seeded differently, keeps the ids of matched segments
    later = model_input[model_input["as_of"] == cutoffs[-1]]
    again = SegmentModel(seed=2).fit(later, previous=first)
    shared = set(first.names_.values()) & set(again.names_.values())
    assert shared, "expected some segments to persist"
    for name in shared:
        old_id = [k for k, v in first.names_.items() if v == name]
        new_id = [k for k, v in again.names_.items() if v == name]
        assert old_id == new_id, name


def test_match_ids_follows_the_nearest_previous_centroid():
    previous = np.array([[0.0, 0.0], [10.0, 10.0], [5.0, 0.0]])
    new = np.array([[9.5, 10.2], [0.1, 0.0], [20.0, 20.0], [5.2, 0.1]])
    assert match_ids(new, previous, [7, 3, 4]) == [3, 7, 8, 4]


def test_segment_names_come_from_centroid_profiles():
    centroids = pd.DataFrame(
        {
            "days_since_last_won": [20.0, 400.0, 1095.0, 30.0],
            "won_count_365d": [6.0, 1.0, 0.0, 1.0],
            "won_revenue_365d": [90_000.0, 30_000.0, 0.0, 2_000.0],
            "act_total_90d": [9.0, 1.0, 3.0, 2.0],
        }
    )
    assert name_segments(centroids) == [
        "Big recent buyers",
        "Small lapsed spenders",
        "Engaged prospects",
        "Small recent buyers",
    ]


def test_open_deals_at_a_cutoff_and_their_labels(crm):
    deals = crm[1]
    t = pd.Timestamp("2025-03-01")
    rows = open_deals_at(deals, t, HORIZON)
    source = deals.set_index("deal_id").loc[rows["deal_id"]]
    assert (source["created_at"] < t).all()
    assert (source["closed_at"].isna() | (source["closed_at"] >= t)).all()
    expected = (
        source["status"].eq("won") & (source["closed_at"] < t + pd.Timedelta(days=HORIZON))
    ).to_numpy()
    np.testing.assert_array_equal(rows["won_in_horizon"].to_numpy(), expected)


def test_opportunity_model_never_sees_the_exported_stage(crm, feature_table):
    deals = crm[1].assign(stage=lambda d: d["status"])
    rows = opportunity_rows(deals, feature_table.head(3000), HORIZON)
    assert "stage" not in opportunity_matrix(rows).columns
    assert "won_in_horizon" not in opportunity_matrix(rows).columns


def test_pipeline_value_is_present_wherever_there_are_open_deals(model_input, crm):
    """At the first cutoff no opportunity model could be fitted yet: the historic win rate
    stands in, so the feature is never missing in training, as in scoring."""
    first = model_input[model_input["as_of"] == model_input["as_of"].min()]
    with_open = first[first["open_deal_count"] > 0]
    rate = historic_win_rate(crm[1], first["as_of"].iloc[0])
    np.testing.assert_allclose(
        with_open[PIPELINE_FEATURE], rate * with_open["open_deal_amount"], rtol=1e-9
    )
    assert model_input.loc[model_input["open_deal_count"] > 0, PIPELINE_FEATURE].notna().all()
    assert (model_input.loc[model_input["open_deal_count"] == 0, PIPELINE_FEATURE] == 0).all()


def test_pipeline_value_models_are_refitted_sparingly_and_never_see_the_future(
    crm, feature_table, monkeypatch
):
    rows = opportunity_rows(crm[1], feature_table, HORIZON)
    cutoffs = sorted(feature_table["as_of"].unique())
    fitted_at = {}

    def recording(rows, as_of, horizon_days, seed, sampling):
        model = model_for(rows, as_of, horizon_days, seed, sampling)
        if model is not None:
            fitted_at[id(model)] = as_of
        return model

    monkeypatch.setattr(opportunity, "model_for", recording)
    served = opportunity.models_in_time(rows, cutoffs, HORIZON)
    used = [(t, m) for t, m in served.items() if m is not None]
    assert len(used) > len(cutoffs) // 2  # the fixture's history fits models at most cutoffs
    assert len(fitted_at) < len(used) / 2  # fewer fits than cutoffs served
    for t, model in used:
        fit = fitted_at[id(model)]
        assert fit <= t and t - fit < pd.Timedelta(days=HORIZON / 2)


@pytest.mark.parametrize("budget", [None, 3000])
def test_opportunity_fits_keep_to_the_row_budget_and_stop_on_every_latest_deal(
    crm, feature_table, monkeypatch, budget
):
    """At a million customers the deals open at the cutoffs are millions: the fit sees
    `train.sampling.max_rows` of them, weighted 1 / P(kept) so that they stand for all; the
    early stopping and the calibration see every deal open at the latest cutoff."""
    rows = opportunity_rows(crm[1], feature_table, HORIZON)
    latest = rows["as_of"].max()
    earlier = int((rows["as_of"] < latest).sum())
    seen = {}

    def spying(booster, X, y, X_valid, y_valid, features, categories, rounds, *weights):
        seen.update(rows=len(X), valid=len(X_valid), weight=np.asarray(weights[0]))
        return fit_early_stopped(
            booster, X, y, X_valid, y_valid, features, categories, rounds, *weights
        )

    monkeypatch.setattr(propensity, "fit_early_stopped", spying)
    model = fit_opportunity_model(rows, seed=0, sampling=SamplingParams(max_rows=budget))
    assert model is not None and seen["valid"] == int((rows["as_of"] == latest).sum())
    if budget is None:
        assert seen["rows"] == earlier and (seen["weight"] == 1).all()
    else:
        assert earlier > 2 * budget  # the fixture has deals to thin
        assert 0.8 * budget < seen["rows"] < 1.2 * budget
        assert seen["weight"].sum() == pytest.approx(earlier, rel=0.1)


def test_historic_win_rate_counts_only_deals_closed_before_the_date():
    deals = pd.DataFrame(
        {
            "status": ["won", "lost", "lost", "won", "open"],
            "closed_at": pd.to_datetime(
                ["2025-01-01", "2025-01-02", "2025-02-01", "2025-03-01", None]
            ),
        }
    )
    assert historic_win_rate(deals, pd.Timestamp("2025-01-15")) == (1 + 1) / (2 + 2)
    assert historic_win_rate(deals, pd.Timestamp("2024-01-01")) == 0.5


@pytest.mark.parametrize(("customers", "k"), [(1, 1), (2, 1), (3, 2), (5, 3)])
def test_segments_fit_on_fewer_customers_than_the_configured_k(model_input, customers, k):
    """Tiny exports do not crash in k-means: k is capped at one less than the customers."""
    rows = model_input[model_input["as_of"] == model_input["as_of"].max()].head(customers)
    model = SegmentModel(k_range=(3, 7)).fit(rows)
    assert model.k_ == k and len(model.predict(rows)) == customers


def test_no_cutoff_gives_no_open_deal_rows(crm, feature_table):
    rows = opportunity_rows(crm[1], feature_table.head(0), HORIZON)
    assert rows.empty and {"deal_id", "amount", "won_in_horizon"} <= set(rows.columns)


def test_opportunity_auc_is_measured_on_deals_the_model_never_saw(crm, feature_table):
    rows = opportunity_rows(crm[1], feature_table, HORIZON)
    check = held_out_auc(rows, HORIZON, seed=0)
    latest = rows["as_of"].max()
    assert check["as_of"] == latest.date().isoformat()
    assert check["deals"] == int((rows["as_of"] == latest).sum())
    assert 0.6 < check["auc"] < 1.0  # synthetic deals carry signal; a leak would near 1.0
    assert held_out_auc(rows.head(0), HORIZON, seed=0) is None


def test_a_baseline_scores_a_customer_the_same_in_any_batch(candidates):
    """Baselines read the population's scores, not ranks within the rows they are handed
    (a Spark partition, a batch): split the rows and nothing changes."""
    fitted, test = candidates
    for method in ("rfm", "scorecard", "last_period_revenue"):
        whole = np.column_stack(fitted[method].predict(test))
        parts = np.vstack(
            [
                np.column_stack(fitted[method].predict(test.iloc[start : start + 97]))
                for start in range(0, len(test), 97)
            ]
        )
        np.testing.assert_array_equal(whole, parts, err_msg=method)


def test_last_period_revenue_is_scaled_from_its_window_to_the_horizon():
    from tier_ml.models.candidates import BaselineModel

    rows = pd.DataFrame({"won_revenue_90d": [0.0, 90.0, 180.0], "won_revenue_365d": [1.0] * 3})
    model = BaselineModel("last_period_revenue", horizon_days=120).fit(
        rows, pd.Series([False, True, True]), pd.Series([0.0, 100.0, 300.0])
    )
    assert model.features_ == ["won_revenue_90d"]
    np.testing.assert_allclose(model.expected_value(rows), [0.0, 120.0, 240.0])
