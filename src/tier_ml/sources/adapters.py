"""One adapter per source: each reads its files (or generates data) into raw contract tables.

Adapters are the project's only readers of raw input, because which files exist and how they
are written depends on the source chosen in `ingest.source`; every error they raise names
the file. Everything downstream goes through the Kedro catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tier_ml.contract import CRMTables, ParseOptions, RawTable, enforce_contract
from tier_ml.sources.files import CsvOptions, read_raw_table
from tier_ml.sources.presets import with_preset
from tier_ml.sources.synthetic import SyntheticSpec, generate_crm


@dataclass(frozen=True)
class SourceTables:
    """Raw tables of one source and how to parse them."""

    customers: RawTable
    deals: RawTable
    activities: RawTable | None
    options: ParseOptions
    deal_history: RawTable | None = None


def _options(params: Mapping[str, Any], **defaults: Any) -> ParseOptions:
    names = {f.name for f in fields(ParseOptions)}
    merged = {**defaults, **{k: v for k, v in params.items() if k in names and v is not None}}
    if "numeric_attributes" in merged:
        merged["numeric_attributes"] = tuple(merged["numeric_attributes"])
    return ParseOptions(**merged)


def synthetic_source(params: Mapping[str, Any]) -> SourceTables:
    """The embedded default: a seeded synthetic CRM, generated in memory on every run."""
    spec = SyntheticSpec(**params)
    customers, deals, activities = generate_crm(spec)
    origin = f"<synthetic seed={spec.seed} n_customers={spec.n_customers}>"
    return SourceTables(
        RawTable("customers", origin, customers),
        RawTable("deals", origin, deals),
        RawTable("activities", origin, activities),
        ParseOptions(data_end_date=spec.end_date),
    )


def _required_path(params: Mapping[str, Any], name: str, what: str) -> str:
    """A path the export cannot do without; unset (the shipped default), the key is named."""
    path = params.get(f"{name}_path")
    if not path:
        raise ValueError(f"ingest.crm_export.{name}_path is not set: point it at your {what}")
    return path


def crm_export_source(params: Mapping[str, Any]) -> SourceTables:
    """The user's own CRM export: CSV or Parquet files, a column mapping and a status mapping
    (a vendor's `preset` under the user's own keys); optionally activities and a deal history
    (field changes, e.g. OpportunityFieldHistory)."""
    params = with_preset(params)
    csv = CsvOptions(**params.get("csv", {}))
    columns = params.get("columns", {})

    def read(name: str, path: str) -> RawTable:
        return read_raw_table(name, path, columns.get(name), csv)

    def optional(name: str) -> RawTable | None:
        path = params.get(f"{name}_path")
        return read(name, path) if path else None

    return SourceTables(
        read("customers", _required_path(params, "customers", "accounts export")),
        read("deals", _required_path(params, "deals", "opportunities export")),
        optional("activities"),
        _options(params),
        optional("deal_history"),
    )


def cdnow_source(params: Mapping[str, Any]) -> SourceTables:
    """CDNOW purchases: each order a won deal created and closed on its date."""
    path = Path(params["path"])
    orders = pd.read_csv(path, sep=r"\s+", dtype="str")
    orders.columns = ["customer_id", "date", "number_of_cds", "dollar_value"]
    first = orders.groupby("customer_id", sort=True)["date"].min()
    customers = pd.DataFrame({"customer_id": first.index, "created_at": first.to_numpy()})
    deals = pd.DataFrame(
        {
            "deal_id": orders["customer_id"]
            + "-"
            + pd.Series(np.arange(len(orders)), dtype="int64").astype("str"),
            "customer_id": orders["customer_id"],
            "created_at": orders["date"],
            "closed_at": orders["date"],
            "status": "won",
            "amount": orders["dollar_value"],
            "quantity": orders["number_of_cds"],
        }
    )
    return SourceTables(
        RawTable("customers", str(path), customers),
        RawTable("deals", str(path), deals),
        None,
        _options(params, date_format="%Y%m%d"),
    )


MAVEN_STATUS = {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}


def _maven_amounts(pipeline: pd.DataFrame, products: pd.DataFrame) -> pd.Series:
    """Every deal is priced at its product's list price, whatever its outcome.

    The export's `close_value` is written at the close (0 on every lost deal), so an amount
    taken from it would tell an open deal's outcome before it happens.
    """

    def key(values: pd.Series) -> pd.Series:
        return values.str.casefold().str.replace(" ", "", regex=False)

    price = products.assign(key=key(products["product"])).set_index("key")["sales_price"]
    return key(pipeline["product"]).map(price)


def maven_crm_source(params: Mapping[str, Any]) -> SourceTables:
    """Maven Analytics CRM: accounts, opportunities (Engaging/Prospecting are open deals)."""
    folder = Path(params["folder"])
    accounts = read_raw_table(
        "customers",
        folder / "accounts.csv",
        {
            "customer_id": "account",
            "industry": "sector",
            "annual_revenue": "revenue",
            "region": "office_location",
        },
    )
    pipeline = read_raw_table("deals", folder / "sales_pipeline.csv")
    products = pd.read_csv(folder / "products.csv", dtype="str")
    raw = pipeline.frame
    undated = raw["engage_date"].isna() & raw["deal_stage"].eq("Prospecting")
    export_day = raw["engage_date"].dropna().max()
    deals = pd.DataFrame(
        {
            "deal_id": raw["opportunity_id"],
            "customer_id": raw["account"],
            # Prospects not yet engaged have no date: they are known on the export's last day.
            "created_at": raw["engage_date"].where(~undated, export_day),
            "closed_at": raw["close_date"],
            "status": raw["deal_stage"],
            "amount": _maven_amounts(raw, products),
            "product": raw["product"],
            "owner": raw["sales_agent"],
            "stage": raw["deal_stage"],
        }
    )
    return SourceTables(
        accounts,
        RawTable("deals", pipeline.source_file, deals),
        None,
        _options(
            params,
            status_map=MAVEN_STATUS,
            numeric_attributes=("employees", "annual_revenue", "year_established"),
        ),
    )


SOURCES: dict[str, Callable[[Mapping[str, Any]], SourceTables]] = {
    "synthetic": synthetic_source,
    "crm_export": crm_export_source,
    "cdnow": cdnow_source,
    "maven_crm": maven_crm_source,
}


def load_source(
    source: str, params: Mapping[str, Any], today: pd.Timestamp | None = None
) -> CRMTables:
    """Read the chosen source and enforce the contract on it."""
    if source not in SOURCES:
        raise ValueError(f"ingest.source is '{source}'; choose one of {sorted(SOURCES)}")
    tables = SOURCES[source](params)
    return enforce_contract(
        tables.customers,
        tables.deals,
        tables.activities,
        tables.options,
        today=today,
        deal_history=tables.deal_history,
    )
