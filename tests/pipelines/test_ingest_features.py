"""The ingest and features pipelines wired by Kedro, on a bare DataCatalog."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from tests.conftest import PROJECT, base_parameters, env_config
from tier_ml.contract import ContractError
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline


def _catalog(ingest: dict) -> DataCatalog:
    features = base_parameters("features")["features"]
    features["cutoffs"] = {"count": 3, "step_months": 1}
    return DataCatalog(
        {
            "params:ingest": MemoryDataset(ingest),
            "params:features": MemoryDataset(features),
            "params:train": MemoryDataset(base_parameters("train")["train"]),
        }
    )


def test_synthetic_ingest_and_features_end_to_end():
    ingest = base_parameters("ingest")["ingest"]
    ingest["synthetic"]["n_customers"] = 300
    pipeline = ingest_pipeline() + features_pipeline()
    catalog = _catalog(ingest)
    outputs = SequentialRunner().run(pipeline, catalog)
    table = outputs["feature_table"].load()
    assert table["as_of"].nunique() == 3
    assert table["customer_id"].nunique() <= 300
    assert table["won_any"].dtype == bool and 0.05 < table["won_any"].mean() < 0.95
    # data end is declared by the synthetic source: every label window is complete
    horizon = pd.Timedelta(days=180)
    assert (table["as_of"] + horizon <= pd.Timestamp("2025-12-31")).all()


@pytest.mark.parametrize("source", ["synthetic", "crm_export", "cdnow", "maven_crm"])
def test_every_source_runs_through_ingest_and_features(source, shared_data, monkeypatch):
    monkeypatch.chdir(PROJECT)  # the shipped parameters use paths relative to the project
    # crm_export ships no data: its worked example is the example_crm environment's
    params = env_config("example_crm") if source == "crm_export" else base_parameters("ingest")
    ingest = params["ingest"]
    ingest["source"] = source
    ingest["synthetic"]["n_customers"] = 300
    outputs = SequentialRunner().run(ingest_pipeline() + features_pipeline(), _catalog(ingest))
    table = outputs["feature_table"].load()
    assert table["as_of"].nunique() == 3 and len(table) > 0
    assert {"won_any", "won_revenue", "days_since_last_won"} <= set(table.columns)


def test_bad_input_stops_the_run_with_the_contract_error(tmp_path, monkeypatch):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("customer_id\nA\n")
    deals = tmp_path / "deals.csv"
    deals.write_text("deal_id,customer_id,created_at,status,amount\nd1,A,2025-01-01,won,5\n")
    ingest = {
        "source": "crm_export",
        "crm_export": {
            "customers_path": str(accounts),
            "deals_path": str(deals),
            "data_end_date": "2025-12-31",
        },
    }
    with pytest.raises(ContractError, match="closed_at is set when status is won or lost"):
        SequentialRunner().run(ingest_pipeline(), _catalog(ingest))
