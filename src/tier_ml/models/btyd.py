"""BG/NBD and Gamma-Gamma ("buy till you die") by maximum likelihood, for transaction data.

Fader, Hardie & Lee (2005), "Counting your customers the easy way"; Fader, Hardie & Lee
(2005), "RFM and CLV" for Gamma-Gamma. Time is in weeks. A customer is summarised by its
repeat transactions x (distinct purchase days after the first), the time of the last
repeat t_x, and its age T, all measured from its first purchase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

WEEK = pd.Timedelta(days=7)


def rfm_summary(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """x, t_x, T (weeks) and the mean value of repeat purchases, from won deals before as_of."""
    won = deals[(deals["status"] == "won") & (deals["closed_at"] < as_of)]
    days = (
        won.assign(day=won["closed_at"].dt.normalize())
        .groupby(["customer_id", "day"], as_index=False)["amount"]
        .sum()
    )
    first = days.groupby("customer_id")["day"].transform("min")
    repeat = days[days["day"] > first]
    summary = days.groupby("customer_id").agg(
        first=("day", "min"), last=("day", "max"), purchase_days=("day", "size")
    )
    summary["x"] = (summary["purchase_days"] - 1).astype(float)
    summary["t_x"] = (summary["last"] - summary["first"]) / WEEK
    summary["T"] = (pd.Timestamp(as_of) - summary["first"]) / WEEK
    summary["monetary"] = repeat.groupby("customer_id")["amount"].mean()
    return summary[["x", "t_x", "T", "monetary"]]


def _bgnbd_loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    r, alpha, a, b = np.exp(params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters and the total log-likelihood."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    @classmethod
    def fit(cls, summary: pd.DataFrame) -> BGNBD:
        x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
        result = minimize(
            lambda p: -_bgnbd_loglik(p, x, t_x, T),
            np.log([0.5, 5.0, 1.0, 2.0]),
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-7},
        )
        r, alpha, a, b = np.exp(result.x)
        return cls(r, alpha, a, b, -float(result.fun))

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
        ratio = np.where(
            x > 0,
            self.a
            / np.maximum(self.b + x - 1, 1e-12)
            * ((self.alpha + T) / (self.alpha + t_x)) ** (self.r + x),
            0.0,
        )
        return 1 / (1 + ratio)

    def expected_purchases(self, summary: pd.DataFrame, weeks: float) -> np.ndarray:
        """Expected transactions in the next `weeks`, given each customer's history."""
        x, t_x, T = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = weeks / (alpha + T + weeks)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + weeks)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * tail * self.p_alive(summary)


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma spend parameters (p, q, gamma)."""

    p: float
    q: float
    gamma: float

    @classmethod
    def fit(cls, summary: pd.DataFrame) -> GammaGamma:
        buyers = summary[(summary["x"] > 0) & (summary["monetary"] > 0)]
        x, m = buyers["x"].to_numpy(float), buyers["monetary"].to_numpy(float)

        def negative_loglik(params: np.ndarray) -> float:
            p, q, g = np.exp(params)
            ll = (
                gammaln(p * x + q)
                - gammaln(p * x)
                - gammaln(q)
                + q * np.log(g)
                + (p * x - 1) * np.log(m)
                + p * x * np.log(x)
                - (p * x + q) * np.log(g + x * m)
            )
            return -float(np.sum(ll))

        result = minimize(
            negative_loglik,
            np.log([1.0, 2.0, 10.0]),
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-7},
        )
        return cls(*np.exp(result.x))

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected value of a future purchase; the population mean for one-time buyers."""
        x = summary["x"].to_numpy(float)
        m = summary["monetary"].fillna(0).to_numpy(float)
        p, q, g = self.p, self.q, self.gamma
        population = p * g / (q - 1)
        weight = p * x / (p * x + q - 1)
        return np.where(x > 0, (1 - weight) * population + weight * m, population)


def btyd_predictions(
    deals: pd.DataFrame,
    customers: pd.Index,
    as_of: pd.Timestamp,
    horizon_days: int,
    bgnbd: BGNBD | None = None,
    spend: GammaGamma | None = None,
) -> pd.DataFrame:
    """Expected purchases, P(alive), P(buy) and expected revenue in the horizon for every
    customer in `customers`; customers who never bought get zeros. Fits the models on the
    history before `as_of` unless fitted ones are given."""
    summary = rfm_summary(deals, as_of)
    bgnbd = bgnbd or BGNBD.fit(summary)
    spend = spend or GammaGamma.fit(summary)
    purchases = bgnbd.expected_purchases(summary, horizon_days / 7)
    out = pd.DataFrame(
        {
            "bgnbd_expected_purchases": purchases,
            "bgnbd_p_alive": bgnbd.p_alive(summary),
            # a Poisson reading of the expected count, for a probability-scale comparison
            "bgnbd_p_buy": 1 - np.exp(-purchases),
            "bgnbd_expected_revenue": purchases * spend.expected_spend(summary),
        },
        index=summary.index,
    )
    return out.reindex(customers).fillna(0.0)


def add_btyd_features(
    features: pd.DataFrame, deals: pd.DataFrame, horizon_days: int
) -> pd.DataFrame:
    """BG/NBD and Gamma-Gamma outputs as features, each cutoff's from models fitted on the
    history before that cutoff only."""
    frames = []
    for t, rows in features.groupby("as_of", sort=True):
        predictions = btyd_predictions(deals, pd.Index(rows["customer_id"]), t, horizon_days)
        frames.append(predictions.reset_index(drop=True).set_index(rows.index))
    return features.join(pd.concat(frames))
