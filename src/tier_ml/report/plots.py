"""Matplotlib figures for MLflow and the report: small, labelled, readable when printed.

Figures are built without pyplot, so no backend is chosen here: files are written through
the figure's own canvas, and a notebook shows them inline.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure


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


def lift_figure(table: pd.DataFrame, method: str = "model") -> Figure:
    """Realised win-rate lift by tier at each origin: tiers should fall from A to D."""
    rows = table[table["method"] == method]
    pivot = rows.pivot(index="origin", columns="tier", values="lift").sort_index()
    fig, ax = new_figure(7, 3.5)
    pivot.index = [pd.Timestamp(o).date().isoformat() for o in pivot.index]
    pivot.plot.bar(ax=ax, color=[TIER_COLOURS.get(t, "#555555") for t in pivot.columns], width=0.8)
    ax.axhline(1.0, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_ylabel("win rate, × the average")
    ax.set_xlabel("origin")
    ax.set_title(f"How often each tier bought, against the average ({method})")
    ax.tick_params(axis="x", labelrotation=0)
    ax.legend(title="tier", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def calibration_by_tier_figure(table: pd.DataFrame, method: str = "model") -> Figure:
    """Mean predicted win probability against the realised rate, per tier and origin."""
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
    ax.set_xlabel("mean predicted win probability")
    ax.set_ylabel("realised win rate")
    ax.set_title("Predicted against realised win rate, by tier")
    ax.legend(title="tier", frameon=False)
    fig.tight_layout()
    return fig


def migration_figure(migration: pd.DataFrame) -> Figure:
    """Share of each tier's customers found in each tier at the next origin."""
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
    ax.set_xlabel("tier at the next origin")
    ax.set_ylabel("tier at this origin")
    ax.set_title("Tier migration")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
