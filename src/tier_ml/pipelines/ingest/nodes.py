"""Ingest nodes: read the chosen source and enforce the data contract."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tier_ml.contract import CRMTables
from tier_ml.features.build import data_start
from tier_ml.sources.adapters import load_source

logger = logging.getLogger(__name__)


def data_profile(tables: CRMTables, source: str) -> dict[str, Any]:
    """What later pipelines (and the MLflow run's tags) need to know about the data: the
    dates it covers and its size."""
    return {
        "source": source,
        "data_start": data_start(tables.deals, tables.activities).date().isoformat(),
        "data_end": tables.data_end.date().isoformat(),
        "customers": len(tables.customers),
        "deals": len(tables.deals),
        "activities": len(tables.activities),
        "deal_history": len(tables.deal_history),
        "quarantined": len(tables.quarantine),
        "quarantined_by_reason": {f"{t}: {r}": n for (t, r), n in tables.counts.items()},
    }


def ingest_crm(
    ingest: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Load `ingest.source` into the contract tables (the deal history empty when the source
    has none); quarantined rows are counted in the log."""
    source = ingest["source"]
    tables = load_source(source, ingest.get(source) or {})
    profile = data_profile(tables, source)
    for reason, count in profile["quarantined_by_reason"].items():
        logger.warning("Quarantined %d row(s) of %s (see quarantine table)", count, reason)
    logger.info(
        "Ingested %s: %d customers, %d deals, %d activities, data end %s",
        source,
        profile["customers"],
        profile["deals"],
        profile["activities"],
        profile["data_end"],
    )
    return (
        tables.customers,
        tables.deals,
        tables.activities,
        tables.quarantine,
        profile,
        tables.deal_history,
    )
