"""Reasons for expected value on small fitted models: log EV = log p_win + log amount, each
part additive through its own model's exact TreeSHAP; the planted drivers come back tagged
with the part that drives them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tier_ml.explain import LIKELIHOOD, SIZE, ValueParts
from tier_ml.models.ltv import HurdleLTV, TweedieLTV
from tier_ml.models.propensity import PropensityModel
from tier_ml.scoring import (
    ScoringParams,
    _model_reasons,
    likelihood_scales,
    raw_contributions,
    value_parts,
)
from tier_ml.tiering import TierPolicy

FEATURES = ["open_deal_count", "won_revenue_180d", "act_meeting_90d", "industry"]
SETTINGS = {"n_estimators": 60, "min_child_samples": 20, "n_jobs": 2}
ADDITIVE = 1e-9  # per row, on the log scale


def _crm(rows: int, seed: int, amount_signal: bool = True) -> pd.DataFrame:
    """Win chance planted in open deals and meetings; the amount if won in recent revenue
    (or, without `amount_signal`, one amount for every buyer)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(rows)],
            "open_deal_count": rng.poisson(1.5, rows).astype(float),
            "won_revenue_180d": np.where(rng.random(rows) < 0.4, 0.0, rng.lognormal(9, 1, rows)),
            "act_meeting_90d": rng.poisson(2, rows).astype(float),
            "industry": pd.Categorical(rng.choice(["Retail", "Software", "Logistics"], rows)),
        }
    )
    logit = -2.0 + 1.2 * frame["open_deal_count"] + 0.4 * frame["act_meeting_90d"]
    won = rng.random(rows) < 1 / (1 + np.exp(-logit))
    size = 2_000 + 3 * frame["won_revenue_180d"] if amount_signal else 5_000.0
    amount = size * rng.lognormal(0, 0.2, rows) if amount_signal else np.full(rows, size)
    return frame.assign(won_any=won.astype(int), won_revenue=np.where(won, amount, 0.0))


def _fitted(ltv_kind: str, amount_signal: bool = True) -> tuple[PropensityModel, object]:
    fit, stop = _crm(4000, 0, amount_signal), _crm(1500, 1, amount_signal)
    propensity = PropensityModel(SETTINGS, seed=0).fit(
        fit[FEATURES], fit["won_any"], stop[FEATURES], stop["won_any"]
    )
    model = HurdleLTV(propensity, SETTINGS) if ltv_kind == "hurdle" else TweedieLTV(SETTINGS)
    ltv = model.fit(fit[FEATURES], fit["won_revenue"], stop[FEATURES], stop["won_revenue"])
    return propensity, ltv


@pytest.fixture(scope="module", params=["hurdle", "tweedie"])
def fitted(request):
    return request.param, *_fitted(request.param)


def _expected_value(propensity, ltv, rows: pd.DataFrame) -> np.ndarray:
    if isinstance(ltv, HurdleLTV):
        return propensity.predict(rows[FEATURES]) * ltv.revenue_if_won(rows[FEATURES])
    return ltv.predict(rows[FEATURES])


def _parts(propensity, ltv, rows: pd.DataFrame) -> tuple[ValueParts, np.ndarray]:
    """The value parts, and the win-probability TreeSHAP on log p_win (base last)."""
    likely = raw_contributions(propensity, rows[propensity.features_])
    _, log_probability = likelihood_scales(propensity, likely)
    size = raw_contributions(ltv, rows[ltv.features_])
    return value_parts(propensity, ltv, size, log_probability, rows.index), log_probability


def test_likelihood_and_size_add_up_to_log_expected_value(fitted):
    _, propensity, ltv = fitted
    rows = _crm(800, 2)
    parts, log_probability = _parts(propensity, ltv, rows)
    log_value = np.log(_expected_value(propensity, ltv, rows))
    summed = parts.base + parts.likelihood.sum(axis=1) + parts.size.sum(axis=1)
    np.testing.assert_allclose(summed, log_value, rtol=0, atol=ADDITIVE)
    # the likelihood part alone adds up to log p_win - log p(base)
    p_win = propensity.predict(rows[FEATURES])
    np.testing.assert_allclose(
        parts.likelihood.sum(axis=1) + log_probability[:, -1], np.log(p_win), atol=ADDITIVE
    )
    # and the effects in money to EV - EV(base)
    np.testing.assert_allclose(
        parts.money().sum(axis=1), np.exp(log_value) - np.exp(parts.base), rtol=1e-9
    )


def test_the_hurdle_size_part_adds_up_to_log_amount():
    propensity, ltv = _fitted("hurdle")
    rows = _crm(500, 3)
    parts, log_probability = _parts(propensity, ltv, rows)
    base_amount = parts.base - log_probability[:, -1]
    np.testing.assert_allclose(
        parts.size.sum(axis=1) + base_amount,
        np.log(ltv.revenue_if_won(rows[FEATURES])),
        atol=ADDITIVE,
    )


def test_planted_drivers_are_tagged_with_their_part(fitted):
    """Open deals drive the win chance and recent revenue the amount: on a customer with
    many open deals and large recent revenue, each is the part the data planted."""
    _, propensity, ltv = fitted
    rows = _crm(300, 4).assign(open_deal_count=5.0, won_revenue_180d=60_000.0)
    parts, log_probability = _parts(propensity, ltv, rows)
    led, money = parts.likelihood_led(), parts.money()
    assert (money["open_deal_count"] > 0).all() and led["open_deal_count"].all()
    assert (money["won_revenue_180d"] > 0).all() and not led["won_revenue_180d"].any()


def test_reasons_say_which_part_drives_the_expected_value(fitted):
    _, propensity, ltv = fitted
    rows = _crm(200, 5).assign(open_deal_count=5.0, won_revenue_180d=60_000.0)
    params = ScoringParams(pd.Timestamp("2025-06-01"), 180, TierPolicy(), {})
    scored = _model_reasons({"propensity": propensity, "ltv": ltv}, rows, params, {})
    reasons, long = scored.reasons, scored.long
    # the value the reasons explain is the model's own, from the TreeSHAP sums
    np.testing.assert_allclose(scored.value, _expected_value(propensity, ltv, rows), rtol=1e-9)
    said = reasons[["reason_1", "reason_2", "reason_3"]].fillna("").agg(" | ".join, axis=1)
    assert said.str.contains(r"likely to buy: open deal count = 5\.0 \(\+[\d,]+\)").all()
    assert said.str.contains(r"large: won revenue 180d = 60000\.0 \(\+[\d,]+\)").all()
    # the long table ranks by the effect on expected value and names the driving part
    drivers = long.set_index(["customer_id", "feature"])["driver"]
    assert (drivers.xs("open_deal_count", level="feature") == LIKELIHOOD).all()
    assert (drivers.xs("won_revenue_180d", level="feature") == SIZE).all()
    assert (
        long.groupby("customer_id")["effect"].apply(lambda e: e.abs().is_monotonic_decreasing).all()
    )


def test_an_amount_model_without_signal_leaves_the_likelihood_to_explain():
    """Every buyer won the same amount: the amount model has nothing to split on, its part is
    zero and every effect is the likelihood's."""
    propensity, ltv = _fitted("hurdle", amount_signal=False)
    rows = _crm(300, 6)
    parts, log_probability = _parts(propensity, ltv, rows)
    assert np.abs(parts.size.to_numpy()).max() == 0
    assert parts.likelihood_led().to_numpy().all()
    np.testing.assert_allclose(
        parts.log_value(), np.log(_expected_value(propensity, ltv, rows)), atol=ADDITIVE
    )
