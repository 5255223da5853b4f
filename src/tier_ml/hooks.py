"""Project hooks: a failed run ends with one line that says why, for schedulers' logs."""

from __future__ import annotations

import logging

from kedro.framework.hooks import hook_impl

logger = logging.getLogger("tier_ml")


def one_line_reason(error: BaseException) -> str:
    """`ExceptionType: first line of its message`."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


class FailureSummaryHooks:
    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict, pipeline, catalog) -> None:
        logger.error("tier_ml run failed: %s", one_line_reason(error))
