"""Score pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import score_all


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                score_all,
                inputs=[
                    "customers",
                    "deals",
                    "activities",
                    "data_profile",
                    "promotion_decision",
                    "scoring_models",
                    "score_history",
                    "params:scoring",
                    "params:features",
                    "params:train",
                ],
                outputs=["score_store", "scoring_summary"],
                name="score_customers",
            ),
        ]
    )
