"""Matplotlib figures for MLflow and the report: small, labelled, readable when printed."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def reliability_figure(tables: dict[str, pd.DataFrame], title: str) -> Figure:
    """Predicted against observed win rate per probability bin, one line per method."""
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
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
    plt.close(fig)
    return fig
