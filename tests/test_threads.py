"""Threads follow the operator's OMP_NUM_THREADS, else the cores the process may run on; a
user's LightGBM n_jobs wins over both."""

from __future__ import annotations

import os

import numba
import pytest

from tier_ml import treeshap
from tier_ml.features.engine import EngineTables, run_query
from tier_ml.models.propensity import lgbm_settings
from tier_ml.threads import machine_threads


@pytest.mark.parametrize(("setting", "threads"), [("3", 3), ("4,2", 4), (" 1 ", 1)])
def test_omp_num_threads_sets_the_threads(monkeypatch, setting, threads):
    monkeypatch.setenv("OMP_NUM_THREADS", setting)
    assert machine_threads() == threads


@pytest.mark.parametrize("setting", [None, "", "0", "many"])
def test_without_a_usable_setting_the_threads_are_the_cores_the_process_may_use(
    monkeypatch, setting
):
    if setting is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", setting)
    assert machine_threads() == len(os.sched_getaffinity(0))


def test_lightgbm_duckdb_and_treeshap_use_the_machines_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert lgbm_settings(None, seed=0)["n_jobs"] == 1
    threads = run_query("duckdb", "select current_setting('threads') as t", EngineTables())
    assert threads["t"].item() == 1
    with treeshap._threads(None):
        assert numba.get_num_threads() == 1


def test_a_users_n_jobs_wins(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert lgbm_settings({"n_jobs": 2}, seed=0)["n_jobs"] == 2
