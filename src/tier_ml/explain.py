"""Reasons in plain words: exact TreeSHAP contributions on the scale the tiers are cut on.

LightGBM's `pred_contrib` gives exact TreeSHAP values on a model's raw scale: for each
customer, the base value plus the contributions equals the raw score. A quantity that is a
function `link` of the raw score (the calibrated probability, its log, the log of an amount)
gets each contribution rescaled by the same per-row factor,

    c_link_i = c_raw_i * (link(raw(x)) - link(raw(base))) / (raw(x) - raw(base)),

which keeps the signs and the ranking and makes the contributions add up exactly to
link(raw(x)) - link(raw(base)). (When raw(x) is within 1e-9 of the base, the factor is the
link's slope there.) Columns that derive from one source feature are summed back to it.

Tiers rank the expected value EV = p_win x amount, so a model champion's reasons explain EV on
the log scale, where the two models add up: log EV = log p_win + log amount. Each feature's
effect is its likelihood part (its share of log p_win - log p(base), from the win-probability
model) plus its size part (its share of log amount - log amount(base), from the amount model),
said in money (the same rescaling from log EV to EV, so the effects add up to EV - EV(base))
and led by the part that drives it: "likely to buy: 4 open deals (+8,400)", "large: 184,682
won in the last 180 days (+3,100)". A baseline champion's reasons stay in win-probability
points: its own parts explain it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from tier_ml.features.registry import FeatureSpec
from tier_ml.language import Language, Text
from tier_ml.report.numbers import money_change

LIKELIHOOD, SIZE = "likelihood", "size"  # the part of the expected value that drives an effect
DRIVER_WORDS = {  # (led by the likelihood part, raises the value): how its reason begins
    (True, True): Text("likely to buy: ", "可能成交："),
    (False, True): Text("large: ", "金额大："),
    (True, False): Text("less likely to buy: ", "成交可能较低："),
    (False, False): Text("smaller: ", "金额较小："),
}


def link_factor(
    raw: np.ndarray, base_raw: np.ndarray, link: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the factor that takes raw-scale contributions onto `link` of the raw score
    (the link's slope where the raw score is at its base), and link(base)."""
    value, value_base = link(raw), link(base_raw)
    delta = raw - base_raw
    eps = 1e-4
    slope = (link(base_raw + eps) - link(base_raw - eps)) / (2 * eps)
    factor = np.where(
        np.abs(delta) > 1e-9, (value - value_base) / np.where(delta == 0, 1, delta), slope
    )
    return factor, value_base


def link_scale(
    contributions: np.ndarray,
    link: Callable[[np.ndarray], np.ndarray],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Raw-scale contributions (features, then base) rescaled onto `link` of the raw score,
    with link(base) last: they add up exactly to link(raw) - link(base). `out` may be the
    input itself: a million customers' contributions are rescaled in place, not copied."""
    factor, value_base = link_factor(contributions.sum(axis=1), contributions[:, -1], link)
    out = np.empty_like(contributions, dtype=float) if out is None else out
    np.multiply(contributions[:, :-1], factor[:, None], out=out[:, :-1])
    out[:, -1] = value_base
    return out


@dataclass(frozen=True)
class ValueParts:
    """Log expected value split per feature into a likelihood and a size part, both with the
    same columns: base + likelihood.sum(axis=1) + size.sum(axis=1) = log EV."""

    likelihood: pd.DataFrame
    size: pd.DataFrame
    base: np.ndarray

    @cached_property
    def total(self) -> pd.DataFrame:
        """Each feature's effect on log EV."""
        return self.likelihood + self.size

    def log_value(self) -> np.ndarray:
        return self.base + self.total.to_numpy().sum(axis=1)

    def money(self) -> pd.DataFrame:
        """Each feature's effect on EV in money: its log effect rescaled from log EV to EV,
        so that the effects add up to EV - EV(base)."""
        factor, _ = link_factor(self.log_value(), self.base, np.exp)
        return self.total.mul(factor, axis=0)

    def likelihood_led(self) -> pd.DataFrame:
        """Where the likelihood part pushes a feature's effect at least as far its way as the
        size part does: the reason then says "likely to buy", else "large"."""
        ahead = (self.likelihood - self.size).to_numpy()
        led = np.where(self.total.to_numpy() >= 0, ahead >= 0, ahead <= 0)
        return pd.DataFrame(led, index=self.total.index, columns=self.total.columns)


def group_columns(contributions: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Sum the columns that share a source feature (`groups` maps column -> source)."""
    if not any(c in groups for c in contributions.columns):
        return contributions  # native categoricals: one column per feature already
    sources = [groups.get(c, c) for c in contributions.columns]
    return contributions.T.groupby(sources, sort=False).sum().T


def fold_absent(
    contributions: np.ndarray,
    columns: Sequence[str],
    values: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
) -> np.ndarray:
    """Where a customer's count is zero (no open deal, no won deal), the features it leaves
    nothing more to say (`FeatureSpec.absent_with`: the open deals' amount and age, the won
    revenue and recency) give their contributions (`columns`, then the base) to the count:
    the reasons say "no open deal" once, with the whole effect, not once per feature it
    empties. Rows still add up. In place: a million customers' contributions are not
    copied."""
    position = {c: j for j, c in enumerate(columns)}
    empty: dict[str, np.ndarray] = {}
    for name, j in position.items():
        into = getattr(registry.get(name), "absent_with", None)
        if into not in position or into not in values.columns:
            continue
        if into not in empty:
            empty[into] = values[into].eq(0).to_numpy()
        none = empty[into]
        contributions[none, position[into]] += contributions[none, j]
        contributions[none, j] = 0.0
    return contributions


def one_hot_groups(columns: list[str], separator: str = "=") -> dict[str, str]:
    """`industry=Retail` belongs to `industry`."""
    return {c: c.split(separator, 1)[0] for c in columns if separator in c}


def _value_sentences(spec: FeatureSpec | None, feature: str, column: pd.Series) -> np.ndarray:
    """Each row's value said in words, rendered once per distinct value (a million customers
    share few values of one feature)."""
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    words = [spec.sentence(v) if spec else f"{feature.replace('_', ' ')} = {v}" for v in distinct]
    return np.asarray(words, dtype=object)[codes]


def tenths_of_points(contributions: np.ndarray) -> np.ndarray:
    """Probability-scale effects in the tenths of a percentage point that a reason shows."""
    return np.round(contributions * 1000).astype(np.int64)


def money_shown(effects: np.ndarray) -> np.ndarray:
    """Money effects as a reason shows them: two significant figures in whole units (8,437
    shows 8,400: the precision a reader can act on; 0.4 shows 0, so it is no reason)."""
    size = np.abs(effects)
    digits = np.floor(np.log10(np.where(size > 0, size, 1.0)))
    step = 10.0 ** np.maximum(digits - 1, 0)
    return (np.round(effects / step) * step).astype(np.int64)


@dataclass(frozen=True)
class EffectUnit:
    """How a reason shows its effect: `shown` rounds effects to the whole numbers a reader
    sees (0: too small to see, so no reason), `words` write one of them in a language, from
    its number as `scale` gives it (tenths of points are said in points), or as money in
    `currency` where that is set ("" for money without a currency)."""

    shown: Callable[[np.ndarray], np.ndarray]
    words: Text
    scale: Callable[[int], float | int] = int
    currency: str | None = None

    def say(self, shown: int, language: Language) -> str:
        if self.currency is None:
            return self.words.said(language).format(self.scale(shown))
        return self.words.said(language).format(money_change(shown, self.currency, language))


POINTS = EffectUnit(
    tenths_of_points, Text(" ({:+.1f} pts)", "（{:+.1f} 个百分点）"), lambda tenths: tenths / 10
)
MONEY = EffectUnit(money_shown, Text(" ({})", "（{}）"), currency="")


def money_unit(currency: str) -> EffectUnit:
    """Effects on the expected value in the run's currency (`currency`): "(+$8,400)"."""
    return replace(MONEY, currency=currency)


def _effects(shown: np.ndarray, unit: EffectUnit, language: Language) -> np.ndarray:
    """' (+4.2 pts)' or ' (+8,400)' for each effect, rendered once per distinct shown value."""
    distinct, inverse = np.unique(shown, return_inverse=True)
    return np.asarray([unit.say(int(v), language) for v in distinct], dtype=object)[inverse]


def _driver_words(
    led: np.ndarray | None, raises: np.ndarray, language: Language
) -> np.ndarray | str:
    """What each reason begins with: the part of the expected value that drives it, and
    which way; nothing where there are no parts (a reason in win-probability points)."""
    if led is None:
        return ""
    words = np.empty(len(led), dtype=object)
    for (by_likelihood, up), text in DRIVER_WORDS.items():
        words[(led == by_likelihood) & (raises == up)] = text.said(language)
    return words


def _ranked_sentences(
    matrix: np.ndarray,
    picks: np.ndarray,
    sign: int,
    values: pd.DataFrame,
    names: np.ndarray,
    registry: Mapping[str, FeatureSpec],
    unit: EffectUnit,
    led: np.ndarray | None,
    language: Language,
) -> np.ndarray:
    """The sentence for each row's picked feature where its effect shows with `sign`,
    rendered one feature at a time."""
    rows = np.arange(len(matrix))
    shown = unit.shown(matrix[rows, picks])
    keep = shown * sign > 0
    lead = _driver_words(None if led is None else led[rows, picks], shown > 0, language)
    out = np.full(len(matrix), None, dtype=object)
    for j in np.unique(picks[keep]):
        chosen = keep & (picks == j)
        column = values[names[j]][chosen]
        said = _value_sentences(registry.get(names[j]), names[j], column)
        start = lead if isinstance(lead, str) else lead[chosen]
        out[chosen] = start + said + _effects(shown[chosen], unit, language)
    return out


def reason_codes(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
    n_reasons: int = 3,
    n_risks: int = 2,
    unit: EffectUnit = POINTS,
    likelihood_led: pd.DataFrame | None = None,
    language: Language = "en",
) -> pd.DataFrame:
    """reason_1..n (what raises the score most) and risk_1..m (what lowers it), each a
    sentence with the customer's own value and its effect in `unit` (win-probability points,
    or money of expected value), begun by the part that drives it where `likelihood_led` says
    so, in `language` (the registry's sentences are in it already). An effect that rounds to
    nothing visible is no reason: it is left out."""
    matrix = contributions.to_numpy(float)
    names = np.asarray(contributions.columns)
    values = values.reset_index(drop=True)
    led = None if likelihood_led is None else likelihood_led.to_numpy(bool)
    order = np.argsort(-matrix, axis=1, kind="stable")
    ranks = [(f"reason_{k + 1}", k, 1) for k in range(n_reasons)]
    ranks += [(f"risk_{k + 1}", matrix.shape[1] - 1 - k, -1) for k in range(n_risks)]
    out = {}
    for column, rank, sign in ranks:
        out[column] = (
            _ranked_sentences(
                matrix, order[:, rank], sign, values, names, registry, unit, led, language
            )
            if 0 <= rank < matrix.shape[1]
            else np.full(len(matrix), None, dtype=object)
        )
    return pd.DataFrame(out, index=contributions.index)


def top_contributions(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    customer_ids: pd.Series,
    top: int = 8,
    effects: pd.DataFrame | None = None,
    likelihood_led: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Long format for drill-down: customer_id, feature, the customer's value (a number in
    `value`, the name of a category in `category`, so that SQL can sum and compare values),
    contribution (to the win probability) and, for a model champion (`effects` and
    `likelihood_led`, with the columns of `contributions`), `effect` (on the expected value,
    in money) and `driver` (`likelihood` or `size`): the `top` largest effects (else
    contributions) by size per customer."""
    matrix = contributions.to_numpy(float)
    ranked = matrix if effects is None else effects.to_numpy(float)
    k = min(top, matrix.shape[1])
    cols = (  # none asked (the portable model): no sort of every customer's row
        np.argsort(-np.abs(ranked), axis=1, kind="stable")[:, :k].ravel()
        if k
        else np.empty(0, dtype=np.intp)
    )
    rows = np.repeat(np.arange(len(matrix)), k)
    names = np.asarray(contributions.columns)
    number = np.full(len(rows), np.nan)
    category = np.full(len(rows), None, dtype=object)
    for j in np.unique(cols):
        at = cols == j
        shown = values[names[j]].iloc[rows[at]]
        if pd.api.types.is_numeric_dtype(shown):
            number[at] = shown.to_numpy(dtype=float, na_value=np.nan)
        else:
            category[at] = shown.astype("str").to_numpy(dtype=object, na_value=None)
    led = None if likelihood_led is None else likelihood_led.to_numpy(bool)[rows, cols]
    driver = (
        pd.array(np.full(len(rows), None), dtype="str")
        if led is None
        else labels_at(np.array([SIZE, LIKELIHOOD]), led.astype(np.int64))
    )
    return pd.DataFrame(
        {
            "customer_id": customer_ids.to_numpy()[rows],
            "feature": labels_at(names, cols),
            "value": number,
            "category": pd.array(category, dtype="str"),
            "contribution": matrix[rows, cols],
            "effect": np.full(len(rows), np.nan) if effects is None else ranked[rows, cols],
            "driver": driver,
        }
    )


def labels_at(labels: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """`labels[codes]` as a string column, taken in Arrow: eight rows per customer are
    millions of strings, which Python objects would have to convert one by one."""
    return pd.array(pa.array(labels.tolist(), pa.large_string()).take(pa.array(codes)), dtype="str")


def contribution_changes(
    reasons: pd.DataFrame, before: pd.Timestamp, after: pd.Timestamp
) -> pd.DataFrame:
    """customer_id, feature and `change` (contribution at `after` minus at `before`) from the
    long-format reasons of two runs, for the features in both runs' top contributions: the
    ones whose effect both runs know."""
    runs = reasons[reasons["as_of"].isin([before, after])]
    wide = runs.pivot_table(
        index=["customer_id", "feature"], columns="as_of", values="contribution", aggfunc="sum"
    )
    if not {before, after} <= set(wide.columns):
        return pd.DataFrame(columns=["customer_id", "feature", "change"])
    both = wide[[before, after]].dropna()
    return (both[after] - both[before]).rename("change").reset_index()
