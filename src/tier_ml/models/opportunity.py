"""Deal-level win probability for open deals, and the customer feature it feeds.

A deal open at T is described only by what was known at T (`features.deal_state`): its amount,
age, product and owner as of T, whether it is past its expected close date, and its
customer's history before T. The stage a closed deal was exported with is
never used: it records the outcome. The label is whether the deal is won in [T, T + H).

`expected_pipeline_value` (the sum of p_win x amount over a customer's open deals) becomes a
feature of the customer models. At each training cutoff it comes from an opportunity model
fitted only on earlier cutoffs whose label windows had closed, so it never sees the future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from tier_ml.features.build import DEFAULT_CONFIG, ROW_WEIGHT, row_weights
from tier_ml.features.deal_state import deals_at
from tier_ml.features.engine import run_query, sql_timestamp, table_view
from tier_ml.features.registry import FeatureConfig
from tier_ml.models.propensity import PropensityModel
from tier_ml.models.sampling import EVERY_ROW, SamplingParams, training_sample
from tier_ml.progress import progress

DEAL_FEATURES = ("amount", "deal_age_days", "product", "owner", "overdue")
CUSTOMER_HISTORY = (
    "won_count_total",
    "lost_count_total",
    "win_rate",
    "days_since_last_won",
    "won_revenue_365d",
    "act_total_90d",
    "days_since_last_activity",
    "tenure_days",
    "open_deal_count",
)
PIPELINE_FEATURE = "expected_pipeline_value"


def open_deals_at(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int,
    config: FeatureConfig = DEFAULT_CONFIG,
    deal_history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Deals open at `as_of`, their features at `as_of`, and whether each was won in the horizon."""
    t = pd.Timestamp(as_of)
    rows = deals_at(deals, t, deal_history, config.deal_fields_known_at_creation, open_only=True)
    outcome = deals.loc[rows.index]
    end = t + pd.Timedelta(days=horizon_days)
    won = outcome["status"].eq("won") & (outcome["closed_at"] < end)
    return open_deal_rows(rows, t).assign(won_in_horizon=won).reset_index(drop=True)


def open_deal_rows(state: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """The features of deals open at `t` from their state then (`deal_state`). Overdue is
    counted as the customer feature `open_deal_overdue_count` counts it."""
    return pd.DataFrame(
        {
            "deal_id": state["deal_id"],
            "customer_id": state["customer_id"],
            "as_of": pd.Series(t, index=state.index).astype("datetime64[us]"),
            "amount": state["amount"],
            "deal_age_days": (t - state["created_at"]).dt.total_seconds() / 86_400,
            "product": state["product"] if "product" in state else None,
            "owner": state["owner"] if "owner" in state else None,
            "overdue": (state["expected_close_at"] < t).astype("float64"),
        }
    )


def with_customer_history(rows: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Open deals joined to their customer's history at their cutoff (and the customer row's
    weight in a thinned table: its deals stand for as many)."""
    history = [c for c in (*CUSTOMER_HISTORY, ROW_WEIGHT) if c in features.columns]
    return rows.merge(
        features[["customer_id", "as_of", *history]], on=["customer_id", "as_of"], how="inner"
    )


def opportunity_rows(
    deals: pd.DataFrame,
    features: pd.DataFrame,
    horizon_days: int,
    config: FeatureConfig = DEFAULT_CONFIG,
    deal_history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Open deals at every cutoff of `features`, with their customer's history then."""
    frames = [
        open_deals_at(deals, t, horizon_days, config, deal_history)
        for t in sorted(features["as_of"].unique())
    ]
    rows = pd.concat(frames or [open_deals_at(deals.head(0), pd.NaT, horizon_days)])
    return with_customer_history(rows, features)


def opportunity_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in (*DEAL_FEATURES, *CUSTOMER_HISTORY) if c in rows.columns]
    return rows[columns]


def fit_opportunity_model(
    rows: pd.DataFrame,
    seed: int = 0,
    lgbm_params: dict | None = None,
    sampling: SamplingParams = EVERY_ROW,
) -> PropensityModel | None:
    """Deal win probability, early-stopped and calibrated on every deal open at the latest
    cutoff of `rows`, fitted on the earlier ones (thinned and weighted as `train.sampling`
    says: at a million customers they are millions of deals). None when there are too few
    deals of either outcome to learn from."""
    latest = rows["as_of"].max()
    fit, valid = rows[rows["as_of"] < latest], rows[rows["as_of"] == latest]
    enough = all(
        part["won_in_horizon"].sum() >= 10 and (~part["won_in_horizon"]).sum() >= 10
        for part in (fit, valid)
    )
    if not enough:
        return None
    fit, weight = training_sample(fit, sampling, seed, "won_in_horizon")
    return PropensityModel(lgbm_params=lgbm_params, seed=seed).fit(
        opportunity_matrix(fit),
        fit["won_in_horizon"],
        opportunity_matrix(valid),
        valid["won_in_horizon"],
        weight,
        row_weights(valid),
    )


def closed_deals_sql(as_of: pd.Timestamp) -> str:
    """Deals closed before `as_of` (`closed`), and how many of them were won (`won`), over a
    `deals` table (a deal without a status, which ingest refuses, counts as neither: the rule
    of the feature query's `status <> 'open'`)."""
    t = sql_timestamp(pd.Timestamp(as_of))
    return f"""
    SELECT count(*) FILTER (WHERE status = 'won') AS won, count(*) AS closed
    FROM deals WHERE status <> 'open' AND closed_at < {t}"""


def win_rate(closed: pd.DataFrame) -> float:
    """The stage-free fallback for an open deal's win probability: the share of deals closed
    before a cutoff that were won (`closed_deals_sql`), Laplace-smoothed (one half with no
    closed deal yet)."""
    won, count = (int(closed[c].iloc[0]) for c in ("won", "closed"))
    return (won + 1) / (count + 2)


def historic_win_rate(deals: pd.DataFrame, as_of: pd.Timestamp) -> float:
    """`win_rate` of the deals closed before `as_of`."""
    deals = table_view("deals", deals, ["status", "closed_at"])
    return win_rate(run_query("duckdb", closed_deals_sql(as_of), deals))


def pipeline_value(
    rows: pd.DataFrame, model: PropensityModel | None, fallback_rate: float
) -> pd.DataFrame:
    """Sum of p_win x amount over each customer's open deals: p_win from the opportunity model
    where one could be fitted, else the historic win rate. The same rule in training and
    scoring, so the feature is present wherever a customer has open deals."""
    if model is None or rows.empty:
        p_win = np.full(len(rows), fallback_rate)
    else:
        p_win = model.predict(opportunity_matrix(rows))
    out = rows[["customer_id", "as_of"]].assign(**{PIPELINE_FEATURE: p_win * rows["amount"]})
    return out.groupby(["customer_id", "as_of"], as_index=False)[PIPELINE_FEATURE].sum(min_count=1)


def model_for(
    rows: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int,
    seed: int,
    sampling: SamplingParams = EVERY_ROW,
) -> PropensityModel | None:
    """The opportunity model as it could have been fitted at `as_of`: only cutoffs whose
    label windows closed by then."""
    seen = rows[rows["as_of"] + pd.Timedelta(days=horizon_days) <= as_of]
    if seen["as_of"].nunique() < 2:
        return None
    return fit_opportunity_model(seen, seed, sampling=sampling)


def held_out_auc(
    rows: pd.DataFrame, horizon_days: int, seed: int, sampling: SamplingParams = EVERY_ROW
) -> dict | None:
    """How well open deals are scored: AUC on the deals open at the latest cutoff, by a
    model fitted only on label windows closed by then (None where none can be fitted)."""
    if rows.empty:
        return None
    latest = rows["as_of"].max()
    model = model_for(rows, latest, horizon_days, seed, sampling)
    held = rows[rows["as_of"] == latest]
    if model is None or held["won_in_horizon"].nunique() < 2:
        return None
    p_win = model.predict(opportunity_matrix(held))
    return {
        "as_of": pd.Timestamp(latest).date().isoformat(),
        "deals": len(held),
        "auc": float(roc_auc_score(held["won_in_horizon"], p_win)),
    }


def models_in_time(
    rows: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
    seed: int = 0,
    sampling: SamplingParams = EVERY_ROW,
) -> dict[pd.Timestamp, PropensityModel | None]:
    """The opportunity model serving each cutoff. It is refitted once half a horizon has
    passed since its last fit (or while none could be fitted yet), not at every cutoff: each
    model sees only label windows closed by its own fit date, which is never after a cutoff
    it serves, so the feature stays point-in-time at a fraction of the fits."""
    served: dict[pd.Timestamp, PropensityModel | None] = {}
    fitted_at, model = None, None
    for t in sorted(cutoffs):
        stale = fitted_at is None or t - fitted_at >= pd.Timedelta(days=horizon_days / 2)
        if model is None or stale:
            model, fitted_at = model_for(rows, t, horizon_days, seed, sampling), t
        served[t] = model
    return served


def add_pipeline_value(
    features: pd.DataFrame,
    rows: pd.DataFrame,
    deals: pd.DataFrame,
    horizon_days: int,
    seed: int = 0,
    sampling: SamplingParams = EVERY_ROW,
) -> pd.DataFrame:
    """`expected_pipeline_value` at each cutoff, each from what was known then: a model
    fitted on closed label windows only, or the historic win rate."""
    cutoffs = sorted(features["as_of"].unique())
    models = models_in_time(rows, cutoffs, horizon_days, seed, sampling)
    values = [
        pipeline_value(rows[rows["as_of"] == t], models[t], historic_win_rate(deals, t))
        for t in progress(cutoffs, "model input", "cutoff")
    ]
    return join_pipeline_value(features, pd.concat(values, ignore_index=True))


def join_pipeline_value(features: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """The feature on every customer row: 0 without open deals."""
    merged = features.merge(values, on=["customer_id", "as_of"], how="left", validate="one_to_one")
    has_open = merged["open_deal_count"].gt(0)
    merged[PIPELINE_FEATURE] = merged[PIPELINE_FEATURE].where(has_open, 0.0)
    return merged
