"""Report: the self-contained HTML report for sales leadership."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
