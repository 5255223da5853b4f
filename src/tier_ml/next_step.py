"""What would move an account up: the smallest increase in one actionable feature (meetings,
calls, open pipeline) that the champion itself says lifts a B or C account over the boundary of
the next tier up, said in words.

The search re-predicts expected value with one feature raised by whole steps, at most
`max_steps` (re-walking only the trees that split on it: `models.what_if`), and keeps the
fewest steps over the features (ties: the feature listed first). It varies only features the
fitted models are constrained on (LightGBM monotone +1, `train.monotone_increasing`): for
those, more never lowers the score, so the answer is never perverse ("fewer meetings would
help"), and the fewest steps can be found by bisection with a few batched predicts per
feature. Other columns stay as they are (a meeting added to `act_meeting_90d` does not also
raise `act_total_90d`), so the answer errs on the side of more effort. A and D accounts get
none: A has no tier above it, and D is "hold off", where the playbook spends no selling time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.distinct import per_distinct
from tier_ml.models.what_if import WhatIf
from tier_ml.report.numbers import money

SEARCHED = ("B", "C")  # the tiers that get a next step; the tier above each is its target
ACTIVITY = re.compile(r"^act_(?P<type>.+)_(?P<days>\d+)d$")
NOUNS = {  # activity types as a seller says them: English singular and plural; Chinese
    # measure word and noun
    "meeting": ("meeting", "meetings", "次", "会议"),
    "call": ("call", "calls", "次", "电话"),
    "email": ("email", "emails", "封", "邮件"),
    "event": ("event", "events", "次", "活动"),
    "web_visit": ("web visit", "web visits", "次", "网站访问"),
    "download": ("download", "downloads", "次", "下载"),
}
WORDS = {
    "en": {
        "moves": "{change} would move it to {tier}",
        "activity": "{n} more {noun} in the last {days} days",
        "open_deal_count": "{n} more open {noun}",
        "open_deal_amount": "{amount} more in open deals",
        "other": "{feature} up by {amount}",
        "out_of_reach": "no single change of up to {steps} steps in {features} would move it "
        "to {tier}",
        "held": "its expected value already reaches {tier}; the tier rules keep it in {current}",
        "sep": ", ",
        "or": " or ",
    },
    "zh": {
        "moves": "{change}即可升至 {tier} 级",
        "activity": "近 {days} 天内再增加 {n} {noun}",
        "open_deal_count": "再增加 {n} 个进行中的商机",
        "open_deal_amount": "进行中的商机金额再增加 {amount}",
        "other": "{feature}提高 {amount}",
        "out_of_reach": "{features}中任何一项增加 {steps} 步以内都不足以升至 {tier} 级",
        "held": "预期价值已达到 {tier} 级，分级规则使其保持在 {current} 级",
        "sep": "、",
        "or": "或",
    },
}
NAMES = {  # a feature in the list of what was tried
    "en": {"open_deal_count": "open deals", "open_deal_amount": "open pipeline"},
    "zh": {"open_deal_count": "进行中的商机", "open_deal_amount": "商机金额"},
}


@dataclass(frozen=True)
class NextStepParams:
    """`scoring.next_step`: each actionable feature with the size of one step, and how many
    steps a seller could plausibly take before the answer is "out of reach"."""

    actionable: Mapping[str, float] = field(default_factory=dict)
    max_steps: int = 10

    @classmethod
    def from_dict(cls, params: Mapping[str, Any] | None) -> NextStepParams:
        params = params or {}
        return cls(
            actionable={k: float(v) for k, v in (params.get("actionable") or {}).items()},
            max_steps=int(params.get("max_steps", 10)),
        )


def increasing_features(booster: Any, features: list[str]) -> set[str]:
    """The features a fitted LightGBM estimator is constrained never to score lower as they
    rise: only those can be varied without a perverse answer."""
    constraints = booster.get_params().get("monotone_constraints") or []
    return {f for f, c in zip(features, constraints, strict=False) if c == 1}


def split_on(estimator: Any, features: list[str]) -> set[str]:
    """The features a fitted LightGBM estimator splits on somewhere: changing any other never
    moves its score (purchase-only data has no meetings or open deals to act on)."""
    splits = estimator.booster_.feature_importance(importance_type="split")
    return {f for f, n in zip(features, splits, strict=True) if n > 0}


def steps_to_cross(
    value_with: WhatIf,
    start: pd.DataFrame,
    target: np.ndarray,
    actionable: Mapping[str, float],
    max_steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `start` (the actionable features' current values), the fewest steps of one
    actionable feature after which `value_with` (the model's expected value with that feature
    changed) exceeds `target`, and that feature (ties: the first listed); 0 and "" where none
    does within `max_steps`. A missing count or amount is taken as none (0)."""
    steps = np.zeros(len(start), dtype=int)
    chosen = np.full(len(start), "", dtype=object)
    for name, step in actionable.items():
        now = start[name].fillna(0.0).to_numpy(float)
        fewest = fewest_steps(value_with, name, now, step, target, max_steps)
        better = (fewest > 0) & ((steps == 0) | (fewest < steps))
        steps[better], chosen[better] = fewest[better], name
    return steps, chosen


def fewest_steps(
    value_with: WhatIf,
    feature: str,
    start: np.ndarray,
    step: float,
    target: np.ndarray,
    max_steps: int,
) -> np.ndarray:
    """Per row, the fewest steps of `feature` up from `start` that lift `value_with` above
    `target` (0: not within `max_steps`). The model is monotone in the feature, so one
    batched predict at `max_steps` sets aside the rows out of reach and a bisection finds the
    rest in about log2(max_steps) more: a handful of predicts, however many steps are
    allowed."""

    def crosses(at: np.ndarray, k: np.ndarray) -> np.ndarray:
        return value_with(feature, at, start[at] + k * step) > target[at]

    every = np.arange(len(start))
    reach = every[crosses(every, np.full(len(start), max_steps))]
    low = np.zeros(len(reach), dtype=int)  # known not to cross (the current value)
    high = np.full(len(reach), max_steps)  # known to cross
    while (open_ := high - low > 1).any():
        middle = (low[open_] + high[open_]) // 2
        crossed = crosses(reach[open_], middle)
        high[open_] = np.where(crossed, middle, high[open_])
        low[open_] = np.where(crossed, low[open_], middle)
    fewest = np.zeros(len(start), dtype=int)
    fewest[reach] = high
    return fewest


def change_words(feature: str, amount: float, language: str, currency: str = "") -> str:
    """An increase of `amount` in `feature`, as a seller says it: "2 more meetings in the
    last 90 days", "1 more open deal", "$20,000 more in open deals" (money in the run's
    `currency`)."""
    words = WORDS[language]
    n = f"{amount:,.0f}"
    activity = ACTIVITY.match(feature)
    if activity is not None and activity["type"] in NOUNS:
        singular, plural, measure, zh = NOUNS[activity["type"]]
        noun = measure + zh if language == "zh" else (singular if amount == 1 else plural)
        return words["activity"].format(n=n, noun=noun, days=activity["days"])
    if feature == "open_deal_count":
        return words["open_deal_count"].format(n=n, noun="deal" if amount == 1 else "deals")
    if feature == "open_deal_amount":
        return words["open_deal_amount"].format(amount=money(amount, currency, language))
    return words["other"].format(feature=feature_name(feature, language), amount=n)


def feature_name(feature: str, language: str) -> str:
    """A feature in the list of what was tried: "meetings (90 days)", "open pipeline"."""
    activity = ACTIVITY.match(feature)
    if activity is not None and activity["type"] in NOUNS:
        _, plural, _, zh = NOUNS[activity["type"]]
        days = activity["days"]
        return f"近 {days} 天的{zh}" if language == "zh" else f"{plural} ({days} days)"
    return NAMES[language].get(feature, feature.replace("_", " "))


def next_step_sentences(
    tier: np.ndarray,
    target_tier: np.ndarray,
    reaches: np.ndarray,
    steps: np.ndarray,
    chosen: np.ndarray,
    params: NextStepParams,
    language: str,
    currency: str = "",
) -> np.ndarray:
    """One sentence per searched account: the change that moves it up, that its value
    already reaches the tier above (held by an overlay or hysteresis), or that nothing
    within `max_steps` does. Never an answer the model did not give."""
    words = WORDS[language]
    names = [feature_name(f, language) for f in params.actionable]
    tried = words["or"].join(filter(None, (words["sep"].join(names[:-1]), names[-1])))

    def sentence(current: str, up: str, held: bool, k: int, feature: str) -> str:
        if held:
            return words["held"].format(tier=up, current=current)
        if k == 0:
            return words["out_of_reach"].format(steps=params.max_steps, features=tried, tier=up)
        change = change_words(feature, k * params.actionable[feature], language, currency)
        return words["moves"].format(change=change, tier=up)

    return per_distinct(sentence, tier, target_tier, reaches, steps, chosen)
