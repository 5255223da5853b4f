"""Customers with too little history to model, and the pooled estimate they get instead.

A customer is a cold start when the models have too little of its own history to go on: the
account is younger than the horizon (created less than `horizon_days` before `as_of`), or it
has no deal on record at all (none won, lost or open). Its win probability and expected value
are then pooled from similar accounts: customers of the same kind of cold start, industry and
region at the champion's training cutoffs, by what they went on to win in the horizon. Small
groups are shrunk towards their kind (`PRIOR_ROWS` rows of it), so a group seen a few times
does not set a tier on its own; a group never seen takes its kind's estimate.

The pool is computed at training from labelled cutoffs only and stored with the champion, so
a scoring run uses what was known when the champion was trained. A customer who never won but
has history (a lost or open deal, an account older than the horizon) is modelled: it is only
counted, honestly, as "no purchases yet".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss

from tier_ml.features.build import row_weights
from tier_ml.language import Language, Text

NEW_ACCOUNT, NO_DEAL = "new_account", "no_deal_yet"
DEAL_COUNTS = ("won_count_total", "lost_count_total", "open_deal_count")
TENURE = "tenure_days"
COLD_START_FEATURES = (*DEAL_COUNTS, TENURE)  # what the flag reads, checked by tier_ml.params
SUMS = ("rows", "won", "revenue")  # the pool's sufficient statistics per group
PRIOR_ROWS = 50  # a group's estimate counts its kind's as this many rows of its own
UNKNOWN = "(unknown)"  # a group key for a missing attribute, so missing values pool too
REASONS = {
    NEW_ACCOUNT: Text(
        "too little history (new account): estimate from similar accounts",
        "历史过少（新客户）：按相似客户估计",
    ),
    NO_DEAL: Text(
        "too little history (no deal yet): estimate from similar accounts",
        "历史过少（尚无商机）：按相似客户估计",
    ),
}


def cold_start_kind(features: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Per customer, why it has too little history to model (`NEW_ACCOUNT` before
    `NO_DEAL`), or missing where it has enough. An unknown tenure is not young."""
    young = features[TENURE].lt(horizon_days).to_numpy()
    no_deal = features[list(DEAL_COUNTS)].fillna(0).eq(0).all(axis=1).to_numpy()
    kind = np.where(young, NEW_ACCOUNT, np.where(no_deal, NO_DEAL, None))
    return pd.Series(kind, index=features.index, dtype="str")


def no_purchases_yet(features: pd.DataFrame, kind: pd.Series) -> np.ndarray:
    """Customers with history but no won deal: modelled, and counted apart from cold starts."""
    return (features["won_count_total"].fillna(0).eq(0) & kind.isna()).to_numpy()


def _keys(frame: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """The group columns as text, a missing value as `UNKNOWN`."""
    return pd.DataFrame(
        {g: frame[g].astype("str").fillna(UNKNOWN) for g in groups}, index=frame.index
    )


def pooled_outcomes(rows: pd.DataFrame, horizon_days: int, groups: Sequence[str]) -> pd.DataFrame:
    """The pool from labelled training rows: per kind of cold start and group, how many
    customer-cutoffs (`rows`), how many won in the horizon (`won`) and what they won
    (`revenue`)."""
    kind = cold_start_kind(rows, horizon_days)
    cold = kind.notna()
    # a thinned table's row stands for `row_weight` customers
    weight = row_weights(rows)[cold.to_numpy()]
    table = _keys(rows[cold], groups).assign(
        kind=kind[cold],
        rows=weight,
        won=weight * rows.loc[cold, "won_any"].astype(float),
        revenue=weight * rows.loc[cold, "won_revenue"].astype(float),
    )
    keys = ["kind", *groups]
    return table.groupby(keys, as_index=False)[list(SUMS)].sum()[[*keys, *SUMS]]


def _shrunk(sums: pd.DataFrame, prior: pd.DataFrame) -> pd.DataFrame:
    """Win rate and revenue per row from its sums, shrunk towards `prior`'s (aligned rows)."""
    weight = sums["rows"].to_numpy() + PRIOR_ROWS
    return pd.DataFrame(
        {
            "p_win": (sums["won"].to_numpy() + PRIOR_ROWS * prior["p_win"].to_numpy()) / weight,
            "expected_value": (
                sums["revenue"].to_numpy() + PRIOR_ROWS * prior["expected_value"].to_numpy()
            )
            / weight,
        },
        index=sums.index,
    )


def _rates(sums: pd.DataFrame) -> pd.DataFrame:
    """Win rate and revenue per row of sums, unshrunk: the priors."""
    return pd.DataFrame(
        {"p_win": sums["won"] / sums["rows"], "expected_value": sums["revenue"] / sums["rows"]}
    )


def pool_groups(pool: pd.DataFrame) -> list[str]:
    """The attributes a pool groups customers by (industry, region...)."""
    return [c for c in pool.columns if c not in ("kind", *SUMS)]


def pooled_estimate(
    features: pd.DataFrame, kind: pd.Series, pool: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each cold-start customer's win probability and expected value from `pool` (missing
    for the others): its group's, shrunk towards its kind's; its kind's where the group was
    never seen; every cold start's where the kind was not."""
    groups = pool_groups(pool)
    everyone = _rates(pool[list(SUMS)].sum().to_frame().T).iloc[0]
    by_kind = _rates(pool.groupby("kind")[list(SUMS)].sum())
    cold = kind.notna()
    wanted = _keys(features[cold], groups).assign(kind=kind[cold])
    found = wanted.merge(pool, on=["kind", *groups], how="left").fillna({s: 0.0 for s in SUMS})
    prior = by_kind.reindex(found["kind"]).fillna(everyone).set_index(found.index)
    estimate = _shrunk(found, prior)
    p_win = np.full(len(features), np.nan)
    value = np.full(len(features), np.nan)
    p_win[cold.to_numpy()] = estimate["p_win"].to_numpy()
    value[cold.to_numpy()] = estimate["expected_value"].to_numpy()
    return p_win, value


def with_pooled_estimate(
    features: pd.DataFrame,
    kind: pd.Series,
    pool: pd.DataFrame,
    p_win: np.ndarray,
    value: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """P(win) and expected value with each cold-start customer's pooled estimate in place of
    the model's: the same in nightly scoring and in the portable model."""
    cold = kind.notna().to_numpy()
    pooled_p, pooled_value = pooled_estimate(features, kind, pool)
    return np.where(cold, pooled_p, p_win), np.where(cold, pooled_value, value)


def cold_start_reasons(
    reasons: pd.DataFrame, kind: pd.Series, language: Language = "en"
) -> pd.DataFrame:
    """The model's reasons do not explain a pooled estimate: a cold-start customer's first
    reason says where its estimate comes from (in `language`), and it has no other reason or
    risk."""
    cold = kind.notna().to_numpy()
    out = reasons.astype("object").copy()
    out.loc[cold] = None
    said = {k: text.said(language) for k, text in REASONS.items()}
    out.loc[cold, "reason_1"] = kind[cold].map(said).to_numpy()
    return out


def _cold_starts_at(
    model_input: pd.DataFrame,
    at_origin: pd.DataFrame,
    origin: pd.Timestamp,
    horizon_days: int,
    groups: Sequence[str],
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The model input's rows at `origin` in the order of its replayed predictions
    (`at_origin`), their kind of cold start, and the pool built only from rows labelled
    before the origin. A predicted customer without a row there is refused: its missing
    counts would read as "no deal yet" and take the pool's estimate."""
    history = model_input[model_input["as_of"] + pd.Timedelta(days=horizon_days) <= origin]
    current = model_input[model_input["as_of"] == origin]
    rows = at_origin[["customer_id"]].merge(
        current, on="customer_id", how="left", validate="one_to_one", indicator=True
    )
    missing = rows.loc[rows["_merge"] == "left_only", "customer_id"]
    if len(missing):
        raise ValueError(
            f"{len(missing)} customers replayed at {pd.Timestamp(origin).date()} have no row of "
            f"the model input there (e.g. {missing.head(3).tolist()}): the predictions and the "
            "model input come from different trainings"
        )
    rows = rows.drop(columns="_merge")
    return rows, cold_start_kind(rows, horizon_days), pooled_outcomes(history, horizon_days, groups)


def pool_against_champion(
    model_input: pd.DataFrame,
    predictions: pd.DataFrame,
    champion: str,
    horizon_days: int,
    groups: Sequence[str],
) -> dict[str, float | int]:
    """The pool must earn its place: at each evaluation origin, a pool built only from rows
    labelled before it predicts the cold-start customers there, and its Brier score is set
    beside the champion's replayed win probability on the same customers."""
    pooled, champions, outcomes = [], [], []
    for origin, at_origin in predictions.groupby("origin"):
        rows, kind, pool = _cold_starts_at(model_input, at_origin, origin, horizon_days, groups)
        if pool.empty or not kind.notna().any():
            continue
        cold = kind.notna().to_numpy()
        pooled.append(pooled_estimate(rows, kind, pool)[0][cold])
        champions.append(at_origin[f"p_{champion}"].to_numpy()[cold])
        outcomes.append(rows["won_any"].to_numpy()[cold])
    if not outcomes:
        return {"customers": 0}
    won = np.concatenate(outcomes)
    return {
        "customers": int(len(won)),
        "brier_pool": float(brier_score_loss(won, np.concatenate(pooled))),
        "brier_champion": float(brier_score_loss(won, np.concatenate(champions))),
    }


def champion_as_scored(
    predictions: pd.DataFrame,
    model_input: pd.DataFrame,
    champion: str,
    horizon_days: int,
    groups: Sequence[str],
) -> pd.DataFrame:
    """The replayed predictions with the champion's as scoring gives them when its pool is
    used: at each origin, its cold-start customers take the estimate of a pool built only
    from rows labelled before the origin (the pool `pool_against_champion` judged), so the
    backtest tiers what is deployed. The other candidates keep their own."""
    out = predictions.copy()
    columns = [f"p_{champion}", f"value_{champion}"]
    for origin, at_origin in predictions.groupby("origin"):
        rows, kind, pool = _cold_starts_at(model_input, at_origin, origin, horizon_days, groups)
        if pool.empty:
            continue
        p_win, value = (at_origin[c].to_numpy(float) for c in columns)
        out.loc[at_origin.index, columns[0]], out.loc[at_origin.index, columns[1]] = (
            with_pooled_estimate(rows, kind, pool, p_win, value)
        )
    return out


def pool_earns_its_place(comparison: dict[str, float | int]) -> bool:
    """Used only where it was measured and predicted the cold starts better than the model."""
    return bool(comparison["customers"]) and comparison["brier_pool"] < comparison["brier_champion"]
