"""Report pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_report, latest_owner_lists, measure_current_value


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                measure_current_value,
                inputs=[
                    "score_store",
                    "customers",
                    "deals",
                    "activities",
                    "deal_history",
                    "params:features",
                ],
                outputs="current_value",
                name="measure_current_value",
            ),
            Node(
                latest_owner_lists,
                inputs="score_store",
                outputs="owner_lists",
                name="split_owner_lists",
            ),
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
                    "current_value",
                    "score_runs",
                    "params:report",
                    "params:features",
                ],
                outputs="tier_report",
                name="build_report",
            ),
        ]
    )
