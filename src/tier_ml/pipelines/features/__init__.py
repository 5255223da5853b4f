"""Features: point-in-time features and labels at the training cutoffs."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
