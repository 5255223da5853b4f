"""Score: every customer into a tier with reasons, at `scoring.as_of`."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
