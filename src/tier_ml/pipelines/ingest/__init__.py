"""Ingest: the chosen source into the data contract, with a quarantine of rows set aside."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
