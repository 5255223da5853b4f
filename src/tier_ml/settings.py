"""Kedro project settings. kedro-mlflow registers its hooks through its entry point."""

import os

from kedro.config import OmegaConfigLoader

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `${env:NAME,default}` in any config file: lets MLFLOW_TRACKING_URI override mlflow.yml.
    "custom_resolvers": {"env": lambda name, default=None: os.environ.get(name, default)},
    # an environment (conf/cdnow, conf/maven_crm) overrides single keys, not whole sections
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}

from tier_ml.hooks import FailureSummaryHooks, ScoreStoreLockHooks  # noqa: E402

HOOKS = (FailureSummaryHooks(), ScoreStoreLockHooks())
