"""Every feature once: its column, a label for people, and the sentence it becomes in a reason.

Templates take the customer's own `value`; `when_missing` is said when the value is missing
(e.g. "no won deal yet" rather than "nan days since the last won deal"), and `one` and `zero`
when a count rounds to 1 or 0 ("1 open deal", "contacted today": never "1 open deals" or
"no contact for 0 days").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class FeatureSpec:
    """A feature's name, human label and sentence template."""

    name: str
    label: str
    template: str
    kind: Kind = "numeric"
    when_missing: str = "{label} unknown"
    one: str | None = None
    zero: str | None = None

    def sentence(self, value: object) -> str:
        """The feature said in words with the customer's own value."""
        if value is None or (isinstance(value, float) and value != value):
            return self.when_missing.format(label=self.label)
        if self.kind != "numeric":
            return self.template.format(value=value, label=self.label)
        number = float(value)
        special = {1: self.one, 0: self.zero}.get(round(number))
        return special or self.template.format(value=number, label=self.label)


def _counted(
    phrase: str, singular: str, plural: str, zero: str | None = None
) -> dict[str, str | None]:
    """The template, and its singular and zero sentences, of a phrase whose `{n}` is a whole
    count and its noun: _counted("no contact for {n}", "day", "days", zero="contacted today")."""
    return {
        "template": phrase.format(n=f"{{value:.0f}} {plural}"),
        "one": phrase.format(n=f"1 {singular}"),
        "zero": zero,
    }


def _ago(subject: str) -> dict[str, str | None]:
    """'last won deal 12 days ago', '... 1 day ago', '... today'."""
    return _counted(f"{subject} {{n}} ago", "day", "days", zero=f"{subject} today")


def _plural(noun: str) -> str:
    return noun if noun.endswith("s") else noun + "s"


ACTIVITY_NOUNS = {
    "web_visit": "web visit",
    "download": "download",
    "meeting": "meeting",
    "call": "call",
    "email": "email",
    "event": "event",
}


def activity_noun(activity_type: str) -> str:
    """The word a sales director uses for an activity type."""
    return ACTIVITY_NOUNS.get(activity_type, activity_type.replace("_", " "))


def rfm_specs(windows: tuple[int, ...]) -> list[FeatureSpec]:
    """Recency, frequency and monetary value of won deals, over each window and in total."""
    specs = [
        FeatureSpec(
            "days_since_last_won",
            "days since the last won deal",
            **_ago("last won deal"),
            when_missing="no won deal yet",
        ),
        FeatureSpec(
            "won_count_total",
            "won deals (all time)",
            **_counted("{n} in total", "won deal", "won deals"),
        ),
        FeatureSpec("won_revenue_total", "won revenue (all time)", "{value:,.0f} won in total"),
        FeatureSpec(
            "avg_won_amount",
            "average won deal",
            "average won deal of {value:,.0f}",
            when_missing="no won deal yet",
        ),
    ]
    for w in windows:
        specs += [
            FeatureSpec(
                f"won_count_{w}d",
                f"won deals, last {w} days",
                **_counted(f"{{n}} won in the last {w} days", "deal", "deals"),
            ),
            FeatureSpec(
                f"won_revenue_{w}d",
                f"won revenue, last {w} days",
                f"{{value:,.0f}} won in the last {w} days",
            ),
        ]
    return specs


def rhythm_specs(half_life: int) -> list[FeatureSpec]:
    """Purchase rhythm (Fader-Hardie style signals for purchase-only data): gaps between
    purchases, recency against the customer's own gap, decayed counts and spend, trend,
    active months and the age of the first purchase."""
    return [
        FeatureSpec(
            "purchase_gap_mean_days",
            "usual gap between purchases",
            "buys every {value:.0f} days on average",
            one="buys every day on average",
            zero="buys more than once a day",
            when_missing="fewer than two purchases",
        ),
        FeatureSpec(
            "purchase_gap_cv",
            "regularity of purchases (spread of gaps / mean gap)",
            "purchase gaps vary by {value:.0%} of the usual gap",
            when_missing="too few purchases to judge regularity",
        ),
        FeatureSpec(
            "recency_gap_ratio",
            "days since the last purchase, in usual gaps",
            "last purchase {value:.1f} usual gaps ago",
            when_missing="no usual gap yet",
        ),
        FeatureSpec(
            "purchases_decayed",
            f"purchases, weighted by recency (half-life {half_life} days)",
            "{value:.1f} recent-weighted purchases",
        ),
        FeatureSpec(
            "spend_decayed",
            f"spend, weighted by recency (half-life {half_life} days)",
            "{value:,.0f} recent-weighted spend",
        ),
        FeatureSpec(
            "spend_trend",
            f"spend trend (last {half_life} days against the {half_life} before)",
            "spend trend {value:+.0%}",
            when_missing="no spend in the last two periods",
        ),
        FeatureSpec(
            "active_months_365d",
            "months with a purchase, last 365 days",
            "bought in {value:.0f} of the last 12 months",
            zero="no purchase in the last 12 months",
        ),
        FeatureSpec(
            "first_purchase_age_days",
            "days since the first purchase",
            **_ago("first purchase"),
            when_missing="no purchase yet",
        ),
    ]


def history_specs() -> list[FeatureSpec]:
    """Win/loss history and the pipeline open at the cutoff."""
    return [
        FeatureSpec(
            "lost_count_total",
            "lost deals (all time)",
            **_counted("{n} in total", "lost deal", "lost deals"),
        ),
        FeatureSpec(
            "lost_count_365d",
            "lost deals, last 365 days",
            **_counted("{n} lost in the last 365 days", "deal", "deals"),
        ),
        FeatureSpec(
            "win_rate",
            "win rate of closed deals",
            "wins {value:.0%} of closed deals",
            when_missing="no closed deal yet",
        ),
        FeatureSpec("open_deal_count", "open deals", **_counted("{n}", "open deal", "open deals")),
        FeatureSpec("open_deal_amount", "open pipeline amount", "{value:,.0f} in open deals"),
        FeatureSpec(
            "open_deal_overdue_count",
            "open deals past their expected close date",
            **_counted(
                "{n}",
                "open deal past its expected close date",
                "open deals past their expected close date",
            ),
        ),
        FeatureSpec(
            "open_deal_age_mean_days",
            "average age of open deals",
            **_counted(
                "open deals are {n} old on average",
                "day",
                "days",
                zero="open deals opened today",
            ),
            when_missing="no open deal",
        ),
        FeatureSpec(
            "open_deal_age_max_days",
            "age of the oldest open deal",
            **_counted(
                "oldest open deal is {n} old", "day", "days", zero="oldest open deal opened today"
            ),
            when_missing="no open deal",
        ),
    ]


def engagement_specs(
    activity_types: tuple[str, ...], windows: tuple[int, ...]
) -> list[FeatureSpec]:
    """Activity counts by type and window, totals, trend and silence."""
    specs = []
    for t in activity_types:
        noun = activity_noun(t)
        for w in windows:
            specs.append(
                FeatureSpec(
                    f"act_{t}_{w}d",
                    f"{_plural(noun)}, last {w} days",
                    **_counted(f"{{n}} in the last {w} days", noun, _plural(noun)),
                )
            )
    for w in windows:
        specs.append(
            FeatureSpec(
                f"act_total_{w}d",
                f"activities, last {w} days",
                **_counted(f"{{n}} in the last {w} days", "activity", "activities"),
            )
        )
    specs += [
        FeatureSpec(
            "activity_trend",
            "activity trend (last 30 days vs. monthly average)",
            "{value:+.1f} activities this month against the quarter's monthly average",
        ),
        FeatureSpec(
            "days_since_last_activity",
            "days since the last activity",
            **_counted("no contact for {n}", "day", "days", zero="contacted today"),
            when_missing="never contacted",
        ),
        FeatureSpec(
            "days_since_last_touch",
            "days since the last touch (deal opened or closed, activity, customer added)",
            **_ago("last deal, activity or sign-up"),
            when_missing="no deal, activity or sign-up date on record",
        ),
    ]
    return specs


def profile_specs(categorical: tuple[str, ...], numeric: tuple[str, ...]) -> list[FeatureSpec]:
    """Tenure and firmographics (the customer's static fit)."""
    specs = [
        FeatureSpec(
            "tenure_days",
            "customer tenure",
            **_counted("customer for {n}", "day", "days", zero="customer since today"),
            when_missing="tenure unknown",
        )
    ]
    specs += [
        FeatureSpec(
            c, c.replace("_", " "), f"{c.replace('_', ' ')} is {{value}}", kind="categorical"
        )
        for c in categorical
    ]
    specs += [
        FeatureSpec(c, c.replace("_", " "), f"{c.replace('_', ' ')} of {{value:,.0f}}")
        for c in numeric
    ]
    return specs


def model_output_specs() -> list[FeatureSpec]:
    """Features that are other models' outputs: open-deal scoring and BG/NBD."""
    return [
        FeatureSpec(
            "expected_pipeline_value",
            "expected value of open deals",
            "open deals worth {value:,.0f} after their win chances",
            when_missing="open deals not yet scorable",
        ),
        FeatureSpec(
            "bgnbd_expected_purchases",
            "expected purchases (BG/NBD)",
            "{value:.1f} purchases expected by the purchase-pattern model",
        ),
        FeatureSpec(
            "bgnbd_p_alive",
            "chance the customer is still active (BG/NBD)",
            "{value:.0%} chance the customer is still active",
        ),
        FeatureSpec(
            "bgnbd_p_buy",
            "chance of a purchase (BG/NBD)",
            "{value:.0%} chance of a purchase by its buying rhythm",
        ),
        FeatureSpec(
            "bgnbd_expected_revenue",
            "expected revenue (BG/NBD + Gamma-Gamma)",
            "{value:,.0f} expected from its buying rhythm",
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


def feature_registry(config: FeatureConfig) -> dict[str, FeatureSpec]:
    """All features for a configuration, in output column order."""
    specs = (
        rfm_specs(config.rfm_windows)
        + rhythm_specs(config.decay_half_life_days)
        + history_specs()
        + engagement_specs(config.activity_types, config.activity_windows)
        + profile_specs(config.categorical_attributes, config.numeric_attributes)
    )
    return {s.name: s for s in specs}


def reason_registry(config: FeatureConfig) -> dict[str, FeatureSpec]:
    """The features and the model-output features: every column a model may be given."""
    specs = list(feature_registry(config).values()) + model_output_specs()
    return {s.name: s for s in specs}
