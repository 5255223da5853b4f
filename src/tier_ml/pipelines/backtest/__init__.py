"""Backtest: rolling-origin replays of the tiers, tier dynamics and the promotion gate."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
