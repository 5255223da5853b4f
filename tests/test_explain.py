"""Reasons: additivity on the probability, log and money scales, signs, ranking and the
part that drives each effect, on hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from tier_ml.explain import (
    MONEY,
    ValueParts,
    contribution_changes,
    fold_absent,
    group_columns,
    link_scale,
    money_shown,
    money_unit,
    one_hot_groups,
    reason_codes,
    top_contributions,
)
from tier_ml.features.registry import FeatureConfig, feature_registry

REGISTRY = feature_registry(FeatureConfig())


def test_link_scale_contributions_add_up_to_the_probability():
    rng = np.random.default_rng(0)
    raw = np.column_stack([rng.normal(size=(500, 6)), np.full(500, -0.4)])
    calibrate = lambda r: expit(0.8 * r + 0.3)  # noqa: E731 - a Platt calibrator
    scaled = link_scale(raw, calibrate)
    np.testing.assert_allclose(scaled.sum(axis=1), calibrate(raw.sum(axis=1)), atol=1e-9)
    np.testing.assert_allclose(scaled[:, -1], calibrate(raw[:, -1]), atol=1e-12)
    assert (np.sign(scaled[:, :-1]) == np.sign(raw[:, :-1])).all()
    order_raw = np.argsort(raw[:, :-1], axis=1)
    order_scaled = np.argsort(scaled[:, :-1], axis=1)
    np.testing.assert_array_equal(order_raw, order_scaled)


def test_a_customer_at_the_base_value_gets_the_calibrator_slope():
    raw = np.array([[0.0, 0.0, 1.0]])
    scaled = link_scale(raw, expit)
    assert scaled[0, -1] == pytest.approx(expit(1.0))
    assert scaled[0, :2] == pytest.approx([0.0, 0.0])


def test_log_scale_contributions_add_up_to_the_log_probability():
    rng = np.random.default_rng(1)
    raw = np.column_stack([rng.normal(size=(300, 5)), np.full(300, -1.2)])
    log_p = lambda r: np.log(expit(0.7 * r - 0.2))  # noqa: E731 - log of a Platt calibrator
    scaled = link_scale(raw, log_p)
    np.testing.assert_allclose(scaled[:, :-1].sum(axis=1), log_p(raw.sum(axis=1)) - log_p(-1.2))
    assert (np.sign(scaled[:, :-1]) == np.sign(raw[:, :-1])).all()


def _parts() -> ValueParts:
    """Two customers around a base of 1,000: the first likelier (open deals) and larger
    (recent revenue), the second less likely (silence) and smaller (a small average deal)."""
    columns = ["open_deal_count", "won_revenue_180d"]
    return ValueParts(
        likelihood=pd.DataFrame([[0.9, 0.1], [-0.7, 0.05]], columns=columns),
        size=pd.DataFrame([[0.05, 1.2], [0.0, -0.4]], columns=columns),
        base=np.log([1_000.0, 1_000.0]),
    )


def test_effects_in_money_add_up_to_the_expected_value_less_its_base():
    parts = _parts()
    value = 1_000.0 * np.exp([0.9 + 0.1 + 0.05 + 1.2, -0.7 + 0.05 - 0.4])
    np.testing.assert_allclose(parts.log_value(), np.log(value))
    money = parts.money()
    np.testing.assert_allclose(money.sum(axis=1), value - 1_000.0)
    # proportional to each feature's log effect
    np.testing.assert_allclose(money.iloc[0, 0] / money.iloc[0, 1], 0.95 / 1.3)
    assert parts.likelihood_led().to_numpy().tolist() == [[True, False], [True, False]]


def test_money_is_shown_to_two_significant_figures_in_whole_units():
    shown = money_shown(np.array([8_437.0, -123.4, 95.2, 9_960.0, 1.6, 0.4, -0.4, 0.0]))
    assert shown.tolist() == [8_400, -120, 95, 10_000, 2, 0, 0, 0]


def test_value_reasons_begin_with_the_part_that_drives_them():
    parts = _parts()
    values = pd.DataFrame({"open_deal_count": [4.0, 0.0], "won_revenue_180d": [184_682.0, 0.0]})
    money = parts.money()
    reasons = reason_codes(money, values, REGISTRY, 2, 2, MONEY, parts.likelihood_led())
    first, second = reasons.iloc[0], reasons.iloc[1]
    shown = money_shown(money.to_numpy())
    assert first["reason_1"] == f"large: 184,682 won in the last 180 days (+{shown[0, 1]:,})"
    assert first["reason_2"] == f"likely to buy: 4 open deals (+{shown[0, 0]:,})"
    assert first[["risk_1", "risk_2"]].isna().all()
    assert second["risk_1"] == f"less likely to buy: no open deal ({shown[1, 0]:+,})"
    assert second["risk_2"] == f"smaller: 0 won in the last 180 days ({shown[1, 1]:+,})"
    assert second[["reason_1", "reason_2"]].isna().all()


@pytest.mark.parametrize(
    ("currency", "language", "up", "down"),
    [
        ("USD", "en", " (+$8,400)", " (-$2,100)"),
        ("CHF", "en", " (+8,400 CHF)", " (-2,100 CHF)"),
        ("", "en", " (+8,400)", " (-2,100)"),
        ("USD", "zh", "（+US$8,400）", "（-US$2,100）"),
    ],
)
def test_value_effects_are_said_in_the_runs_currency(currency, language, up, down):
    unit = money_unit(currency)
    assert (unit.say(8_400, language), unit.say(-2_100, language)) == (up, down)


def test_reasons_are_signed_ranked_and_carry_the_customers_values():
    contributions = pd.DataFrame(
        {
            "act_meeting_90d": [0.04],
            "days_since_last_won": [-0.10],
            "open_deal_count": [0.12],
            "win_rate": [0.01],
            "days_since_last_activity": [-0.02],
        }
    )
    values = pd.DataFrame(
        {
            "act_meeting_90d": [3.0],
            "days_since_last_won": [412.0],
            "open_deal_count": [2.0],
            "win_rate": [0.5],
            "days_since_last_activity": [np.nan],
        }
    )
    reasons = reason_codes(contributions, values, REGISTRY).iloc[0]
    assert reasons["reason_1"] == "2 open deals (+12.0 pts)"
    assert reasons["reason_2"] == "3 meetings in the last 90 days (+4.0 pts)"
    assert reasons["reason_3"] == "wins 50% of closed deals (+1.0 pts)"
    assert reasons["risk_1"] == "last won deal 412 days ago (-10.0 pts)"
    assert reasons["risk_2"] == "never contacted (-2.0 pts)"


def test_without_open_deals_their_amount_and_age_are_said_with_the_count():
    """No open deal leaves the amount 0 and both ages missing: one reason, "no open deal",
    with all four effects. Beside open deals, a missing age (unknown) keeps its own."""
    effects = pd.DataFrame(
        {
            "open_deal_count": [0.02, 0.01, 0.03],
            "open_deal_amount": [0.01, 0.02, 0.0],
            "open_deal_age_mean_days": [0.05, 0.04, 0.02],
            "open_deal_age_max_days": [0.01, -0.03, 0.01],
            "won_count_total": [0.1, 0.1, 0.1],
        }
    )
    values = pd.DataFrame(
        {
            "open_deal_count": [0.0, 2.0, 1.0],
            "open_deal_amount": [0.0, 5_000.0, 800.0],
            "open_deal_age_mean_days": [np.nan, np.nan, 12.0],
            "open_deal_age_max_days": [np.nan, np.nan, 12.0],
            "won_count_total": [3.0, 3.0, 3.0],
        }
    )
    folded = fold_absent(effects.to_numpy(copy=True), effects.columns, values, REGISTRY)
    np.testing.assert_allclose(folded[0], [0.09, 0.0, 0.0, 0.0, 0.1])
    np.testing.assert_array_equal(folded[1:], effects.iloc[1:])
    np.testing.assert_allclose(folded.sum(axis=1), effects.sum(axis=1))
    folded = pd.DataFrame(folded, columns=effects.columns)
    reasons = reason_codes(folded, values, REGISTRY, 3, 0).iloc[0]
    assert reasons[:2].tolist() == ["3 won deals in total (+10.0 pts)", "no open deal (+9.0 pts)"]
    assert pd.isna(reasons["reason_3"])  # nothing else raises it


def test_no_reason_is_invented_when_nothing_raises_the_score():
    contributions = pd.DataFrame({"win_rate": [-0.1], "open_deal_count": [0.0]})
    values = pd.DataFrame({"win_rate": [0.1], "open_deal_count": [0.0]})
    reasons = reason_codes(contributions, values, REGISTRY).iloc[0]
    assert reasons["reason_1"] is None and reasons["risk_1"].startswith("wins 10%")


def test_an_effect_that_rounds_to_zero_points_is_no_reason():
    contributions = pd.DataFrame(
        {"open_deal_count": [0.0004, 0.0006], "win_rate": [-0.0004, -0.0006]}
    )
    values = pd.DataFrame({"open_deal_count": [1.0, 1.0], "win_rate": [0.5, 0.5]})
    reasons = reason_codes(contributions, values, REGISTRY)
    assert reasons[["reason_1", "risk_1"]].iloc[0].isna().all()
    assert reasons.loc[1, "reason_1"] == "1 open deal (+0.1 pts)"
    assert reasons.loc[1, "risk_1"] == "wins 50% of closed deals (-0.1 pts)"


def test_contribution_changes_between_runs_only_for_features_both_runs_know():
    before, after = pd.Timestamp("2025-09-30"), pd.Timestamp("2025-12-31")
    reasons = pd.DataFrame(
        {
            "customer_id": ["x", "x", "x", "x"],
            "as_of": [before, before, after, after],
            "feature": ["open_deal_count", "win_rate", "open_deal_count", "tenure_days"],
            "contribution": [0.05, 0.02, 0.35, 0.10],
        }
    )
    changes = contribution_changes(reasons, before, after)
    assert changes["feature"].tolist() == ["open_deal_count"]
    assert changes["change"].iloc[0] == pytest.approx(0.30)
    assert contribution_changes(reasons, after, after + pd.Timedelta(days=1)).empty


def test_one_hot_columns_are_regrouped_to_their_feature():
    contributions = pd.DataFrame(
        {"industry=Retail": [0.1], "industry=Software": [0.05], "tenure_days": [0.2]}
    )
    groups = one_hot_groups(list(contributions.columns))
    assert groups == {"industry=Retail": "industry", "industry=Software": "industry"}
    grouped = group_columns(contributions, groups)
    assert grouped.columns.tolist() == ["industry", "tenure_days"]
    assert grouped["industry"].iloc[0] == pytest.approx(0.15)


def test_long_format_keeps_the_largest_contributions():
    contributions = pd.DataFrame({"a": [0.1, -0.5], "b": [-0.3, 0.2], "c": [0.0, 0.01]})
    values = pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [5, 6]})
    long = top_contributions(contributions, values, pd.Series(["x", "y"]), top=2)
    assert long["feature"].tolist() == ["b", "a", "a", "b"]
    assert long["customer_id"].tolist() == ["x", "x", "y", "y"]


def test_long_format_of_a_value_reason_ranks_by_effect_and_names_the_part():
    contributions = pd.DataFrame({"a": [0.30, 0.01], "b": [0.01, -0.02], "c": [0.02, 0.0]})
    effects = pd.DataFrame({"a": [100.0, 5.0], "b": [-900.0, 40.0], "c": [10.0, -60.0]})
    led = pd.DataFrame({"a": [True, True], "b": [False, True], "c": [True, False]})
    values = pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [5, 6]})
    long = top_contributions(contributions, values, pd.Series(["x", "y"]), 2, effects, led)
    assert long["feature"].tolist() == ["b", "a", "c", "b"]
    assert long["effect"].tolist() == [-900.0, 100.0, -60.0, 40.0]
    assert long["contribution"].tolist() == [0.01, 0.30, 0.0, -0.02]
    assert long["driver"].tolist() == ["size", "likelihood", "size", "likelihood"]


def test_long_format_keeps_numbers_as_numbers_and_categories_by_name():
    contributions = pd.DataFrame({"won_count_total": [0.2, 0.1], "industry": [0.1, -0.3]})
    values = pd.DataFrame(
        {
            "won_count_total": [3, np.nan],
            "industry": pd.Series(["Retail", None], dtype="category"),
        }
    )
    long = top_contributions(contributions, values, pd.Series(["x", "y"]), top=2)
    assert long["value"].dtype == "float64"
    cells = long.set_index(["customer_id", "feature"])[["value", "category"]]
    assert cells.loc[("x", "won_count_total"), "value"] == 3.0
    assert cells.loc[("x", "industry"), "category"] == "Retail"
    assert cells.loc[[("x", "won_count_total"), ("y", "won_count_total")], "category"].isna().all()
    assert cells.loc[[("x", "industry"), ("y", "industry")], "value"].isna().all()
    assert pd.isna(cells.loc[("y", "won_count_total"), "value"])  # missing stays missing
    assert pd.isna(cells.loc[("y", "industry"), "category"])
