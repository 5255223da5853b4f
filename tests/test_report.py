"""The report's content and rendering, in English and Chinese, without a browser."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest

from tier_ml.pipelines.report.nodes import scored_data_end
from tier_ml.report.content import WORDS, accuracy_sentence, build_content
from tier_ml.report.html import render
from tier_ml.report.numbers import money, probability

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


def _render(history: pd.DataFrame, reasons: pd.DataFrame | None = None, **kwargs) -> str:
    nothing = pd.DataFrame()
    reasons = nothing if reasons is None else reasons
    args = (history, reasons, nothing, nothing, {"open_deal_count": "open deals"}, "en", 10, 10)
    return render(build_content(*args, None, {}, **kwargs))


def test_money_is_said_in_the_report_currency():
    assert ">$1,500 expected value<" in _render(scores(), currency="USD")  # tier A: 1000 + 500
    assert ">1,500 CHF expected value<" in _render(scores(), currency="CHF")
    assert ">1,500 expected value<" in _render(scores())


@pytest.mark.parametrize(
    "value, said",
    [(0.999, "> 99%"), (1.0, "> 99%"), (0.001, "< 1%"), (0.0, "< 1%"), (0.42, "42%")],
)
def test_a_predicted_probability_never_reads_as_certainty(value, said):
    assert probability(value) == said
    top = scores().assign(p_win=[value, 0.5, 0.5, 0.5, 0.5])
    html = _render(top)
    assert f'<td class="num">{said.replace(">", "&gt;").replace("<", "&lt;")}</td>' in html
    assert ">100%<" not in html and ">0%<" not in html


def test_money_formats():
    assert money(1234.4, "USD") == "$1,234"
    assert money(-1234.6, "EUR") == "-€1,235"
    assert money(1234.4, "CHF") == "1,234 CHF"
    assert money(1234.4) == "1,234"
    assert money(float("nan"), "USD") == "–"


def test_the_header_states_the_horizon_and_every_column_has_a_header():
    html = _render(scores(), horizon_days=91)
    assert "win probability and expected value over the next 91 days" in html
    assert re.search(r"<th[^>]*>\s*</th>", html) is None


def test_the_header_shows_the_datas_end_beside_as_of():
    """A run on stale data says so at the top: the data end next to `as_of`."""
    nothing = pd.DataFrame()
    args = (scores(), nothing, nothing, nothing, {}, "en", 10, 10, None, {})
    content = build_content(*args)
    # a run stored before runs recorded their data's end says so rather than hide it
    assert '<span data-testid="data-end">data end not recorded</span>' in render(content)
    html = render(replace(content, data_end="2025-11-30"))
    header = re.search(r'<div class="muted">.*?</div>', html, re.S).group(0)
    assert re.search(
        r'as of <span data-testid="as-of">[\d-]+</span> · data to '
        r'<span data-testid="data-end">2025-11-30</span>',
        header,
    )
    zh = build_content(*args[:5], "zh", *args[6:])
    assert '数据截至 <span data-testid="data-end">2025-11-30</span>' in render(
        replace(zh, data_end="2025-11-30")
    )


def test_the_data_end_shown_is_the_one_the_reported_run_scored():
    """A newer ingest does not change the data end of a stored run: the report reads it from
    the run's own row."""
    runs = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2025-06-01", "2025-07-01"]),
            "horizon_days": [180, 180],
            "data_end": pd.to_datetime(["2025-05-20", "2025-06-28"]),
        }
    )
    assert scored_data_end(runs, pd.Timestamp("2025-07-01")) == "2025-06-28"
    assert scored_data_end(runs, pd.Timestamp("2025-06-01")) == "2025-05-20"
    assert scored_data_end(runs.drop(columns="data_end"), pd.Timestamp("2025-06-01")) is None
    assert scored_data_end(runs, pd.Timestamp("2025-08-01")) is None


def test_one_name_for_expected_value_and_pts_explained_once():
    reasons = pd.DataFrame(
        {
            "customer_id": ["C0"],
            "as_of": [AS_OF],
            "feature": ["open_deal_count"],
            "contribution": [0.12],
        }
    )
    html = _render(scores(), reasons)
    assert "expected revenue" not in html.lower()
    assert html.count("pts: percentage points of win probability") == 1


def test_counts_take_the_singular():
    one = scores().head(1)
    quarantine = pd.DataFrame({"table": ["deals"], "reason": ["unknown customer"]})
    nothing = pd.DataFrame()
    html = render(build_content(one, nothing, nothing, quarantine, {}, "en", 10, 10, None, {}))
    assert "· 1 customer" in html and "1 customers" not in html
    assert "1</strong> row set aside at ingest" in html
    assert "1 customers" not in html


def test_drivers_that_round_to_zero_points_are_not_shown():
    reasons = pd.DataFrame(
        {
            "customer_id": ["C0", "C0"],
            "as_of": [AS_OF, AS_OF],
            "feature": ["open_deal_count", "win_rate"],
            "contribution": [0.12, 0.0004],
        }
    )
    content = build_content(
        scores(), reasons, pd.DataFrame(), pd.DataFrame(), {}, "en", 10, 10, None, {}
    )
    assert [d["feature"] for d in content.drivers["A"]] == ["open deal count"]


def _two_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """C0 moved from C to A by value alone, and more likely to buy; C3 moved from C to B by
    value, less likely to buy (its amount grew); C1 was downgraded by an overlay."""
    before = AS_OF - pd.Timedelta(days=30)
    previous = scores().assign(as_of=before, tier=["C", "A", "A", "C", "D"])
    previous = previous.assign(p_win=[0.10, 0.7, 0.7, 0.5, 0.1])
    previous = previous.assign(expected_value=[100.0, 500.0, 300.0, 50.0, 200.0])
    now = scores().assign(previous_tier=previous["tier"])
    now.loc[0, ["tier", "tier_change", "tier_change_reason"]] = [
        "A",
        "up",
        "expected value moved it from C to A",
    ]
    now.loc[1, ["tier", "tier_change", "tier_change_reason"]] = [
        "C",
        "down",
        "inactivity downgrade to C: no deal opened or closed in the last 90 days",
    ]
    now.loc[3, ["tier", "tier_change", "tier_change_reason"]] = [
        "B",
        "up",
        "expected value moved it from C to B",
    ]
    reasons = pd.DataFrame(
        {
            "customer_id": ["C0", "C0", "C0", "C0", "C3", "C3"],
            "as_of": [before, before, AS_OF, AS_OF, before, AS_OF],
            "feature": ["open_deal_count", "win_rate"] * 2 + ["open_deal_count"] * 2,
            "contribution": [0.05, 0.02, 0.35, 0.01, 0.05, 0.15],
        }
    )
    return pd.concat([previous, now], ignore_index=True), reasons


def test_a_tier_change_says_what_changed_not_only_the_move():
    history, reasons = _two_runs()
    html = _render(history, reasons, currency="USD")
    assert (
        "expected value $100 → $1,000, win probability 10% → 90%; "
        "mostly open deals (+30.0 pts)" in html
    )
    assert "moved it from" not in html
    assert "inactivity downgrade to C" in html  # an overlay already says why
    # the contributions explain the win probability, which fell: the amount moved C3
    assert "expected value $50 → $250, win probability 50% → 30%<" in html
    # without the earlier run's contributions: the numbers alone
    assert "expected value $100 → $1,000, win probability 10% → 90%<" in _render(
        history, currency="USD"
    )


def _tier_table(lift: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": [AS_OF - pd.Timedelta(days=180), AS_OF],
            "method": ["model", "model"],
            "tier": ["A", "A"],
            "customers": [2, 2],
            "realised_win_rate": [0.9, 0.9],
            "mean_predicted_p_win": [0.8, 0.8],
            "revenue_share": [0.6, 0.6],
            "lift": [9.9, lift],
        }
    )


def test_accuracy_in_one_sentence_with_its_interval():
    candidates = _candidates("model", ("rfm", "scorecard", "model")).assign(
        top_decile_capture=[0.5, 0.62, 0.72]
    )
    selection = _selection("model", "the LightGBM model beats the weighted scorecard")
    sentence = accuracy_sentence(_tier_table(3.62), candidates, selection, WORDS["en"], "en")
    assert sentence == (
        "Accounts tiered A on 2025-12-31 went on to buy 3.6× as often as the average account. "
        "In the backtests, the champion (the LightGBM model) found 72% of the revenue won in its "
        "top 10% of accounts, against 62% for the weighted scorecard at the same share: "
        "+10.0 points (95% interval +8.0 to +12.0)."
    )
    zh = accuracy_sentence(_tier_table(3.62), candidates, selection, WORDS["zh"], "zh")
    assert "3.6 倍" in zh and "72%" in zh and "（95% 区间 +8.0 至 +12.0）。" in zh
    content = build_content(
        scores(),
        pd.DataFrame(),
        _tier_table(3.62),
        pd.DataFrame(),
        {},
        "en",
        10,
        10,
        None,
        {},
        selection,
        candidates,
    )
    html = render(content)
    leadership, scientists = html.split('id="data-scientists"')
    assert f'data-testid="accuracy-sentence"><strong>{sentence}' in leadership
    for jargon in ("ECE", "Gini", "Lift"):
        assert jargon not in leadership and jargon in scientists


def test_a_baseline_champion_is_compared_with_the_best_model():
    candidates = _candidates("scorecard", ("rfm", "scorecard", "model")).assign(
        top_decile_capture=[0.5, 0.62, 0.72]
    )
    selection = _selection("scorecard", "no better")
    table = _tier_table(2.0).assign(method="scorecard")
    sentence = accuracy_sentence(table, candidates, selection, WORDS["en"], "en")
    assert sentence.endswith(
        "the champion (the weighted scorecard) found 62% of the revenue won in its top 10% of "
        "accounts, against 72% for the LightGBM model at the same share: -10.0 points "
        "(95% interval -12.0 to -8.0)."
    )
    assert accuracy_sentence(table, None, None, WORDS["en"], "en") is None
