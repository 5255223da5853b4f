"""Train: propensity, LTV, opportunity and segment models, baselines, MLflow registration."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
