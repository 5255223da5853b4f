"""Ingest pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import ingest_crm


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                ingest_crm,
                inputs="params:ingest",
                outputs=[
                    "customers",
                    "deals",
                    "activities",
                    "quarantine",
                    "data_profile",
                    "deal_history",
                ],
                name="ingest_crm",
            )
        ]
    )
