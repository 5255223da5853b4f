"""A seeded synthetic B2B CRM: the embedded default, and the load generator of the benchmarks.

A hidden per-customer `quality` drives how often a customer buys, how often it wins and how
engaged it is, so that a good model can learn it from behaviour, while no single column gives
it away. Deals arrive as a seasonal Poisson process between a customer's arrival and churn;
engagement (meetings, calls, visits) rises in the weeks before and during a deal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Financial Services",
    "Education",
    "Logistics",
)
INDUSTRY_RATE = np.array([1.3, 1.0, 0.8, 1.1, 1.2, 0.6, 0.9])
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
PRODUCTS = ("Core", "Analytics", "Support", "Enterprise")
PRODUCT_PRICE = np.array([1.0, 1.6, 0.5, 3.0])
DEAL_ACTIVITY_TYPES = ("meeting", "call", "email", "event")
DEAL_ACTIVITY_MIX = np.array([0.25, 0.30, 0.35, 0.10])
BACKGROUND_TYPES = ("web_visit", "email", "download", "event")
BACKGROUND_MIX = np.array([0.45, 0.25, 0.20, 0.10])
ACTIVITY_TYPES = tuple(sorted(set(DEAL_ACTIVITY_TYPES + BACKGROUND_TYPES)))


@dataclass(frozen=True)
class SyntheticSpec:
    """Size and shape of the synthetic CRM. The defaults give about 6 deals and 14 activities
    per customer: some 20 M rows at 1 M customers."""

    n_customers: int = 5_000
    end_date: str = "2025-12-31"
    years: float = 3.0
    deals_per_customer_year: float = 6.0
    activities_per_deal: float = 1.0
    background_activities_per_year: float = 3.0
    messy_share: float = 0.03
    n_owners: int = 40
    seed: int = 7


def _type_codes(types: tuple[str, ...]) -> np.ndarray:
    return np.array([ACTIVITY_TYPES.index(t) for t in types])


def _ids(prefix: str, n: int) -> pd.Series:
    numbers = pc.cast(pa.array(np.arange(1, n + 1)), pa.string())
    padded = pc.utf8_lpad(numbers, width=max(6, len(str(n))), padding="0")
    return pd.Series(pd.array(pc.binary_join_element_wise(prefix, padded, ""), dtype="str"))


def _pick(rng: np.random.Generator, labels: tuple[str, ...], n: int, p=None) -> np.ndarray:
    return rng.choice(len(labels), size=n, p=p)


def _seasonal_keep(rng: np.random.Generator, day: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    """Thinning by a yearly cycle that peaks in December (budgets spent before year end)."""
    day_of_year = (start.day_of_year + day) % 365.25
    weight = 1 + 0.35 * np.cos(2 * np.pi * (day_of_year - 350) / 365.25)
    return rng.random(day.size) < weight / 1.35


def _stamp(start: pd.Timestamp, day: np.ndarray) -> np.ndarray:
    base = np.datetime64(start.to_datetime64(), "us")
    return base + np.round(day * 86_400_000_000).astype("int64").astype("timedelta64[us]")


def _customers(rng: np.random.Generator, spec: SyntheticSpec, span: float) -> dict:
    n = spec.n_customers
    quality = rng.normal(size=n)
    employees = np.clip(np.round(np.exp(rng.normal(4.0, 1.5, n))), 1, 200_000)
    industry = _pick(rng, INDUSTRIES, n)
    existing = rng.random(n) < 0.55
    arrival = np.where(existing, -rng.uniform(30, 5 * 365, n), rng.uniform(0, span, n))
    lifetime = rng.exponential(3 * 365 * np.exp(0.6 * quality))
    return {
        "quality": quality,
        "employees": employees,
        "industry": industry,
        "region": _pick(rng, REGIONS, n, p=[0.45, 0.30, 0.15, 0.10]),
        "owner": rng.integers(0, spec.n_owners, n),
        "arrival": arrival,
        "active_from": np.maximum(arrival, 0.0),
        "active_to": np.minimum(arrival + lifetime, span),
        "revenue_per_employee": np.exp(rng.normal(11.8, 0.5, n)),
    }


def _customer_table(rng, c: dict, spec: SyntheticSpec, start: pd.Timestamp) -> pd.DataFrame:
    n = spec.n_customers
    industry = np.array(INDUSTRIES, dtype=object)[c["industry"]]
    messy = rng.random(n) < spec.messy_share
    industry[messy] = [f" {v.lower()} " for v in industry[messy]]
    industry[rng.random(n) < spec.messy_share] = None
    employees = c["employees"].copy()
    employees[rng.random(n) < spec.messy_share] = np.nan
    revenue = np.round(c["employees"] * c["revenue_per_employee"], -3)
    revenue[rng.random(n) < 2 * spec.messy_share] = np.nan
    owners = np.array([f"rep_{i:03d}" for i in range(spec.n_owners)], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": _ids("C", n),
            "created_at": _stamp(start, np.floor(c["arrival"])),
            "industry": pd.array(industry, dtype="str"),
            "region": pd.array(np.array(REGIONS, dtype=object)[c["region"]], dtype="str"),
            "employees": employees,
            "annual_revenue": revenue,
            "owner": pd.array(owners[c["owner"]], dtype="str"),
        }
    )


def _deal_events(rng, c: dict, spec: SyntheticSpec, start: pd.Timestamp) -> dict:
    rate = (
        spec.deals_per_customer_year
        / 365.0
        * np.exp(0.7 * c["quality"] - 0.245)
        * (0.7 + 0.1 * np.log10(c["employees"]))
        * INDUSTRY_RATE[c["industry"]]
    )
    active = np.clip(c["active_to"] - c["active_from"], 0, None)
    counts = rng.poisson(rate * active * 1.35)
    owner_of = np.repeat(np.arange(spec.n_customers), counts)
    day = c["active_from"][owner_of] + rng.random(owner_of.size) * active[owner_of]
    keep = _seasonal_keep(rng, day, start)
    who, day = owner_of[keep], day[keep]
    q = c["quality"][who]
    product = rng.choice(len(PRODUCTS), size=who.size, p=[0.45, 0.25, 0.2, 0.1])
    amount = np.round(
        np.exp(rng.normal(6.8 + 0.35 * np.log(c["employees"][who]) + 0.2 * q, 0.7))
        * PRODUCT_PRICE[product],
        2,
    )
    cycle = np.exp(rng.normal(np.log(40), 0.7, who.size))
    owner_skill = rng.normal(0, 0.3, spec.n_owners)[c["owner"][who]]
    p_win = 1 / (1 + np.exp(-(-0.5 + 1.1 * q + owner_skill - 0.15 * (product == 3))))
    won = rng.random(who.size) < p_win
    return {
        "who": who,
        "day": day,
        "cycle": cycle,
        "won": won,
        "amount": amount,
        "product": product,
    }


def _deal_table(
    d: dict, customer_ids: pd.Series, owners: pd.Series, span: float, start: pd.Timestamp
) -> pd.DataFrame:
    close_day = d["day"] + d["cycle"]
    closed = close_day <= span
    status = np.where(~closed, "open", np.where(d["won"], "won", "lost"))
    closed_at = _stamp(start, close_day)
    closed_at[~closed] = np.datetime64("NaT")
    return pd.DataFrame(
        {
            "deal_id": _ids("D", d["who"].size),
            "customer_id": customer_ids.take(d["who"]).to_numpy(),
            "created_at": _stamp(start, d["day"]),
            "closed_at": closed_at,
            "status": pd.array(status, dtype="str"),
            "amount": d["amount"],
            "product": pd.array(np.array(PRODUCTS, dtype=object)[d["product"]], dtype="str"),
            "owner": owners.take(d["who"]).to_numpy(),
        }
    )


def _activity_table(
    rng,
    c: dict,
    d: dict,
    spec: SyntheticSpec,
    span: float,
    start: pd.Timestamp,
    customer_ids: pd.Series,
) -> pd.DataFrame:
    per_deal = rng.poisson(spec.activities_per_deal * np.where(d["won"], 2.5, 0.5))
    deal_of = np.repeat(np.arange(d["who"].size), per_deal)
    # A buyer's engagement peaks in the weeks before it signs; a lost deal's is spread thin
    # from a month before it was opened until it closed.
    close_day = d["day"][deal_of] + d["cycle"][deal_of]
    lead_in = 30.0
    spread = (
        d["day"][deal_of] - lead_in + rng.random(deal_of.size) * (d["cycle"][deal_of] + lead_in)
    )
    peak = close_day - np.minimum(rng.exponential(20.0, deal_of.size), d["cycle"][deal_of])
    deal_day = np.where(d["won"][deal_of], peak, spread)
    deal_type = rng.choice(len(DEAL_ACTIVITY_TYPES), size=deal_of.size, p=DEAL_ACTIVITY_MIX)

    # Marketing touches (visits, newsletters) go on for a while after a customer stops buying,
    # so silence is a signal, not a giveaway.
    lingering = rng.exponential(365.0, spec.n_customers)
    active = np.clip(np.minimum(c["active_to"] + lingering, span) - c["active_from"], 0, None)
    rate = spec.background_activities_per_year / 365 * np.exp(0.5 * c["quality"])
    counts = rng.poisson(rate * active)
    bg_of = np.repeat(np.arange(spec.n_customers), counts)
    bg_day = c["active_from"][bg_of] + rng.random(bg_of.size) * active[bg_of]
    bg_type = rng.choice(len(BACKGROUND_TYPES), size=bg_of.size, p=BACKGROUND_MIX)

    who = np.concatenate([d["who"][deal_of], bg_of])
    day = np.concatenate([deal_day, bg_day])
    kind = np.concatenate(
        [_type_codes(DEAL_ACTIVITY_TYPES)[deal_type], _type_codes(BACKGROUND_TYPES)[bg_type]]
    )
    inside = np.flatnonzero((day >= 0) & (day <= span))
    inside = inside[np.argsort(day[inside], kind="stable")]
    return pd.DataFrame(
        {
            "customer_id": customer_ids.take(who[inside]).to_numpy(),
            "occurred_at": _stamp(start, day[inside]),
            "type": pd.Categorical.from_codes(kind[inside], categories=ACTIVITY_TYPES).astype(
                "str"
            ),
        }
    )


def generate_crm(spec: SyntheticSpec) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Customers, deals and activities in contract shape, reproducible from `spec.seed`."""
    rng = np.random.default_rng(spec.seed)
    end = pd.Timestamp(spec.end_date)
    span = spec.years * 365.0
    start = end - pd.Timedelta(days=span)
    c = _customers(rng, spec, span)
    customers = _customer_table(rng, c, spec, start)
    deals_drawn = _deal_events(rng, c, spec, start)
    deals = _deal_table(deals_drawn, customers["customer_id"], customers["owner"], span, start)
    activities = _activity_table(rng, c, deals_drawn, spec, span, start, customers["customer_id"])
    return customers, deals, activities


def hidden_quality(spec: SyntheticSpec) -> pd.Series:
    """The latent quality behind the synthetic outcomes, keyed by customer, for model tests."""
    rng = np.random.default_rng(spec.seed)
    quality = _customers(rng, spec, spec.years * 365.0)["quality"]
    return pd.Series(quality, index=_ids("C", spec.n_customers), name="quality")
