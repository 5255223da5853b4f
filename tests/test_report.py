"""The report's content and rendering, in English and Chinese, without a browser."""

from __future__ import annotations

import pandas as pd
import pytest

from tier_ml.report.content import build_content
from tier_ml.report.html import render

AS_OF = pd.Timestamp("2025-12-31")


def scores() -> pd.DataFrame:
    rows = []
    for i, (tier, previous) in enumerate(
        [("A", "B"), ("A", "A"), ("B", "A"), ("C", None), ("D", "D")]
    ):
        rows.append(
            {
                "customer_id": f"C{i}",
                "as_of": AS_OF,
                "p_win": 0.9 - 0.2 * i,
                "expected_value": 1000.0 / (i + 1),
                "tier": tier,
                "previous_tier": previous,
                "tier_change": {("A", "B"): "up", ("B", "A"): "down"}.get(
                    (tier, previous), "new" if previous is None else "same"
                ),
                "owner": "rep",
                "cold_start": i == 3,
                "source": "model",
                "tier_change_reason": "expected value moved it" if i in (0, 2) else "",
                "reason_1": "2 open deals (+12.0 pts)",
                "reason_2": None,
                "reason_3": None,
                "risk_1": "no contact for 40 days (-3.0 pts)",
                "risk_2": None,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "language, words",
    [("en", ["Follow up now", "Customer tiers"]), ("zh", ["立即跟进", "客户分级"])],
)
def test_report_renders_in_each_language(language, words):
    reasons = pd.DataFrame(
        {
            "customer_id": ["C0", "C2"],
            "as_of": [AS_OF, AS_OF],
            "feature": ["open_deal_count", "open_deal_count"],
            "value": ["2", "0"],
            "contribution": [0.12, -0.05],
        }
    )
    quarantine = pd.DataFrame(
        {
            "table": ["deals"],
            "source_file": ["x.csv"],
            "reason": ["unknown customer"],
            "record": ["{}"],
        }
    )
    accuracy = pd.DataFrame(
        {
            "origin": [AS_OF] * 2,
            "method": ["model", "rfm"],
            "tier": ["A", "A"],
            "customers": [2, 2],
            "realised_win_rate": [0.9, 0.7],
            "mean_predicted_p_win": [0.85, None],
            "revenue_share": [0.6, 0.5],
            "lift": [2.0, 1.5],
        }
    )
    content = build_content(
        scores(),
        reasons,
        accuracy,
        quarantine,
        {"open_deal_count": "open deals"},
        language,
        10,
        10,
        {"promote": True, "reason": "no champion yet"},
        {},
    )
    assert [row["customers"] for row in content.headline] == [2, 1, 1, 1]
    assert content.changes == {"up": 1, "down": 1, "same": 2, "new": 1}
    assert [m["customer_id"] for m in content.movers] == ["C0", "C2"]
    assert content.health["quarantined"] == 1 and content.health["cold_start"] == 1
    html = render(content)
    for word in words:
        assert word in html
    assert 'data-testid="tier-count-A">2<' in html
    assert "http" not in html
    assert "expected value moved it" in html
    assert 'data-testid="accuracy"' in html and "90%" in html
