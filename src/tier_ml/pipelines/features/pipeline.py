"""Features pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_training_features


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_training_features,
                inputs=[
                    "customers",
                    "deals",
                    "activities",
                    "data_profile",
                    "params:features",
                    "deal_history",
                    "params:train",
                ],
                outputs="feature_table",
                name="build_training_features",
            )
        ]
    )
