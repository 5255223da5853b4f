"""Project hooks: a failed run ends with one line that says why, for schedulers' logs."""

from __future__ import annotations

import logging
import sys

from kedro.framework.hooks import hook_impl

logger = logging.getLogger("tier_ml")


def one_line_reason(error: BaseException) -> str:
    """`tier_ml run failed: ExceptionType: first line of its message`."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"tier_ml run failed: {type(error).__name__}" + (f": {first}" if first else "")


class FailureSummaryHooks:
    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict, pipeline, catalog) -> None:
        """Written plainly to stderr too, so that no log formatter wraps it."""
        line = one_line_reason(error)
        logger.error(line)
        print(line, file=sys.stderr, flush=True)
