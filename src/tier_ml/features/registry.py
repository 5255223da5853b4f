"""Every feature once: its column, a label for people, and the sentence it becomes in a reason.

Templates take the customer's own `value`; `when_missing` is said when the value is missing
(e.g. "no won deal yet" rather than "nan days since the last won deal"), and `one` and `zero`
when a count rounds to 1 or 0 ("1 open deal", "contacted today": never "1 open deals" or
"no contact for 0 days").

Each label and sentence is written in every report language, English and Chinese side by
side (`Text`), and a registry is built in one of them: the scores store their reasons in the
language of the run (the `language` parameter).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tier_ml.language import Language, Text

Kind = Literal["numeric", "categorical"]


# what a count's zero says, and the features it leaves nothing more to say
NO_WON_DEAL = Text("no won deal yet", "尚无成交")
NO_OPEN_DEAL = Text("no open deal", "没有在谈商机")
OPEN_DEAL_FACTS = (
    "open_deal_amount",
    "open_deal_overdue_count",
    "open_deal_age_mean_days",
    "open_deal_age_max_days",
    "expected_pipeline_value",
)
WON_DEAL_FACTS = (
    "days_since_last_won",
    "won_revenue_total",
    "avg_won_amount",
    "purchase_gap_mean_days",
    "purchase_gap_cv",
    "recency_gap_ratio",
    "purchases_decayed",
    "spend_decayed",
    "spend_trend",
    "active_months_365d",
    "first_purchase_age_days",
)
WON_IN_WINDOW = re.compile(r"won_(count|revenue)_\d+d")


def count_that_empties(feature: str) -> str | None:
    """The count whose zero leaves `feature` nothing more to say: no open deal has no amount
    or age; without a won deal there is no revenue, gap or recency to speak of."""
    if feature in OPEN_DEAL_FACTS:
        return "open_deal_count"
    if feature in WON_DEAL_FACTS or WON_IN_WINDOW.fullmatch(feature):
        return "won_count_total"
    return None


@dataclass(frozen=True)
class FeatureSpec:
    """A feature's name, human label and sentence template. `absent_with`: the count whose
    zero leaves this feature nothing more to say (no open deal: no amount, no age, no overdue
    deal); a customer's effect of it is then said with that count's, once
    (`tier_ml.explain.fold_absent`)."""

    name: str
    label: str
    template: str
    kind: Kind = "numeric"
    when_missing: str = "{label} unknown"
    one: str | None = None
    zero: str | None = None
    absent_with: str | None = None

    def sentence(self, value: object) -> str:
        """The feature said in words with the customer's own value."""
        if value is None or (isinstance(value, float) and value != value):
            return self.when_missing.format(label=self.label)
        if self.kind != "numeric":
            return self.template.format(value=value, label=self.label)
        number = float(value)
        special = {1: self.one, 0: self.zero}.get(round(number))
        return special or self.template.format(value=number, label=self.label)


def _spec(language: Language) -> Callable[..., FeatureSpec]:
    """FeatureSpec in `language`: a missing value reads "<label> unknown" in it unless the
    feature says what its absence means; the count that empties it, if any, is set."""
    unknown = Text("{label} unknown", "{label}未知").said(language)

    def spec(name: str, *args, **kwargs) -> FeatureSpec:
        kwargs = {"when_missing": unknown, "absent_with": count_that_empties(name), **kwargs}
        return FeatureSpec(name, *args, **kwargs)

    return spec


def _counted(
    language: Language,
    phrase: Text,
    singular: str,
    plural: str,
    zero: Text | None = None,
) -> dict[str, str | None]:
    """The template, and its singular and zero sentences, of a phrase whose `{n}` is a whole
    count: in English with its noun, singular or plural (_counted(language, Text("no contact
    for {n}", "已 {n} 天未联系"), "day", "days", zero=...)); Chinese has no plural, so its
    phrase carries its own measure word and `{n}` is the bare number."""
    if language == "zh":
        return {
            "template": phrase.zh.format(n="{value:.0f}"),
            "one": None,
            "zero": zero and zero.zh,
        }
    return {
        "template": phrase.en.format(n=f"{{value:.0f}} {plural}"),
        "one": phrase.en.format(n=f"1 {singular}"),
        "zero": zero and zero.en,
    }


def _ago(language: Language, subject: Text) -> dict[str, str | None]:
    """'last won deal 12 days ago', '... 1 day ago', '... today'."""
    return _counted(
        language,
        Text(f"{subject.en} {{n}} ago", f"{subject.zh}在 {{n}} 天前"),
        "day",
        "days",
        zero=Text(f"{subject.en} today", f"{subject.zh}就在今天"),
    )


def _plural(noun: str) -> str:
    return noun if noun.endswith("s") else noun + "s"


ACTIVITY_NOUNS = {
    "web_visit": Text("web visit", "网站访问"),
    "download": Text("download", "下载"),
    "meeting": Text("meeting", "会议"),
    "call": Text("call", "电话"),
    "email": Text("email", "邮件"),
    "event": Text("event", "活动"),
}
# the customer attributes of the default configuration; any other is said by its column name
ATTRIBUTE_NAMES = {
    "industry": Text("industry", "行业"),
    "region": Text("region", "地区"),
    "employees": Text("employees", "员工人数"),
    "annual_revenue": Text("annual revenue", "年收入"),
}


def _named(names: dict[str, Text], code: str) -> Text:
    """A code's words, or the code itself with spaces (in every language) where none are
    written."""
    plain = code.replace("_", " ")
    return names.get(code, Text(plain, plain))


def activity_noun(activity_type: str) -> Text:
    """The word a sales director uses for an activity type."""
    return _named(ACTIVITY_NOUNS, activity_type)


def rfm_specs(windows: tuple[int, ...], language: Language = "en") -> list[FeatureSpec]:
    """Recency, frequency and monetary value of won deals, over each window and in total."""
    spec = _spec(language)
    no_won_deal = NO_WON_DEAL.said(language)
    specs = [
        spec(
            "days_since_last_won",
            Text("days since the last won deal", "距上次成交的天数").said(language),
            **_ago(language, Text("last won deal", "上次成交")),
            when_missing=no_won_deal,
        ),
        spec(
            "won_count_total",
            Text("won deals (all time)", "成交商机数（累计）").said(language),
            **_counted(
                language,
                Text("{n} in total", "累计成交 {n} 单"),
                "won deal",
                "won deals",
                zero=NO_WON_DEAL,
            ),
        ),
        spec(
            "won_revenue_total",
            Text("won revenue (all time)", "成交收入（累计）").said(language),
            Text("{value:,.0f} won in total", "累计成交 {value:,.0f}").said(language),
        ),
        spec(
            "avg_won_amount",
            Text("average won deal", "平均成交金额").said(language),
            Text("average won deal of {value:,.0f}", "平均成交金额 {value:,.0f}").said(language),
            when_missing=no_won_deal,
        ),
    ]
    for w in windows:
        specs += [
            spec(
                f"won_count_{w}d",
                Text(f"won deals, last {w} days", f"成交商机数，最近 {w} 天").said(language),
                **_counted(
                    language,
                    Text(f"{{n}} won in the last {w} days", f"最近 {w} 天成交 {{n}} 单"),
                    "deal",
                    "deals",
                ),
            ),
            spec(
                f"won_revenue_{w}d",
                Text(f"won revenue, last {w} days", f"成交收入，最近 {w} 天").said(language),
                Text(
                    f"{{value:,.0f}} won in the last {w} days", f"最近 {w} 天成交 {{value:,.0f}}"
                ).said(language),
            ),
        ]
    return specs


def rhythm_specs(half_life: int, language: Language = "en") -> list[FeatureSpec]:
    """Purchase rhythm (Fader-Hardie style signals for purchase-only data): gaps between
    purchases, recency against the customer's own gap, decayed counts and spend, trend,
    active months and the age of the first purchase."""
    spec = _spec(language)
    return [
        spec(
            "purchase_gap_mean_days",
            Text("usual gap between purchases", "平均购买间隔").said(language),
            Text("buys every {value:.0f} days on average", "平均每 {value:.0f} 天购买一次").said(
                language
            ),
            one=Text("buys every day on average", "平均每天购买一次").said(language),
            zero=Text("buys more than once a day", "平均每天购买多次").said(language),
            when_missing=Text("fewer than two purchases", "购买少于两次").said(language),
        ),
        spec(
            "purchase_gap_cv",
            Text(
                "regularity of purchases (spread of gaps / mean gap)",
                "购买规律性（间隔标准差 / 平均间隔）",
            ).said(language),
            Text(
                "purchase gaps vary by {value:.0%} of the usual gap",
                "购买间隔的波动为平均间隔的 {value:.0%}",
            ).said(language),
            when_missing=Text(
                "too few purchases to judge regularity", "购买次数太少，无法判断规律性"
            ).said(language),
        ),
        spec(
            "recency_gap_ratio",
            Text(
                "days since the last purchase, in usual gaps", "距上次购买的时间（以平均间隔计）"
            ).said(language),
            Text(
                "last purchase {value:.1f} usual gaps ago", "上次购买在 {value:.1f} 个平均间隔之前"
            ).said(language),
            when_missing=Text("no usual gap yet", "尚无平均间隔").said(language),
        ),
        spec(
            "purchases_decayed",
            Text(
                f"purchases, weighted by recency (half-life {half_life} days)",
                f"按时间加权的购买次数（半衰期 {half_life} 天）",
            ).said(language),
            Text("{value:.1f} recent-weighted purchases", "近期加权购买 {value:.1f} 次").said(
                language
            ),
        ),
        spec(
            "spend_decayed",
            Text(
                f"spend, weighted by recency (half-life {half_life} days)",
                f"按时间加权的消费额（半衰期 {half_life} 天）",
            ).said(language),
            Text("{value:,.0f} recent-weighted spend", "近期加权消费 {value:,.0f}").said(language),
        ),
        spec(
            "spend_trend",
            Text(
                f"spend trend (last {half_life} days against the {half_life} before)",
                f"消费趋势（最近 {half_life} 天对比之前 {half_life} 天）",
            ).said(language),
            Text("spend trend {value:+.0%}", "消费趋势 {value:+.0%}").said(language),
            when_missing=Text("no spend in the last two periods", "最近两期均无消费").said(
                language
            ),
        ),
        spec(
            "active_months_365d",
            Text("months with a purchase, last 365 days", "最近 365 天内有购买的月数").said(
                language
            ),
            Text(
                "bought in {value:.0f} of the last 12 months",
                "最近 12 个月中有 {value:.0f} 个月购买",
            ).said(language),
            zero=Text("no purchase in the last 12 months", "最近 12 个月没有购买").said(language),
        ),
        spec(
            "first_purchase_age_days",
            Text("days since the first purchase", "距首次购买的天数").said(language),
            **_ago(language, Text("first purchase", "首次购买")),
            when_missing=Text("no purchase yet", "尚无购买").said(language),
        ),
    ]


def history_specs(language: Language = "en") -> list[FeatureSpec]:
    """Win/loss history and the pipeline open at the cutoff."""
    spec = _spec(language)
    no_open_deal = NO_OPEN_DEAL.said(language)
    return [
        spec(
            "lost_count_total",
            Text("lost deals (all time)", "丢单数（累计）").said(language),
            **_counted(
                language, Text("{n} in total", "累计丢单 {n} 单"), "lost deal", "lost deals"
            ),
        ),
        spec(
            "lost_count_365d",
            Text("lost deals, last 365 days", "丢单数，最近 365 天").said(language),
            **_counted(
                language,
                Text("{n} lost in the last 365 days", "最近 365 天丢单 {n} 单"),
                "deal",
                "deals",
            ),
        ),
        spec(
            "win_rate",
            Text("win rate of closed deals", "已结商机的赢单率").said(language),
            Text("wins {value:.0%} of closed deals", "已结商机赢单率 {value:.0%}").said(language),
            when_missing=Text("no closed deal yet", "尚无已结商机").said(language),
        ),
        spec(
            "open_deal_count",
            Text("open deals", "在谈商机数").said(language),
            **_counted(
                language,
                Text("{n}", "{n} 个在谈商机"),
                "open deal",
                "open deals",
                zero=NO_OPEN_DEAL,
            ),
        ),
        spec(
            "open_deal_amount",
            Text("open pipeline amount", "在谈商机金额").said(language),
            Text("{value:,.0f} in open deals", "在谈商机金额 {value:,.0f}").said(language),
        ),
        spec(
            "open_deal_overdue_count",
            Text("open deals past their expected close date", "超过预计成交日期的在谈商机数").said(
                language
            ),
            **_counted(
                language,
                Text("{n}", "{n} 个在谈商机已超过预计成交日期"),
                "open deal past its expected close date",
                "open deals past their expected close date",
            ),
        ),
        spec(
            "open_deal_age_mean_days",
            Text("average age of open deals", "在谈商机的平均天数").said(language),
            **_counted(
                language,
                Text("open deals are {n} old on average", "在谈商机平均已开 {n} 天"),
                "day",
                "days",
                zero=Text("open deals opened today", "在谈商机均为今天新建"),
            ),
            when_missing=no_open_deal,
        ),
        spec(
            "open_deal_age_max_days",
            Text("age of the oldest open deal", "最早在谈商机的天数").said(language),
            **_counted(
                language,
                Text("oldest open deal is {n} old", "最早的在谈商机已开 {n} 天"),
                "day",
                "days",
                zero=Text("oldest open deal opened today", "最早的在谈商机为今天新建"),
            ),
            when_missing=no_open_deal,
        ),
    ]


def engagement_specs(
    activity_types: tuple[str, ...], windows: tuple[int, ...], language: Language = "en"
) -> list[FeatureSpec]:
    """Activity counts by type and window, totals, trend and silence."""
    spec = _spec(language)
    specs = []
    for t in activity_types:
        noun = activity_noun(t)
        for w in windows:
            specs.append(
                spec(
                    f"act_{t}_{w}d",
                    Text(f"{_plural(noun.en)}, last {w} days", f"{noun.zh}次数，最近 {w} 天").said(
                        language
                    ),
                    **_counted(
                        language,
                        Text(f"{{n}} in the last {w} days", f"最近 {w} 天{noun.zh} {{n}} 次"),
                        noun.en,
                        _plural(noun.en),
                    ),
                )
            )
    for w in windows:
        specs.append(
            spec(
                f"act_total_{w}d",
                Text(f"activities, last {w} days", f"互动次数，最近 {w} 天").said(language),
                **_counted(
                    language,
                    Text(f"{{n}} in the last {w} days", f"最近 {w} 天互动 {{n}} 次"),
                    "activity",
                    "activities",
                ),
            )
        )
    specs += [
        spec(
            "activity_trend",
            Text(
                "activity trend (last 30 days vs. monthly average)",
                "互动趋势（最近 30 天对比月均）",
            ).said(language),
            Text(
                "{value:+.1f} activities this month against the quarter's monthly average",
                "本月互动比本季度月均 {value:+.1f} 次",
            ).said(language),
        ),
        spec(
            "days_since_last_activity",
            Text("days since the last activity", "距上次互动的天数").said(language),
            **_counted(
                language,
                Text("no contact for {n}", "已 {n} 天未联系"),
                "day",
                "days",
                zero=Text("contacted today", "今天有联系"),
            ),
            when_missing=Text("never contacted", "从未联系").said(language),
        ),
        spec(
            "days_since_last_touch",
            Text(
                "days since the last touch (deal opened or closed, activity, customer added)",
                "距上次接触的天数（商机新建或关闭、互动、客户建档）",
            ).said(language),
            **_ago(language, Text("last deal, activity or sign-up", "上次商机、互动或建档")),
            when_missing=Text(
                "no deal, activity or sign-up date on record", "没有商机、互动或建档日期记录"
            ).said(language),
        ),
    ]
    return specs


def profile_specs(
    categorical: tuple[str, ...], numeric: tuple[str, ...], language: Language = "en"
) -> list[FeatureSpec]:
    """Tenure and firmographics (the customer's static fit)."""
    spec = _spec(language)
    specs = [
        spec(
            "tenure_days",
            Text("customer tenure", "成为客户的天数").said(language),
            **_counted(
                language,
                Text("customer for {n}", "已成为客户 {n} 天"),
                "day",
                "days",
                zero=Text("customer since today", "今天成为客户"),
            ),
            when_missing=Text("tenure unknown", "客户年限未知").said(language),
        )
    ]
    for c in categorical:
        name = _named(ATTRIBUTE_NAMES, c)
        specs.append(
            spec(
                c,
                name.said(language),
                Text(f"{name.en} is {{value}}", f"{name.zh}为 {{value}}").said(language),
                kind="categorical",
            )
        )
    for c in numeric:
        name = _named(ATTRIBUTE_NAMES, c)
        specs.append(
            spec(
                c,
                name.said(language),
                Text(f"{name.en} of {{value:,.0f}}", f"{name.zh} {{value:,.0f}}").said(language),
            )
        )
    return specs


def model_output_specs(language: Language = "en") -> list[FeatureSpec]:
    """Features that are other models' outputs: open-deal scoring and BG/NBD."""
    spec = _spec(language)
    return [
        spec(
            "expected_pipeline_value",
            Text("expected value of open deals", "在谈商机的预期价值").said(language),
            Text(
                "open deals worth {value:,.0f} after their win chances",
                "按成交概率折算后在谈商机价值 {value:,.0f}",
            ).said(language),
            when_missing=Text("open deals not yet scorable", "在谈商机尚无法评分").said(language),
        ),
        spec(
            "bgnbd_expected_purchases",
            Text("expected purchases (BG/NBD)", "预期购买次数（BG/NBD）").said(language),
            Text(
                "{value:.1f} purchases expected by the purchase-pattern model",
                "购买模式模型预期购买 {value:.1f} 次",
            ).said(language),
        ),
        spec(
            "bgnbd_p_alive",
            Text("chance the customer is still active (BG/NBD)", "客户仍活跃的概率（BG/NBD）").said(
                language
            ),
            Text(
                "{value:.0%} chance the customer is still active", "客户仍活跃的概率为 {value:.0%}"
            ).said(language),
        ),
        spec(
            "bgnbd_p_buy",
            Text("chance of a purchase (BG/NBD)", "购买概率（BG/NBD）").said(language),
            Text(
                "{value:.0%} chance of a purchase by its buying rhythm",
                "按购买节奏，购买概率为 {value:.0%}",
            ).said(language),
        ),
        spec(
            "bgnbd_expected_revenue",
            Text(
                "expected revenue (BG/NBD + Gamma-Gamma)", "预期收入（BG/NBD + Gamma-Gamma）"
            ).said(language),
            Text(
                "{value:,.0f} expected from its buying rhythm", "按购买节奏预期收入 {value:,.0f}"
            ).said(language),
        ),
    ]


@dataclass(frozen=True)
class FeatureConfig:
    """What to compute: windows, activity types and the declared customer attributes."""

    rfm_windows: tuple[int, ...] = (90, 180, 365, 730)
    activity_windows: tuple[int, ...] = (30, 90, 365)
    activity_types: tuple[str, ...] = ("web_visit", "download", "meeting", "call", "email", "event")
    categorical_attributes: tuple[str, ...] = ("industry", "region")
    numeric_attributes: tuple[str, ...] = ("employees", "annual_revenue")
    # Without a deal history, the fields of open deals taken as set when the deal was created.
    deal_fields_known_at_creation: tuple[str, ...] = ("amount", "product", "owner")
    # purchase rhythm: decay half-life and trend window, the horizon by default
    decay_half_life_days: int = 180
    engine: str = "duckdb"  # where the feature SQL runs: duckdb | spark


def feature_registry(config: FeatureConfig, language: Language = "en") -> dict[str, FeatureSpec]:
    """All features for a configuration, in output column order, said in `language`."""
    specs = (
        rfm_specs(config.rfm_windows, language)
        + rhythm_specs(config.decay_half_life_days, language)
        + history_specs(language)
        + engagement_specs(config.activity_types, config.activity_windows, language)
        + profile_specs(config.categorical_attributes, config.numeric_attributes, language)
    )
    return {s.name: s for s in specs}


def reason_registry(config: FeatureConfig, language: Language = "en") -> dict[str, FeatureSpec]:
    """The features and the model-output features: every column a model may be given, said
    in `language`."""
    specs = list(feature_registry(config, language).values()) + model_output_specs(language)
    return {s.name: s for s in specs}
