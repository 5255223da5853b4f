"""Backtest pipeline wiring. The promotion gate runs after registration when the train
pipeline runs with it."""

from kedro.pipeline import Node, Pipeline

from .nodes import backtest_figures, promotion_gate, summarise_backtest, tier_backtest


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                tier_backtest,
                inputs=[
                    "candidate_predictions",
                    "model_input_table",
                    "cold_start_pool",
                    "champion_selection",
                    "params:features",
                    "params:scoring",
                ],
                outputs=["backtest_tiers", "backtest_cutoffs"],
                name="tier_backtest",
            ),
            Node(
                summarise_backtest,
                inputs=["backtest_tiers", "champion_selection"],
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
                inputs=["backtest_tier_table", "tier_migration", "champion_selection"],
                outputs=["backtest_lift_plot", "backtest_calibration_plot", "tier_migration_plot"],
                name="backtest_figures",
            ),
            Node(
                promotion_gate,
                inputs=["candidate_models@versions", "champion_selection"],
                outputs=["promotion_decision", "promotion_record", "gate_metrics"],
                name="promotion_gate",
            ),
        ]
    )
