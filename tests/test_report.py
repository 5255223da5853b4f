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


def _candidates(champion: str, methods: tuple[str, ...]) -> pd.DataFrame:
    """A `model_metrics` table: the model 0.04 AUC above the best baseline (scorecard)."""
    gain = {"rfm": -0.05, "scorecard": 0.0, "model": 0.04}
    return pd.DataFrame(
        [
            {
                "method": m,
                "baseline": m != "model",
                "auc": 0.9 + gain[m],
                "top_decile_capture": 0.6,
                "auc_vs_best_baseline": gain[m],
                "auc_low": gain[m] - 0.01 if gain[m] else 0.0,
                "auc_high": gain[m] + 0.01 if gain[m] else 0.0,
                "top_decile_capture_vs_best_baseline": 0.1 if m == "model" else 0.0,
                "top_decile_capture_low": 0.08 if m == "model" else 0.0,
                "top_decile_capture_high": 0.12 if m == "model" else 0.0,
                "champion": m == champion,
            }
            for m in methods
        ]
    )


def _selection(champion: str, reason: str) -> dict:
    return {
        "champion": champion,
        "best_baseline": "scorecard",
        "baseline_is_champion": champion != "model",
        "reason": reason,
        "evidence": "rolling origins 2025-03-06, 2025-07-04",
        "origins": ["2025-03-06", "2025-07-04"],
    }


CASES = [
    (  # the model beat the best baseline with confidence
        "model",
        ("rfm", "scorecard", "model"),
        "the LightGBM model beats the weighted scorecard with 95 % confidence and is worse on none",
        "The LightGBM model beats the weighted scorecard with 95 % confidence and is worse on "
        "none; tiers use the LightGBM model.",
        "分级使用LightGBM 模型：它以 95% 的置信度优于加权评分卡",
    ),
    (  # a model was tried and did not beat the baseline
        "scorecard",
        ("rfm", "scorecard", "model"),
        "on this history the model ranks customers no better than the weighted scorecard; "
        "tiers use the weighted scorecard",
        "On this history the model ranks customers no better than the weighted scorecard; "
        "tiers use the weighted scorecard.",
        "在这段历史数据上，加权评分卡的排序与模型一样好；分级使用加权评分卡。",
    ),
    (  # too little data for a model: baselines only
        "scorecard",
        ("rfm", "scorecard"),
        "the weighted scorecard is the best baseline on AUC",
        "Not enough data for a model yet, so the champion is chosen among the baselines: the "
        "weighted scorecard is the best baseline on AUC; tiers use the weighted scorecard.",
        "数据尚不足以训练模型，冠军在基线方法中选出：加权评分卡的 AUC 最高；分级使用加权评分卡。",
    ),
]


@pytest.mark.parametrize("champion, methods, reason, english, chinese", CASES)
def test_the_report_says_which_method_sets_the_tiers_and_why(
    champion, methods, reason, english, chinese
):
    accuracy = pd.DataFrame(
        {
            "origin": [AS_OF] * len(methods),
            "method": list(methods),
            "tier": ["A"] * len(methods),
            "customers": [2] * len(methods),
            "realised_win_rate": [0.9] * len(methods),
            "mean_predicted_p_win": [0.8] * len(methods),
            "revenue_share": [0.6] * len(methods),
            "lift": [2.0] * len(methods),
        }
    )
    nothing = pd.DataFrame()
    for language, sentence in (("en", english), ("zh", chinese)):
        content = build_content(
            scores(),
            nothing,
            accuracy,
            nothing,
            {},
            language,
            10,
            10,
            None,
            {},
            _selection(champion, reason),
            _candidates(champion, methods),
        )
        assert sentence in content.champion["text"]
        html = render(content)
        assert sentence in html and 'data-testid="tier-source"' in html
        # the champion's tiers come first in the accuracy table, all methods at equal shares
        assert content.accuracy[0]["method"] == champion and content.accuracy[0]["champion"]
        assert {r["method"] for r in content.accuracy} == set(methods)
        # the data scientists' table: each candidate against the best baseline, with intervals
        assert 'data-testid="candidates"' in html
        rows = {r["method"]: r for r in content.candidates}
        assert rows["scorecard"]["auc_delta"] == "+0.000 [+0.000, +0.000]"
        if "model" in rows:
            assert rows["model"]["auc_delta"] == "+0.040 [+0.030, +0.050]"
            assert rows["model"]["capture_delta"] == "+10.0 [+8.0, +12.0]"
    assert "95 % paired-bootstrap interval" in render(
        build_content(
            scores(),
            nothing,
            accuracy,
            nothing,
            {},
            "en",
            10,
            10,
            None,
            {},
            _selection(champion, reason),
            _candidates(champion, methods),
        )
    )


def test_without_a_selection_the_report_has_no_champion_sentence():
    nothing = pd.DataFrame()
    content = build_content(scores(), nothing, nothing, nothing, {}, "en", 10, 10, None, {})
    assert content.champion is None and content.candidates == []
    html = render(content)
    assert 'data-testid="tier-source"' not in html and 'id="data-scientists"' not in html
