"""Runs an operator can read unattended: no telemetry, plain log lines in a file, progress of
long loops, the outputs named at the end, tracebacks at DEBUG."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro_datasets.pandas import ParquetDataset
from kedro_mlflow.io.artifacts import MlflowArtifactDataset

import tier_ml.progress
from tests.conftest import PROJECT
from tests.test_features import ACTIVITIES, CONFIG, CUSTOMERS, DEALS
from tier_ml.features.build import build_feature_table
from tier_ml.hooks import output_locations
from tier_ml.io.scores import ScoreStoreDataset
from tier_ml.scoring import raw_contributions

PLAIN_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) [\w.]+: ")


def python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter, stdout and stderr to pipes (not a terminal), with
    neither of kedro-telemetry's opt-out variables set unless given."""
    base = {
        k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY")
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- telemetry -----------------------------------------------------------------------------

SEND_ATTEMPT = "telemetry send attempted"
KEDRO_INFO_WITH_SENDS_RECORDED = f"""
import sys, requests
def post(*args, **kwargs):
    print("{SEND_ATTEMPT}", kwargs.get("url"), flush=True)
    raise requests.exceptions.ConnectionError("no network in this test")
requests.post = post
from kedro.framework.cli import main
sys.argv = ["kedro", "info"]
main()
"""


@pytest.mark.slow
def test_telemetry_is_off_without_the_environment_variables(tmp_path):
    """The project's `.telemetry` opts out, so `uv run kedro ...` outside `make` neither asks
    nor sends (nor writes a project id into pyproject.toml). Run in a copy of the project's
    root files: an opted-in kedro would write to them."""
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(PROJECT / name, tmp_path / name)
    (tmp_path / "src").mkdir()
    (tmp_path / "home").mkdir()
    result = python(KEDRO_INFO_WITH_SENDS_RECORDED, tmp_path, HOME=str(tmp_path / "home"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Installed plugins" in output
    assert SEND_ATTEMPT not in output
    assert "anonymous usage data" not in output
    assert (tmp_path / "pyproject.toml").read_text() == (PROJECT / "pyproject.toml").read_text()


# --- plain log lines -----------------------------------------------------------------------

LOG_THROUGH_THE_PROJECT = """
import logging, warnings
from pathlib import Path
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
logging.getLogger("tier_ml.pipelines.features.nodes").warning("a long message " * 12)
warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)
"""


@pytest.mark.slow
def test_logs_to_a_file_are_plain_lines_with_time_level_and_logger():
    """Not Rich's 80-column layout: each record on one line, warnings included."""
    result = python(LOG_THROUGH_THE_PROJECT, PROJECT, DO_NOT_TRACK="1")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert all(PLAIN_LINE.match(line) for line in lines), lines
    long_message = " WARNING tier_ml.pipelines.features.nodes: " + "a long message " * 12
    assert any(line.endswith(long_message) for line in lines)
    assert any(
        " WARNING py.warnings: " in line and "a library's deprecation" in line for line in lines
    )


# --- tracebacks ----------------------------------------------------------------------------

RAISE_A_CONTRACT_ERROR = """
import logging
from pathlib import Path
import pandas as pd
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
from tier_ml.contract import ContractError, Violation
from tier_ml.hooks import FailureSummaryHooks
FailureSummaryHooks().after_context_created(None)
logging.getLogger("tier_ml").setLevel(logging.{level})
rows = pd.DataFrame({{"amount": ["x"]}})
raise ContractError([Violation("deals", "deals.csv", "amount", "is numeric", 1, rows)])
"""


@pytest.mark.slow
def test_own_errors_print_their_message_and_at_debug_a_plain_traceback():
    """With the project's plain logging and output to a file, as `kedro run` would end."""
    quiet = python(RAISE_A_CONTRACT_ERROR.format(level="INFO"), PROJECT, DO_NOT_TRACK="1")
    assert quiet.returncode == 1
    assert quiet.stderr.startswith("ContractError: deals.csv: column 'amount'")
    assert "Traceback" not in quiet.stderr

    debug = python(RAISE_A_CONTRACT_ERROR.format(level="DEBUG"), PROJECT, DO_NOT_TRACK="1")
    assert debug.returncode == 1
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert "tier_ml.contract.ContractError: deals.csv: column 'amount'" in debug.stderr
    assert not set("╭│╰") & set(debug.stderr)  # no Rich box


# --- where the outputs are -----------------------------------------------------------------


def test_the_last_line_names_the_report_the_scores_the_files_and_the_mlflow_run(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    catalog = DataCatalog(
        {
            "tier_report": MlflowArtifactDataset(
                dataset={"type": "text.TextDataset", "filepath": "data/08/tier_report.html"}
            ),
            "score_store": ScoreStoreDataset("data/07/scores", str(tmp_path / "data/07/t.duckdb")),
            "feature_table": ParquetDataset(filepath=str(tmp_path / "data/04/features.parquet")),
            "model_input": ParquetDataset(filepath="data/05/model_input.parquet"),
            "in_memory": MemoryDataset(),
        }
    )
    pipeline = Pipeline(
        [
            Node(lambda: (1, 2, 3), None, ["feature_table", "model_input", "x"], name="a"),
            Node(
                lambda *_: (1, 2, 3),
                ["feature_table", "x"],
                ["score_store", "in_memory", "tier_report"],
                name="b",
            ),
        ]
    )
    assert output_locations(catalog, pipeline, "sqlite:///mlflow.db", "abc123") == (
        "Outputs: report data/08/tier_report.html; scores data/07/scores (DuckDB "
        "data/07/t.duckdb); files in data/04, data/05; MLflow sqlite:///mlflow.db run abc123"
    )
    ingest = Pipeline([Node(lambda: 1, None, "feature_table", name="c")])
    assert output_locations(catalog, ingest, "http://mlflow:5000", None) == (
        "Outputs: files in data/04; MLflow http://mlflow:5000"
    )


def plain_or_a_warnings_source_line(lines: list[str]) -> list[bool]:
    """Each line a plain record, or the source line that Python prints under a warning."""
    record = ""
    plain = []
    for line in lines:
        record = line if PLAIN_LINE.match(line) else record
        plain.append(record == line or " WARNING py.warnings: " in record)
    return plain


@pytest.mark.slow
def test_a_kedro_run_logs_plain_lines_without_avoidable_warnings_and_ends_with_its_outputs(
    tmp_path,
):
    """A real `kedro run` in a copy of the project, its output going to files as from cron."""
    for item in ("pyproject.toml", ".telemetry", "conf", "src"):
        source = PROJECT / item
        if source.is_dir():
            shutil.copytree(source, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / item)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kedro"),
            "run",
            "--pipelines=ingest",
            "--params=ingest.synthetic.n_customers=100",
        ],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert all(plain_or_a_warnings_source_line(lines)), lines
    assert re.search(
        r"INFO tier_ml: Outputs: files in data/02_intermediate; MLflow sqlite:///\S+ "
        r"run [0-9a-f]{32}$",
        lines[-1],
    )
    warnings = [line for line in lines if " WARNING " in line]
    assert not [w for w in warnings if "register_new_resolver" in w or "Replacing dataset" in w]


# --- progress ------------------------------------------------------------------------------


@pytest.fixture
def slow_clock(monkeypatch):
    """Every clock read 4 s after the last: a progress line every third step."""
    ticks = iter(np.arange(0, 1e6, 4.0))
    monkeypatch.setattr(tier_ml.progress, "monotonic", lambda: next(ticks))


def test_long_loops_say_where_they_are_every_ten_seconds(slow_clock, caplog):
    caplog.set_level(logging.INFO, logger="tier_ml.progress")
    cutoffs = list(pd.date_range("2024-01-01", periods=7, freq="MS"))
    table = build_feature_table(CUSTOMERS, DEALS, ACTIVITIES, cutoffs, 180, CONFIG)
    assert table["as_of"].nunique() == 7
    assert [r.getMessage() for r in caplog.records] == [
        "features: cutoff 3/7 (2024-03-01)",
        "features: cutoff 6/7 (2024-06-01)",
    ]


def test_fast_loops_say_nothing(caplog):
    caplog.set_level(logging.INFO, logger="tier_ml.progress")
    assert list(tier_ml.progress.progress([1, 2, 3], "features", "cutoff", str)) == [1, 2, 3]
    assert caplog.records == []


class RowSums:
    """A stand-in propensity model: one column per feature plus a 'base value', per row."""

    features_ = ["a", "b"]

    def __init__(self) -> None:
        self.calls: list[int] = []

    def contributions(self, x: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(x))
        return np.column_stack([x.to_numpy(), x.sum(axis=1).to_numpy()])


def test_explanations_run_in_batches_with_the_same_values(slow_clock, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="tier_ml.progress")
    monkeypatch.setattr("tier_ml.scoring.EXPLAIN_BATCH_ROWS", 4)
    x = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    model = RowSums()
    np.testing.assert_array_equal(raw_contributions(model, x), RowSums().contributions(x))
    assert model.calls == [4, 4, 2]
    assert [r.getMessage() for r in caplog.records] == [
        "explanations: batch 3/3 (from customer 9 of 10)"
    ]
    assert raw_contributions(model, x.head(0)).shape == (0, 3)
