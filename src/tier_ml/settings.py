"""Kedro project settings. kedro-mlflow registers its hooks through its entry point."""

import logging
import os
import warnings

from kedro.config import OmegaConfigLoader

from tier_ml.namespace import data_root

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `${env:NAME,default}` in any config file: lets MLFLOW_TRACKING_URI override mlflow.yml.
    # `${data_root:${globals:namespace}}` in the catalog: the namespace's data folder.
    "custom_resolvers": {
        "env": lambda name, default=None: os.environ.get(name, default),
        "data_root": data_root,
    },
    # an environment (conf/cdnow, conf/maven_crm) overrides single keys, not whole sections
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}

# Python warnings become log lines (time, level, logger) like the rest of the run; Kedro's
# default Rich handler did this, the plain handler of conf/logging.yml does not.
logging.captureWarnings(True)
# kedro 1.7 and kedro-mlflow 2.0 register resolvers through omegaconf 2.4's deprecated
# `register_new_resolver` on every run: nothing a user of tier_ml can act on.
warnings.filterwarnings(
    "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
)

from tier_ml.hooks import (  # noqa: E402
    FailureSummaryHooks,
    RunOutputsHooks,
    ScoreStoreLockHooks,
)
from tier_ml.tracking import MlflowRunHooks  # noqa: E402

HOOKS = (FailureSummaryHooks(), ScoreStoreLockHooks(), MlflowRunHooks(), RunOutputsHooks())
"""Project hooks: a failed run ends with one line that says why, for schedulers' logs, and
tier_ml's own errors print without a traceback; a run that writes the score store holds its
lock from start to end; MLflow runs are named, tagged and routed by kind (training or
scoring); a run that succeeds ends with one line that says where its outputs
are."""
