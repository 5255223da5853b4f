"""Project pipelines: ingest -> features -> train -> backtest -> score -> report."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

ORDER = ("ingest", "features", "train", "backtest", "score", "report")


def register_pipelines() -> dict[str, Pipeline]:
    """Every pipeline found under `pipelines/`, and `__default__` running them all."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipelines[name] for name in ORDER if name in pipelines), Pipeline([])
    )
    return pipelines
