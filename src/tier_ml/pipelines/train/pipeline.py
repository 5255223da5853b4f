"""Train pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_model_input,
    cold_start_pool,
    describe_models,
    drift_reference,
    evaluate_models,
    fit_models,
    models_to_register,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_model_input,
                inputs=[
                    "feature_table",
                    "customers",
                    "deals",
                    "deal_history",
                    "params:features",
                    "params:train",
                ],
                outputs="model_input_table",
                name="build_model_input",
            ),
            Node(
                fit_models,
                inputs=[
                    "model_input_table",
                    "feature_table",
                    "deals",
                    "deal_history",
                    "champion_models",
                    "params:features",
                    "params:train",
                ],
                outputs=["trained_models", "training_summary", "candidate_predictions"],
                name="fit_models",
            ),
            Node(
                evaluate_models,
                inputs=["trained_models", "candidate_predictions"],
                outputs=[
                    "model_metrics",
                    "train_metrics",
                    "reliability_plot",
                    "champion_selection",
                ],
                name="evaluate_models",
            ),
            Node(
                models_to_register,
                inputs=[
                    "trained_models",
                    "model_input_table",
                    "feature_table",
                    "deals",
                    "params:features",
                    "params:scoring",
                    "params:train",
                    "cold_start_pool",
                ],
                outputs="candidate_models@estimators",
                name="register_models",
            ),
            Node(
                drift_reference,
                inputs=[
                    "trained_models",
                    "model_input_table",
                    "params:features",
                    "params:scoring",
                    "params:train",
                    "cold_start_pool",
                ],
                outputs="drift_reference",
                name="drift_reference",
            ),
            Node(
                cold_start_pool,
                inputs=[
                    "trained_models",
                    "model_input_table",
                    "candidate_predictions",
                    "params:features",
                ],
                outputs="cold_start_pool",
                name="cold_start_pool",
            ),
            Node(
                describe_models,
                inputs=[
                    "data_profile",
                    "trained_models",
                    "candidate_models@versions",
                    "params:features",
                    "params:train",
                ],
                outputs=["model_card", "model_card_markdown"],
                name="model_card",
            ),
        ]
    )
