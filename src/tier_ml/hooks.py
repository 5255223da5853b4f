"""Project hooks: a failed run ends with one line that says why, for schedulers' logs, and
tier_ml's own errors print without a traceback; a run that writes the score store holds its
lock from start to end."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType

from kedro.framework.hooks import hook_impl

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
