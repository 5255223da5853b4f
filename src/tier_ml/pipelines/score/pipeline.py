"""Score pipeline wiring. Scoring takes the champion versions (saved by the promotion gate) and
the candidate versions (saved by registration), so it runs after both in any combination."""

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
                    "deal_history",
                    "data_profile",
                    "promotion_decision",
                    "candidate_models@versions",
                    "scoring_models",
                    "score_history",
                    "score_distributions",
                    "params:scoring",
                    "params:features",
                    "params:train",
                ],
                outputs=["score_store", "scoring_summary", "drift_metrics"],
                name="score_customers",
            ),
        ]
    )
