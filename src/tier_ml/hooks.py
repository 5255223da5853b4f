"""Project hooks: a failed run ends with one line that says why, for schedulers' logs, and
tier_ml's own errors print without a traceback; a run that writes the score store holds its
lock from start to end."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, DataCatalog
from kedro.pipeline import Pipeline

from tier_ml.io.scores import ScoreStoreDataset

logger = logging.getLogger("tier_ml")


def one_line_reason(error: BaseException) -> str:
    """`tier_ml run failed: ExceptionType: first line of its message`."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"tier_ml run failed: {type(error).__name__}" + (f": {first}" if first else "")


Excepthook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def is_own_error(error: BaseException) -> bool:
    """tier_ml raises its own exception classes (a contract error, a locked store) for what a
    user can fix; their message says all, where a traceback helps only with a bug."""
    return any(type(e).__module__.startswith("tier_ml.") for e in (error, error.__cause__) if e)


def plain_own_errors(fallback: Excepthook) -> Excepthook:
    """An excepthook that prints tier_ml's own errors as their message alone, unless the
    `tier_ml` logger is at DEBUG, and hands every other error to `fallback`."""

    def excepthook(kind, error, traceback) -> None:
        if is_own_error(error) and not logger.isEnabledFor(logging.DEBUG):
            print(f"{kind.__name__}: {error}", file=sys.stderr, flush=True)
        else:
            fallback(kind, error, traceback)

    excepthook.plain_own_errors = True
    return excepthook


class FailureSummaryHooks:
    @hook_impl
    def after_context_created(self, context) -> None:
        """Kedro's Rich logging prints any uncaught error inside a long traceback."""
        if not getattr(sys.excepthook, "plain_own_errors", False):
            sys.excepthook = plain_own_errors(sys.excepthook)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict, pipeline, catalog) -> None:
        """Written plainly to stderr too, so that no log formatter wraps it."""
        line = one_line_reason(error)
        logger.error(line)
        print(line, file=sys.stderr, flush=True)


class ScoreStoreLockHooks:
    """A second run that writes the same score store fails when it starts (or waits, with
    `wait_for_lock`) instead of reading the same previous tiers and racing this one."""

    def __init__(self) -> None:
        self._held = ExitStack()

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens a run that would be left open
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        for name in sorted(pipeline.all_outputs()):
            if isinstance(dataset := catalog.get(name), ScoreStoreDataset):
                self._held.enter_context(dataset.lock())

    @hook_impl
    def after_pipeline_run(self, run_params: dict, run_result, pipeline, catalog) -> None:
        self._held.close()

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict, pipeline, catalog) -> None:
        self._held.close()


REPORT = "tier_report"


def _shown(path: str | Path) -> str:
    """Relative to the directory the run started in (the project root) when under it."""
    full = Path(path).resolve()
    return str(full.relative_to(Path.cwd())) if full.is_relative_to(Path.cwd()) else str(full)


def _file(dataset: AbstractDataset | None) -> str | None:
    """Where a dataset keeps its data, from Kedro's own description of it (what its repr
    shows); None for datasets in memory or in MLflow only."""
    if dataset is None:
        return None
    description = dataset._describe()
    path = description.get("filepath") or description.get("path")
    return str(path) if path else None


def output_locations(
    catalog: DataCatalog, pipeline: Pipeline, tracking_uri: str, run_id: str | None
) -> str:
    """One line naming where a run's outputs are: the report, the score store, the folders
    of its other files, and its MLflow run; paths as the catalog resolved them."""
    report, scores, folders = [], [], set()
    for name in sorted(pipeline.all_outputs()):
        dataset = catalog.get(name)
        if isinstance(dataset, ScoreStoreDataset):
            store = dataset._describe()
            scores.append(f"scores {_shown(store['path'])} (DuckDB {_shown(store['duckdb_path'])})")
        elif path := _file(dataset):
            if name == REPORT:
                report.append(f"report {_shown(path)}")
            else:
                folders.add(_shown(Path(path).parent))
    files = [f"files in {', '.join(sorted(folders))}"] if folders else []
    run = f"MLflow {tracking_uri}" + (f" run {run_id}" if run_id else "")
    return "Outputs: " + "; ".join([*report, *scores, *files, run])


class RunOutputsHooks:
    """A run read in a cron log says at its end where to look."""

    @hook_impl(trylast=True)  # after kedro-mlflow has ended the run, so the line comes last
    def after_pipeline_run(self, run_params: dict, run_result, pipeline, catalog) -> None:
        run = mlflow.last_active_run()
        logger.info(
            "%s",
            output_locations(
                catalog, pipeline, mlflow.get_tracking_uri(), run.info.run_id if run else None
            ),
        )
