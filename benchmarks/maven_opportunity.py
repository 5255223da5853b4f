"""Held-out AUC of the opportunity (open-deal) model on the Maven CRM, and of `amount` alone.

A leak check: if the exported amount of open deals encodes their outcome, `amount` alone
ranks them well. Settings mirror `conf/maven_crm/parameters.yml` (horizon 90 days, 9 monthly
cutoffs); each of the last three cutoffs is scored by a model fitted only on cutoffs whose
label windows closed by then. Prints JSON lines.
Usage: python benchmarks/maven_opportunity.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import emit  # noqa: E402
from tier_ml.features.build import build_feature_table, training_cutoffs  # noqa: E402
from tier_ml.models.opportunity import model_for, opportunity_matrix, opportunity_rows  # noqa: E402
from tier_ml.sources.adapters import load_source  # noqa: E402

HORIZON_DAYS = 90
CUTOFFS = 9
HELD_OUT = 3
PARAMS = {"folder": "../shared/data/maven_crm", "data_end_date": "2017-12-31"}


def _auc(rows: pd.DataFrame, scores: object) -> float:
    return round(float(roc_auc_score(rows["won_in_horizon"], scores)), 3)


def main() -> None:
    tables = load_source("maven_crm", PARAMS)
    cutoffs = training_cutoffs(tables.data_end, HORIZON_DAYS, CUTOFFS)
    table = build_feature_table(
        tables.customers, tables.deals, tables.activities, cutoffs, HORIZON_DAYS
    )
    rows = opportunity_rows(tables.deals, table, HORIZON_DAYS)
    for t in cutoffs[-HELD_OUT:]:
        test = rows[rows["as_of"] == t]
        model = model_for(rows, pd.Timestamp(t), HORIZON_DAYS, seed=42)
        emit(
            benchmark="maven_opportunity",
            as_of=str(pd.Timestamp(t).date()),
            open_deals=len(test),
            win_rate=round(float(test["won_in_horizon"].mean()), 3),
            auc_model=None
            if model is None
            else _auc(test, model.predict(opportunity_matrix(test))),
            auc_amount_alone=_auc(test, test["amount"]),
        )


if __name__ == "__main__":
    main()
