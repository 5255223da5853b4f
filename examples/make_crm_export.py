"""Write the worked example in examples/crm_export/: a small CRM export in a vendor's shape.

It is the synthetic CRM written the way a real export often is: its own column names and
stage words, `;`-separated, latin-1, day-first dates and decimal commas. The Kedro environment
`conf/example_crm/` maps it (`kedro run --env=example_crm`). Regenerate with
`uv run python examples/make_crm_export.py`.
"""

from pathlib import Path

import pandas as pd

from tier_ml.sources.synthetic import SyntheticSpec, generate_crm

OUT = Path(__file__).parent / "crm_export"
STAGES = {"won": "Closed Won", "lost": "Closed Lost", "open": "Negotiation"}
OWNERS = {"rep_000": "José Müller", "rep_001": "Zoë Brontë"}


def _dates(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%d/%m/%Y")


def _write(frame: pd.DataFrame, name: str) -> None:
    frame.to_csv(OUT / name, sep=";", encoding="latin-1", index=False, decimal=",")


def main() -> None:
    customers, deals, activities = generate_crm(SyntheticSpec(n_customers=150, n_owners=6))
    OUT.mkdir(exist_ok=True)
    _write(
        pd.DataFrame(
            {
                "Account ID": customers["customer_id"],
                "Created Date": _dates(customers["created_at"]),
                "Industry": customers["industry"],
                "Region": customers["region"],
                "Employees": customers["employees"],
                "Annual Revenue": customers["annual_revenue"],
                "Account Owner": customers["owner"].replace(OWNERS),
            }
        ),
        "accounts.csv",
    )
    _write(
        pd.DataFrame(
            {
                "Opportunity ID": deals["deal_id"],
                "Account ID": deals["customer_id"],
                "Created Date": _dates(deals["created_at"]),
                "Close Date": _dates(deals["closed_at"]),
                "Stage": deals["status"].map(STAGES),
                "Amount": deals["amount"],
                "Product": deals["product"],
                "Opportunity Owner": deals["owner"].replace(OWNERS),
            }
        ),
        "opportunities.csv",
    )
    _write(
        pd.DataFrame(
            {
                "Account ID": activities["customer_id"],
                "Date": _dates(activities["occurred_at"]),
                "Activity Type": activities["type"].str.replace("_", " ").str.title(),
            }
        ),
        "activities.csv",
    )


if __name__ == "__main__":
    main()
