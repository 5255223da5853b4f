"""Matplotlib figures for MLflow and the report: small, labelled, readable when printed.

Figures are built without pyplot, so no backend is chosen here: files are written through
the figure's own canvas, and a notebook shows them inline. The report's figures speak its
language where a font can draw it: Chinese needs a CJK font (Debian's fonts-noto-cjk), and
without one they stay in English rather than show boxes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.text import Text as Label
from matplotlib.ticker import FuncFormatter

from tier_ml.language import Language, Text
from tier_ml.report.numbers import compact

# fonts that draw Chinese, preferred first; the Noto files hold several faces (SC, JP, ...)
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
)
CHART_WORDS = {
    "perfect": Text("perfect", "完美校准"),
    "predicted": Text("predicted win probability", "预测成交概率"),
    "observed": Text("observed win rate", "实际成交率"),
    "lift_axis": Text("win rate, × the average", "成交率（平均的倍数）"),
    "origin": Text("origin", "回测起点"),
    "lift_title": Text(
        "How often each tier bought, against the average ({method})",
        "各级别的成交频率相对平均（{method}）",
    ),
    "tier": Text("tier", "级别"),
    "mean_predicted": Text("mean predicted win probability", "平均预测成交概率"),
    "realised": Text("realised win rate", "实际成交率"),
    "calibration_title": Text(
        "Predicted against realised win rate, by tier", "各级别预测与实际成交率"
    ),
    "next_tier": Text("tier at the next origin", "下一起点的级别"),
    "this_tier": Text("tier at this origin", "本起点的级别"),
    "migration_title": Text("Tier migration", "级别迁移"),
    "customers": Text("customers", "客户数"),
    "trend_title": Text(
        "Customers and expected value per tier, by scoring run",
        "各次评分运行中各级别的客户数与预期价值",
    ),
}


@cache
def cjk_family() -> str | None:
    """The first installed font family of `CJK_FAMILIES`, or None. Matplotlib's font cache
    may predate a font installed later (fonts-noto-cjk on CI), so the system's CJK font
    files are registered with it first."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    if not known.intersection(CJK_FAMILIES):
        for path in font_manager.findSystemFonts():
            if "CJK" in Path(path).name:
                font_manager.fontManager.addfont(path)
        known = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in known), None)


def chart_language(language: Language) -> Language:
    """The language the charts can be drawn in: Chinese only with a CJK font."""
    return language if language != "zh" or cjk_family() else "en"


def chart_words(language: Language) -> dict[str, str]:
    """The charts' titles and axes in `chart_language(language)`."""
    drawn = chart_language(language)
    return {key: text.said(drawn) for key, text in CHART_WORDS.items()}


def in_language(figure: Figure, language: Language) -> Figure:
    """`figure` with every text in a CJK font (glyphs it lacks from the default) where the
    charts are drawn in Chinese."""
    if chart_language(language) == "zh":
        for label in figure.findobj(Label):
            label.set_fontfamily([cjk_family(), "DejaVu Sans"])
    return figure


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure with one axes, outside pyplot: no backend to choose, nothing left open."""
    figure = Figure(figsize=(width, height), dpi=100)
    return figure, figure.subplots()


def reliability_figure(tables: dict[str, pd.DataFrame], title: str) -> Figure:
    """Predicted against observed win rate per probability bin, one line per method."""
    fig, ax = new_figure(5, 5)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect")
    for name, table in tables.items():
        shown = table.dropna(subset=["mean_predicted"])
        ax.plot(shown["mean_predicted"], shown["observed"], marker="o", label=name)
    ax.set_xlabel("predicted win probability")
    ax.set_ylabel("observed win rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


TIER_COLOURS = {"A": "#1b7837", "B": "#7fbf7b", "C": "#d9d9d9", "D": "#999999"}


def lift_figure(
    table: pd.DataFrame, method: str = "model", label: str | None = None, language: Language = "en"
) -> Figure:
    """Realised win-rate lift by tier at each origin: tiers should fall from A to D. The
    title names the method by `label` (its code where none is given)."""
    words = chart_words(language)
    rows = table[table["method"] == method]
    pivot = rows.pivot(index="origin", columns="tier", values="lift").sort_index()
    fig, ax = new_figure(7, 3.5)
    pivot.index = [pd.Timestamp(o).date().isoformat() for o in pivot.index]
    pivot.plot.bar(ax=ax, color=[TIER_COLOURS.get(t, "#555555") for t in pivot.columns], width=0.8)
    ax.axhline(1.0, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_ylabel(words["lift_axis"])
    ax.set_xlabel(words["origin"])
    ax.set_title(words["lift_title"].format(method=label or method))
    ax.tick_params(axis="x", labelrotation=0)
    ax.legend(title=words["tier"], frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    in_language(fig, language)
    fig.tight_layout()
    return fig


def calibration_by_tier_figure(
    table: pd.DataFrame, method: str = "model", language: Language = "en"
) -> Figure:
    """Mean predicted win probability against the realised rate, per tier and origin."""
    words = chart_words(language)
    rows = table[table["method"] == method].dropna(subset=["mean_predicted_p_win"])
    fig, ax = new_figure(4.5, 4.5)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
    for tier, group in rows.groupby("tier"):
        ax.scatter(
            group["mean_predicted_p_win"],
            group["realised_win_rate"],
            color=TIER_COLOURS.get(tier, "#555555"),
            label=tier,
            edgecolor="#333333",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(words["mean_predicted"])
    ax.set_ylabel(words["realised"])
    ax.set_title(words["calibration_title"])
    ax.legend(title=words["tier"], frameon=False)
    in_language(fig, language)
    fig.tight_layout()
    return fig


def migration_figure(migration: pd.DataFrame, language: Language = "en") -> Figure:
    """Share of each tier's customers found in each tier at the next origin."""
    words = chart_words(language)
    counts = migration.groupby(["from_tier", "to_tier"])["customers"].sum().unstack(fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    fig, ax = new_figure(4.5, 4)
    image = ax.imshow(shares.to_numpy(), cmap="Greens", vmin=0, vmax=1)
    ax.set_xticks(range(len(shares.columns)), shares.columns)
    ax.set_yticks(range(len(shares.index)), shares.index)
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            value = shares.iat[i, j]
            ax.text(
                j,
                i,
                f"{value:.0%}",
                ha="center",
                va="center",
                color="white" if value > 0.6 else "black",
                fontsize=9,
            )
    ax.set_xlabel(words["next_tier"])
    ax.set_ylabel(words["this_tier"])
    ax.set_title(words["migration_title"])
    fig.colorbar(image, ax=ax, fraction=0.046)
    in_language(fig, language)
    fig.tight_layout()
    return fig


def trend_figure(trends: pd.DataFrame, value_label: str, language: Language = "en") -> Figure:
    """Customers and expected value per tier at each scoring run (`content.tier_trends`), one
    line per tier: whether the tiers fill or drain, and where the money goes."""
    words = chart_words(language)
    fig = Figure(figsize=(9, 3.2), dpi=100)
    counts, values = fig.subplots(1, 2)
    for tier, rows in trends.groupby("tier"):
        style = {
            "color": TIER_COLOURS.get(tier, "#555555"),
            "marker": "o",
            "markeredgecolor": "#333333",
            "label": tier,
        }
        counts.plot(pd.to_datetime(rows["as_of"]), rows["customers"], **style)
        values.plot(pd.to_datetime(rows["as_of"]), rows["expected_value"], **style)
    counts.set_ylabel(words["customers"])
    values.set_ylabel(value_label)
    for ax in (counts, values):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
        locator = AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    values.legend(title=words["tier"], frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(words["trend_title"])
    in_language(fig, language)
    fig.tight_layout()
    return fig
