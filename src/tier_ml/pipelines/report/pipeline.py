"""Report pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_report


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_report,
                inputs=[
                    "score_store",
                    "score_reasons",
                    "backtest_tier_table",
                    "tier_migration",
                    "quarantine",
                    "promotion_record",
                    "champion_selection",
                    "model_metrics",
                    "score_drift",
                    "model_card",
                    "params:report",
                    "params:features",
                ],
                outputs="tier_report",
                name="build_report",
            ),
        ]
    )
