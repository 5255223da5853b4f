"""Render the leadership report: one self-contained HTML file (inline CSS, embedded PNGs)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jinja2
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tier_ml.language import Language
from tier_ml.report import numbers
from tier_ml.report.content import ReportContent
from tier_ml.report.plots import in_language, new_figure
from tier_ml.tiering import ACTIONS

TEMPLATES = Path(__file__).parent / "templates"


def environment(currency: str = "", language: Language = "en") -> jinja2.Environment:
    """Templates with the report's number filters; `money` writes amounts in `currency`, and
    money and counts are written as `language`'s locale writes them."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        money=partial(numbers.money, currency=currency, language=language),
        percent=numbers.percent,
        probability=numbers.probability,
        thousands=partial(numbers.thousands, language=language),
        noun=numbers.noun,
        count_change=numbers.count_change,
        money_change=partial(numbers.money_change, currency=currency, language=language),
    )
    return env


def render(content: ReportContent) -> str:
    template = environment(content.currency, content.language).get_template("tier_report.html.j2")
    return template.render(c=content, w=content.words, actions=ACTIONS[content.language])


def value_figure(headline: list[dict], label: str, language: Language = "en") -> Figure:
    """Expected value per tier: where the money is. `label` names the axis, with its
    currency."""
    fig, ax = new_figure(6, 2.6)
    tiers = [row["tier"] for row in headline]
    values = [row["expected_value"] for row in headline]
    colours = {"A": "#1b7837", "B": "#7fbf7b", "C": "#bdbdbd", "D": "#8c8c8c"}
    ax.barh(tiers[::-1], values[::-1], color=[colours[t] for t in tiers[::-1]])
    ax.set_xlabel(label)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: numbers.compact(v)))
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    in_language(fig, language)
    fig.tight_layout()
    return fig
