"""Sources: the synthetic CRM's shape and determinism, and the real-data adapters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import PROJECT, base_parameters, env_config
from tier_ml.contract import ContractError
from tier_ml.sources.adapters import load_source
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm, hidden_quality

SPEC = SyntheticSpec(n_customers=1500, seed=3)


@pytest.fixture(scope="module")
def crm():
    return generate_crm(SPEC)


def test_synthetic_is_reproducible_from_its_seed(crm):
    again = generate_crm(SPEC)
    for left, right in zip(crm, again, strict=True):
        pd.testing.assert_frame_equal(left, right)
    other = generate_crm(SyntheticSpec(n_customers=1500, seed=4))[1]
    assert not other["amount"].head(100).equals(crm[1]["amount"].head(100))


def test_synthetic_has_a_realistic_b2b_shape(crm):
    customers, deals, activities = crm
    assert set(deals["status"]) == {"won", "lost", "open"}
    assert 4 < len(deals) / len(customers) < 10
    assert deals.loc[deals["status"] == "open", "closed_at"].isna().all()
    cycle = (deals["closed_at"] - deals["created_at"]).dt.days.dropna()
    assert 14 <= cycle.median() <= 90  # weeks to months
    assert set(activities["type"]) == {"web_visit", "download", "meeting", "call", "email", "event"}
    assert customers["industry"].isna().any() and customers["employees"].isna().any()
    # bigger customers spend more per deal
    size = deals.merge(customers[["customer_id", "employees"]], on="customer_id")
    assert np.corrcoef(np.log(size["employees"].fillna(50)), np.log(size["amount"]))[0, 1] > 0.3
    # new customers keep arriving through the window
    start = pd.Timestamp(SPEC.end_date) - pd.Timedelta(days=365 * SPEC.years)
    assert (customers["created_at"] > start).mean() > 0.2


def test_hidden_quality_drives_outcomes_but_no_column_gives_it_away(crm):
    customers, deals, _ = crm
    quality = hidden_quality(SPEC)
    won = deals[deals["status"] == "won"].groupby("customer_id").size()
    won = won.reindex(quality.index, fill_value=0)
    assert quality.corr(np.log1p(won), method="spearman") > 0.4
    numeric = customers.set_index("customer_id")[["employees", "annual_revenue"]]
    for column in numeric:
        assert abs(quality.corr(numeric[column], method="spearman")) < 0.2


def test_engagement_rises_before_purchases(crm):
    _, deals, activities = crm
    won = deals[deals["status"] == "won"]
    acts = activities.merge(won[["customer_id", "closed_at"]], on="customer_id")
    lead = (acts["closed_at"] - acts["occurred_at"]).dt.days
    just_before = lead.between(0, 29).sum()
    # what the same customers would show in any 30 days at their own average pace
    days_seen = activities.groupby("customer_id")["occurred_at"].agg(
        lambda s: (s.max() - s.min()).days + 1
    )
    pace = activities.groupby("customer_id").size() / days_seen
    usual = (won["customer_id"].map(pace).fillna(0) * 30).sum()
    assert just_before > 1.5 * usual


def test_cdnow_purchases_become_won_deals(shared_data):
    params = base_parameters("ingest")["ingest"]["cdnow"]
    params = {**params, "path": shared_data / "cdnow" / "CDNOW_master.txt"}
    tables = load_source("cdnow", params)
    assert len(tables.customers) == 23_570 and len(tables.deals) == 69_659
    assert (tables.deals["status"] == "won").all()
    assert (tables.deals["created_at"] == tables.deals["closed_at"]).all()
    assert tables.data_end == pd.Timestamp("1998-06-30")
    assert tables.deals["amount"].sum() == pytest.approx(2_500_315.63, rel=1e-6)


def test_maven_crm_quirks_are_handled(shared_data):
    params = {
        **base_parameters("ingest")["ingest"]["maven_crm"],
        "folder": shared_data / "maven_crm",
    }
    tables = load_source("maven_crm", params)
    assert len(tables.customers) == 85
    assert len(tables.deals) + len(tables.quarantine) == 8_800
    assert tables.counts == {("deals", "customer_id is missing"): 1_425}
    assert "technolgy" not in set(tables.customers["industry"])
    assert tables.deals["status"].value_counts().to_dict() == {
        "won": 4_238,
        "lost": 2_473,
        "open": 664,
    }
    assert tables.deals["created_at"].notna().all()


def test_maven_amounts_do_not_tell_the_outcome(shared_data):
    """Every deal is priced at its product's list price: a lost deal's amount is not 0."""
    params = {
        **base_parameters("ingest")["ingest"]["maven_crm"],
        "folder": shared_data / "maven_crm",
    }
    deals = load_source("maven_crm", params).deals
    assert deals["amount"].gt(0).all()
    per_product = deals.groupby("product")["amount"].nunique()
    assert per_product.eq(1).all()


def test_the_worked_crm_export_example_runs_in_its_own_environment(monkeypatch):
    monkeypatch.chdir(PROJECT)
    params = env_config("example_crm")["ingest"]
    assert params["source"] == "crm_export"
    tables = load_source("crm_export", params["crm_export"])
    assert len(tables.customers) == 150
    assert set(tables.deals["status"]) == {"won", "lost", "open"}
    assert {"José Müller", "Zoë Brontë"} <= set(tables.customers["owner"])
    assert tables.deals["amount"].min() > 0 and tables.deals["amount"].dtype == "float64"
    assert set(tables.activities["type"]) >= {"meeting", "web_visit"}
    # no data_end_date given: the end is the export's latest record, not a shipped constant
    latest = max(tables.deals["closed_at"].max(), tables.activities["occurred_at"].max())
    assert tables.data_end == latest == pd.Timestamp("2025-12-30")


def write_contract_export(folder: Path) -> dict[str, Path]:
    """An export in the contract's own words: its column names and stage words, commas, UTF-8
    (names beyond ASCII), a "." decimal point and ISO dates."""
    files = {
        "customers": "customer_id,created_at,industry,employees,annual_revenue,owner\n"
        "A,2024-01-05,Software,120,1500000.5,Zoë\n"
        "B,2024-03-01,Retail,40,,José\n",
        "deals": "deal_id,customer_id,created_at,closed_at,status,amount,product\n"
        "d1,A,2024-02-01,2024-03-15,won,1234.5,Core\n"
        "d2,A,2024-04-01,2024-05-02,lost,800,Core\n"
        "d3,B,2024-06-01,,open,99.9,Analytics\n",
        "activities": "customer_id,occurred_at,type\n"
        "A,2024-01-20T10:00:00Z,meeting\n"
        "B,2024-06-20,email\n",
    }
    paths = {}
    for table, text in files.items():
        paths[table] = folder / f"{table}.csv"
        paths[table].write_text(text, encoding="utf-8")
    return paths


def test_a_contract_named_export_needs_only_its_three_paths(tmp_path):
    """The shipped defaults read the contract's own shape: nothing to map or declare."""
    paths = write_contract_export(tmp_path)
    params = {
        **base_parameters("ingest")["ingest"]["crm_export"],
        "customers_path": str(paths["customers"]),
        "deals_path": str(paths["deals"]),
        "activities_path": str(paths["activities"]),
    }
    tables = load_source("crm_export", params, today=pd.Timestamp("2025-01-01"))
    assert tables.customers["owner"].tolist() == ["Zoë", "José"]
    assert tables.customers["annual_revenue"].tolist()[0] == 1_500_000.5
    assert tables.deals["status"].tolist() == ["won", "lost", "open"]
    assert tables.deals["amount"].tolist() == [1234.5, 800.0, 99.9]
    assert tables.deals["closed_at"].tolist()[0] == pd.Timestamp("2024-03-15")
    assert tables.activities["occurred_at"].tolist() == [
        pd.Timestamp("2024-01-20 10:00"),
        pd.Timestamp("2024-06-20"),
    ]
    assert tables.quarantine.empty and tables.data_end == pd.Timestamp("2024-06-20")


def test_crm_export_paths_that_are_not_set_are_named():
    with pytest.raises(ValueError, match="ingest.crm_export.customers_path is not set"):
        load_source("crm_export", base_parameters("ingest")["ingest"]["crm_export"])


def test_unknown_source_is_named():
    with pytest.raises(ValueError, match="ingest.source is 'salesforce'"):
        load_source("salesforce", {})


def test_crm_export_parquet_keeps_its_types_beside_csv_settings(tmp_path):
    """A Parquet deals file beside CSV accounts: float ids match, the CSV decimal is not applied."""
    (tmp_path / "accounts.csv").write_text("id;name\n1;Acme\n2;Beta\n")
    pd.DataFrame(
        {
            "deal_id": ["d1", "d2"],
            "customer_id": [1.0, 2.0],
            "created_at": ["2025-01-01", "2025-01-02"],
            "status": ["open", "open"],
            "amount": [100.0, 1234.5],
        }
    ).to_parquet(tmp_path / "deals.parquet")
    params = {
        "customers_path": tmp_path / "accounts.csv",
        "deals_path": tmp_path / "deals.parquet",
        "csv": {"sep": ";", "decimal": ","},
        "columns": {"customers": {"customer_id": "id"}},
        "data_end_date": "2025-12-31",
    }
    tables = load_source("crm_export", params)
    assert tables.deals["customer_id"].tolist() == ["1", "2"] and tables.quarantine.empty
    assert tables.deals["amount"].tolist() == [100.0, 1234.5]


def test_crm_export_quarantine_share_is_a_parameter(tmp_path):
    (tmp_path / "accounts.csv").write_text("customer_id\nA\n")
    (tmp_path / "deals.csv").write_text(
        "deal_id,customer_id,created_at,status,amount\nd1,A,2025-01-01,open,1\nd2,B,2025-01-01,open,1\n"
    )
    params = {
        "customers_path": tmp_path / "accounts.csv",
        "deals_path": tmp_path / "deals.csv",
        "data_end_date": "2025-12-31",
    }
    with pytest.raises(ContractError, match="max_quarantine_share"):
        load_source("crm_export", params)
    tables = load_source("crm_export", {**params, "max_quarantine_share": 0.5})
    assert tables.counts == {("deals", "unknown customer"): 1}
