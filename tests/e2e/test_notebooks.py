"""The data scientists' notebooks run top to bottom on the default pipeline's outputs."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = ["01_data_and_features", "02_model_diagnostics", "03_backtest_review"]
# a cell that draws: it must show its figures inline (no backend forced to Agg on import)
PLOTTING = re.compile(r"plt\.show\(\)|_figure\(|_plot\(")


def images(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(project_run, name, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project_run / 'mlflow.db'}")
    folder = project_run / "notebooks"
    notebook = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    errors = [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert errors == []
    plotting = [c for c in notebook.cells if c.cell_type == "code" and PLOTTING.search(c.source)]
    blank = [c.source.splitlines()[0] for c in plotting if images(c) == 0]
    assert blank == [], f"plotting cells without an image: {blank}"


def test_kedro_viz_build(project_run):
    from tests.e2e.conftest import kedro

    result = kedro(project_run, "viz", "build")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (project_run / "build" / "index.html").exists()
