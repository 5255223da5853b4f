"""Backtest pipeline wiring. The promotion gate runs when the train pipeline ran with it."""

from kedro.pipeline import Node, Pipeline

from .nodes import backtest_figures, promotion_gate, replay_backtest, summarise_backtest


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                replay_backtest,
                inputs=[
                    "customers",
                    "deals",
                    "activities",
                    "data_profile",
                    "params:backtest",
                    "params:features",
                    "params:train",
                    "params:scoring",
                ],
                outputs=["backtest_tiers", "backtest_cutoffs"],
                name="replay_backtest",
            ),
            Node(
                summarise_backtest,
                inputs="backtest_tiers",
                outputs=[
                    "backtest_tier_table",
                    "backtest_overall",
                    "tier_migration",
                    "tier_dwell",
                    "backtest_metrics",
                ],
                name="summarise_backtest",
            ),
            Node(
                backtest_figures,
                inputs=["backtest_tier_table", "tier_migration"],
                outputs=["backtest_lift_plot", "backtest_calibration_plot", "tier_migration_plot"],
                name="backtest_figures",
            ),
            Node(
                promotion_gate,
                inputs=[
                    "candidate_models",
                    "champion_models",
                    "model_input_table",
                    "training_summary",
                    "params:backtest",
                    "params:features",
                    "params:scoring",
                ],
                outputs=["promotion_decision", "promotion_record", "gate_metrics"],
                name="promotion_gate",
            ),
        ]
    )
