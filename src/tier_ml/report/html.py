"""Render the leadership report: one self-contained HTML file (inline CSS, embedded PNGs)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tier_ml.report.content import ReportContent
from tier_ml.tiering import ACTIONS

TEMPLATES = Path(__file__).parent / "templates"


def _money(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.0f}"


def _percent(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.0%}"


def _thousands(value: int | float) -> str:
    return f"{value:,.0f}"


def _short(value: float) -> str:
    """12,500,000 -> 12.5M: axis labels that do not run into each other."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(money=_money, percent=_percent, thousands=_thousands)
    return env


def render(content: ReportContent) -> str:
    template = environment().get_template("tier_report.html.j2")
    return template.render(c=content, w=content.words, actions=ACTIONS[content.language])


def value_figure(headline: list[dict]) -> Figure:
    """Expected revenue per tier: where the money is."""
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    tiers = [row["tier"] for row in headline]
    values = [row["expected_value"] for row in headline]
    colours = {"A": "#1b7837", "B": "#7fbf7b", "C": "#bdbdbd", "D": "#8c8c8c"}
    ax.barh(tiers[::-1], values[::-1], color=[colours[t] for t in tiers[::-1]])
    ax.set_xlabel("expected revenue in the horizon")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig
