"""Render the leadership report: one self-contained HTML file (inline CSS, embedded PNGs)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jinja2
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tier_ml.report import numbers
from tier_ml.report.content import ReportContent
from tier_ml.report.plots import new_figure
from tier_ml.tiering import ACTIONS

TEMPLATES = Path(__file__).parent / "templates"


def _short(value: float) -> str:
    """12,500,000 -> 12.5M: axis labels that do not run into each other."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def environment(currency: str = "") -> jinja2.Environment:
    """Templates with the report's number filters; `money` writes amounts in `currency`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        money=partial(numbers.money, currency=currency),
        percent=numbers.percent,
        probability=numbers.probability,
        thousands=numbers.thousands,
        noun=numbers.noun,
    )
    return env


def render(content: ReportContent) -> str:
    template = environment(content.currency).get_template("tier_report.html.j2")
    return template.render(c=content, w=content.words, actions=ACTIONS[content.language])


def value_figure(headline: list[dict], label: str) -> Figure:
    """Expected value per tier: where the money is. `label` names the axis, with its
    currency."""
    fig, ax = new_figure(6, 2.6)
    tiers = [row["tier"] for row in headline]
    values = [row["expected_value"] for row in headline]
    colours = {"A": "#1b7837", "B": "#7fbf7b", "C": "#bdbdbd", "D": "#8c8c8c"}
    ax.barh(tiers[::-1], values[::-1], color=[colours[t] for t in tiers[::-1]])
    ax.set_xlabel(label)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig
