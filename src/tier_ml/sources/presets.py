"""The column names and stage words of common CRM exports, so that a vendor's export needs
only its paths (`ingest.crm_export.preset`).

A preset is data, merged under the user's own keys key by key: `columns.deals.amount` given
by the user replaces the preset's `columns.deals.amount` and keeps the rest of the preset. A
contract column may list several of the vendor's names (a report's label and the API name an
API or Data Loader export writes); the first one the file has is used. Dates and the CSV
dialect follow the export's locale and options, so presets leave them to `csv` and
`date_format`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Salesforce: field labels (report exports) and API names (Data Loader, API exports) from
# Salesforce's Field Reference for Account, Opportunity, Task and OpportunityFieldHistory
# (https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/
# salesforce-field-reference-opportunity.html, ...-account.html; Object Reference,
# sforce_api_objects_task.htm and sforce_api_objects_opportunityfieldhistory.htm). Stage words
# are Opportunity.StageName's default picklist values. Activities are dated by their creation:
# a task's ActivityDate is a due date, often empty or in the future.
SALESFORCE: dict[str, Any] = {
    "columns": {
        "customers": {
            "customer_id": ["Account ID", "Id"],
            "created_at": ["Created Date", "CreatedDate"],
            "industry": "Industry",
            "region": ["Billing Country", "BillingCountry"],
            "employees": ["Employees", "NumberOfEmployees"],
            "annual_revenue": ["Annual Revenue", "AnnualRevenue"],
            "owner": ["Account Owner", "Owner ID", "OwnerId"],
        },
        "deals": {
            "deal_id": ["Opportunity ID", "Id"],
            "customer_id": ["Account ID", "AccountId"],
            "created_at": ["Created Date", "CreatedDate"],
            "closed_at": ["Close Date", "CloseDate"],
            "status": ["Stage", "StageName"],
            "amount": "Amount",
            "owner": ["Opportunity Owner", "Owner ID", "OwnerId"],
        },
        "activities": {
            "customer_id": ["Account ID", "AccountId"],
            "occurred_at": ["Created Date", "CreatedDate"],
            "type": ["Type", "Task Subtype", "TaskSubtype"],
        },
        "deal_history": {
            "deal_id": ["Opportunity ID", "OpportunityId"],
            "changed_at": ["Created Date", "CreatedDate"],
            "field": ["Changed Field", "Field"],
            "value": ["New Value", "NewValue"],
            "old_value": ["Old Value", "OldValue"],
        },
    },
    "status_map": {
        "Closed Won": "won",
        "Closed Lost": "lost",
        **{
            stage: "open"
            for stage in (
                "Prospecting",
                "Qualification",
                "Needs Analysis",
                "Value Proposition",
                "Id. Decision Makers",
                "Perception Analysis",
                "Proposal/Price Quote",
                "Negotiation/Review",
            )
        },
    },
    # OpportunityFieldHistory.Field names the changed field by its API name ("Owner" for OwnerId).
    "history_fields": {
        "Amount": "amount",
        "StageName": "stage",
        "CloseDate": "expected_close_at",
        "Owner": "owner",
        "OwnerId": "owner",
    },
}

# HubSpot: export column headers are property labels ("HubSpot's default company properties",
# https://knowledge.hubspot.com/properties/hubspot-crm-default-company-properties; "HubSpot's
# default deal properties", https://knowledge.hubspot.com/crm-deals/hubspots-default-deal-properties);
# an export with associated records adds "Associated Company IDs (Primary)". Stage words are the
# default sales pipeline's labels and internal ids (appointmentscheduled ... closedlost). A
# deal's "Close Date" is its expected date while it is open. Activity exports are less uniform
# (calls, meetings and emails each have their own properties): check their header against
# `columns.activities`. Activities are dated by creation, as a meeting's date may lie ahead.
HUBSPOT: dict[str, Any] = {
    "columns": {
        "customers": {
            "customer_id": "Record ID",
            "created_at": "Create Date",
            "industry": "Industry",
            "region": "Country/Region",
            "employees": "Number of Employees",
            "annual_revenue": "Annual Revenue",
            "owner": "Company owner",
        },
        "deals": {
            "deal_id": "Record ID",
            "customer_id": ["Associated Company IDs (Primary)", "Associated Company IDs"],
            "created_at": "Create Date",
            "closed_at": "Close Date",
            "status": "Deal Stage",
            "amount": "Amount",
            "owner": "Deal owner",
        },
        "activities": {
            "customer_id": ["Associated Company IDs (Primary)", "Associated Company IDs"],
            "occurred_at": "Create Date",
            "type": "Activity type",
        },
    },
    "status_map": {
        "Closed Won": "won",
        "closedwon": "won",
        "Closed Lost": "lost",
        "closedlost": "lost",
        **{
            stage: "open"
            for stage in (
                "Appointment Scheduled",
                "appointmentscheduled",
                "Qualified To Buy",
                "qualifiedtobuy",
                "Presentation Scheduled",
                "presentationscheduled",
                "Decision Maker Bought-In",
                "decisionmakerboughtin",
                "Contract Sent",
                "contractsent",
            )
        },
    },
}

# Microsoft Dynamics 365 / Dataverse: logical column names, as Dataverse exports (Synapse Link,
# Power Query, the Web API with `_<lookup>_value` columns) write them; "Export to Excel" shows
# lookups by name, not id, so it cannot join accounts to opportunities. From the account and
# opportunity table/entity references (https://learn.microsoft.com/dynamics365/sales/developer/
# entities/account and .../entities/opportunity) and activitypointer. Status is statecode
# (0 Open, 1 Won, 2 Lost, or its label). The amount is estimatedvalue ("Est. Revenue"):
# actualvalue is written at the close, so on open and lost deals it would tell the outcome.
# Activities are dated by creation (actualend is empty until one is completed).
DYNAMICS: dict[str, Any] = {
    "columns": {
        "customers": {
            "customer_id": "accountid",
            "created_at": "createdon",
            "industry": "industrycode",
            "region": "address1_country",
            "employees": "numberofemployees",
            "annual_revenue": "revenue",
            "owner": ["ownerid", "_ownerid_value"],
        },
        "deals": {
            "deal_id": "opportunityid",
            "customer_id": [
                "parentaccountid",
                "_parentaccountid_value",
                "customerid",
                "_customerid_value",
            ],
            "created_at": "createdon",
            "closed_at": "actualclosedate",
            "expected_close_at": "estimatedclosedate",
            "status": "statecode",
            "amount": "estimatedvalue",
            "owner": ["ownerid", "_ownerid_value"],
        },
        "activities": {
            "customer_id": ["regardingobjectid", "_regardingobjectid_value"],
            "occurred_at": "createdon",
            "type": "activitytypecode",
        },
    },
    "status_map": {
        "Open": "open",
        "Won": "won",
        "Lost": "lost",
        "0": "open",
        "1": "won",
        "2": "lost",
    },
}

PRESETS: dict[str, dict[str, Any]] = {
    "salesforce": SALESFORCE,
    "hubspot": HUBSPOT,
    "dynamics": DYNAMICS,
}


def merge_over(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base` key by key, nested mappings merged alike. A None in `override`
    is a key left unset (a parameters file's `null`), so it keeps the base's value."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = merge_over(base[key], value)
        elif value is not None or key not in base:
            merged[key] = value
    return merged


def with_preset(params: Mapping[str, Any]) -> dict[str, Any]:
    """The user's `crm_export` parameters over the preset they name (none: as given)."""
    name = params.get("preset")
    if name is None:
        return dict(params)
    if name not in PRESETS:
        raise ValueError(
            f"ingest.crm_export.preset is '{name}'; choose one of {sorted(PRESETS)} or null"
        )
    return merge_over(PRESETS[name], params)
