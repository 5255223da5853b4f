"""MLflow runs that a year of nightly scoring does not bury.

kedro-mlflow opens one MLflow run per `kedro run` in the experiment of `mlflow.yml` (the
namespace). `MlflowRunHooks` sends the runs that only score, report or prepare data to
`<experiment>_scoring`, so the training experiment lists the runs that made or promoted
models; names each run after what it did and its date ("train 2025-12-31", "score
2025-12-31"); and tags it with the data it saw (`data_start`, `data_end`, and `as_of` when
it scores) and the git commit of the checkout it ran from (no tag outside a git checkout).
A run that an orchestrator opened before Kedro started is tagged but keeps its experiment
and name.
"""

from __future__ import annotations

import subprocess
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from mlflow.tracking import MlflowClient

# What a run is called after: the most consequential dataset it writes, first match wins.
KINDS = (
    ("train", "trained_models"),
    ("backtest", "promotion_decision"),
    ("score", "score_store"),
    ("report", "tier_report"),
    ("features", "feature_table"),
    ("ingest", "data_profile"),
)
MODEL_KINDS = frozenset({"train", "backtest"})  # they make or promote models
SCORING_SUFFIX = "_scoring"
PROFILE = "data_profile"
SCORE_STORE = "score_store"


@dataclass(frozen=True)
class RunPlan:
    """What a Kedro run does, known before it starts."""

    kind: str
    scores: bool  # it writes the score store, at `as_of`
    as_of: str | None = None  # scoring.as_of when given; otherwise the data's end

    @classmethod
    def of(cls, pipeline: Pipeline, params: Mapping[str, Any]) -> RunPlan:
        outputs = pipeline.all_outputs()
        kind = next((k for k, dataset in KINDS if dataset in outputs), "run")
        as_of = (params.get("scoring") or {}).get("as_of")
        return cls(kind, SCORE_STORE in outputs, str(as_of) if as_of else None)

    def experiment(self, training_experiment: str) -> str:
        """Runs that make or promote models stay in the training experiment; the others go
        to its `_scoring` sibling."""
        if self.kind in MODEL_KINDS:
            return training_experiment
        return training_experiment + SCORING_SUFFIX

    def name(self, profile: Mapping[str, Any] | None) -> str:
        """The kind and the scoring date ("score 2025-12-31"), or the data's end for a run
        that does not score; the kind alone while neither is known."""
        day = self.as_of or (profile or {}).get("data_end")
        return f"{self.kind} {day}" if day else self.kind

    def tags(self, profile: Mapping[str, Any] | None) -> dict[str, str]:
        """The dates of the data the run saw, and the scoring date."""
        profile = profile or {}
        tags = {k: str(profile[k]) for k in ("data_start", "data_end") if profile.get(k)}
        as_of = self.as_of or profile.get("data_end")
        if self.scores and as_of:
            tags["as_of"] = str(as_of)
        return tags


def git_commit(project_path: Path) -> str | None:
    """The commit checked out at `project_path`; None outside a git checkout (an unpacked
    release, a wheel) or without git, so that no run fails for want of one."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "HEAD"],
            cwd=project_path,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = found.stdout.strip()
    return commit if found.returncode == 0 and commit else None


def known_profile(pipeline: Pipeline, catalog: CatalogProtocol) -> dict[str, Any] | None:
    """The data profile a run reads (from an earlier ingest); None when the run ingests
    (its profile comes when saved) or there is none yet."""
    if PROFILE in pipeline.all_outputs() or PROFILE not in catalog or not catalog.exists(PROFILE):
        return None
    return catalog.load(PROFILE)


def use_experiment(config: Any, name: str) -> None:
    """Point kedro-mlflow's configuration at another experiment, created (with the
    configured arguments) or restored the way kedro-mlflow does it for `mlflow.yml`'s."""
    config.tracking.experiment.name = name
    config._set_experiment()


class MlflowRunHooks:
    """Route, name and tag each Kedro run's MLflow run (see the module docstring).

    `before_pipeline_run` wraps kedro-mlflow's: before it, the experiment and name are set
    on kedro-mlflow's configuration; after it, the run it opened is tagged. A run that
    ingests is renamed and tagged again once its data profile is saved."""

    def __init__(self) -> None:
        self._context: Any = None
        self._plan = RunPlan("run", scores=False)
        self._profile: dict[str, Any] | None = None
        self._named = False

    @hook_impl
    def after_context_created(self, context) -> None:
        self._context = context

    @hook_impl(wrapper=True)
    def before_pipeline_run(
        self, run_params: dict, pipeline: Pipeline, catalog: CatalogProtocol
    ) -> Generator[None, None, None]:
        self._plan = RunPlan.of(pipeline, self._context.params)
        self._profile = known_profile(pipeline, catalog)
        config = getattr(self._context, "mlflow", None)
        opens_run = config is not None and mlflow.active_run() is None
        self._named = opens_run and config.tracking.run.name is None
        if opens_run:
            use_experiment(config, self._plan.experiment(config.tracking.experiment.name))
        if self._named:
            config.tracking.run.name = self._plan.name(self._profile)
        result = yield
        commit = git_commit(Path(self._context.project_path))
        self._describe_run({"git_commit": commit} if commit else {})
        return result

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        if dataset_name == PROFILE:
            self._profile = data
            self._describe_run({})

    def _describe_run(self, extra: dict[str, str]) -> None:
        run = mlflow.active_run()
        if run is None:  # tracking disabled for this pipeline
            return
        mlflow.set_tags({**extra, **self._plan.tags(self._profile)})
        if self._named:
            MlflowClient().update_run(run.info.run_id, name=self._plan.name(self._profile))
