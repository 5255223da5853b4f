"""The Chinese report is Chinese: no string of the English catalogue shows on a zh page, and
reasons and tier changes scored in zh come out in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from tier_ml.cold_start import REASONS
from tier_ml.explain import DRIVER_WORDS, MONEY, POINTS, reason_codes
from tier_ml.features.registry import FeatureConfig, reason_registry
from tier_ml.language import Text
from tier_ml.models.candidates import BASELINES, LABELS
from tier_ml.report.content import METHOD_LABELS, WORDS, build_content, card_in
from tier_ml.report.html import render
from tier_ml.report.plots import CHART_WORDS
from tier_ml.tiering import ACTIONS, CHANGE_REASONS, MEASURES, Overlays, TierAssigner, TierPolicy

AS_OF = pd.Timestamp("2025-12-31")
PREVIOUS = pd.Timestamp("2025-11-30")
PLACEHOLDER = re.compile(r"\{[^}]*\}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
NAMES = {"AUC", "PR-AUC", "ECE", "Gini", "PSI", "RFM", "LightGBM", "BG/NBD", "Gamma-Gamma", "CRM"}


def pairs(en: object, zh: object) -> Iterator[tuple[str, str]]:
    """The (English, Chinese) strings of two catalogues of the same shape, key by key."""
    if isinstance(en, str):
        yield en, zh
    elif isinstance(en, dict):
        for key, value in en.items():
            yield from pairs(value, zh[key])
    elif isinstance(en, list):
        for value, other in zip(en, zh, strict=True):
            yield from pairs(value, other)


def is_name(piece: str) -> bool:
    """Names and units that Chinese writes as English does: "AUC", "BG/NBD + Gamma-Gamma"."""
    return all(word in NAMES for word in re.split(r"[\s+]+", piece) if word)


def english_fragments() -> set[str]:
    """Every piece of the English catalogue a zh page must not show: the words between
    placeholders of each string, longer than 3 characters, that are not names."""
    registry = {lang: reason_registry(FeatureConfig(), lang) for lang in ("en", "zh")}
    catalogue = [
        *pairs(WORDS["en"], WORDS["zh"]),
        *pairs(METHOD_LABELS["en"], METHOD_LABELS["zh"]),
        *pairs(ACTIONS["en"], ACTIONS["zh"]),
        *(
            (getattr(registry["en"][k], field), getattr(registry["zh"][k], field) or "")
            for k in registry["en"]
            for field in ("label", "template", "when_missing", "one", "zero")
            if getattr(registry["en"][k], field)
        ),
        *(
            tuple(text)
            for texts in (DRIVER_WORDS, CHANGE_REASONS, MEASURES, REASONS, CHART_WORDS)
            for text in texts.values()
        ),
        tuple(MONEY.words),
        tuple(POINTS.words),
    ]
    return {
        piece
        for en, _ in catalogue
        for piece in (p.strip(" .,:;()") for p in PLACEHOLDER.split(en))
        if len(piece) > 3 and not is_name(piece)
    }


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, styles or scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.hidden += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def scored(language: str) -> pd.DataFrame:
    """Five customers scored in `language`: reasons from contributions in money (led by the
    likelihood or the size part), tiers from a policy with the inactivity overlay."""
    features = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(5)],
            "open_deal_count": [4.0, 1.0, 0.0, 2.0, 0.0],
            "days_since_last_activity": [3.0, 40.0, 0.0, np.nan, 200.0],
            "won_revenue_180d": [184_682.0, 0.0, 5_000.0, 12_000.0, 0.0],
        }
    )
    effects = pd.DataFrame(
        {
            "open_deal_count": [8_437.0, 900.0, -400.0, 2_000.0, -50.0],
            "days_since_last_activity": [1_200.0, -3_000.0, 300.0, -700.0, -2_500.0],
            "won_revenue_180d": [3_100.0, -200.0, 1_000.0, 600.0, -90.0],
        }
    )
    led = effects.abs() > 1_000
    registry = reason_registry(FeatureConfig(), language)
    reasons = reason_codes(effects, features, registry, 3, 2, MONEY, led, language)
    frame = pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "expected_value": [9_000.0, 4_000.0, 1_500.0, 800.0, 7_000.0],
            "previous_tier": ["B", "A", None, "D", "A"],
            "days_since_last_touch": [3.0, 40.0, 0.0, 10.0, 200.0],
            "last_period_revenue": features["won_revenue_180d"],
            "owner": ["Li", "Li", "Wang", None, "Wang"],
        }
    )
    policy = TierPolicy(
        shares={"A": 0.2, "B": 0.2, "C": 0.2, "D": 0.4},
        overlays=Overlays(inactivity_days=90),
        language=language,
    )
    tiers = TierAssigner(policy).fit_assign(frame)
    return pd.concat(
        [frame[["customer_id", "expected_value", "previous_tier", "owner"]], tiers, reasons],
        axis=1,
    ).assign(
        as_of=AS_OF,
        p_win=[0.8, 0.5, 0.3, 0.2, 0.6],
        cold_start=False,
        no_purchases_yet=False,
        source="model",
    )


def zh_page() -> str:
    """The zh report of a hand-made run after a previous one, with the tier and the champion
    sentences, the drivers and a gate that kept the champion."""
    now = scored("zh")
    before = now.assign(as_of=PREVIOUS, tier=["B", "A", "C", "D", "A"], tier_change="new")
    history = pd.concat([before, now], ignore_index=True)
    long = pd.DataFrame(
        {
            "customer_id": ["C0", "C1", "C4"],
            "as_of": [AS_OF] * 3,
            "feature": ["open_deal_count", "days_since_last_activity", "days_since_last_activity"],
            "contribution": [0.12, -0.05, -0.2],
        }
    )
    labels = {k: s.label for k, s in reason_registry(FeatureConfig(), "zh").items()}
    selection = {
        "champion": "model",
        "best_baseline": "rfm",
        "reason": "the model beat the best baseline",
        "evidence": "rolling origins 2025-06-30",
        "origins": ["2025-06-30"],
    }
    content = build_content(
        history,
        long,
        pd.DataFrame(),
        pd.DataFrame(),
        labels,
        "zh",
        10,
        10,
        {"promote": False, "reason": "the candidate did not beat the champion"},
        {},
        selection,
        currency="USD",
        horizon_days=180,
    )
    return render(replace(content, model_card=card_in(ENGLISH_CARD, "zh")))


# a training's model card as it is stored: in English (tier_ml.model_card.model_card)
ENGLISH_CARD = {
    "champion": {
        "method": "model",
        "label": LABELS["model"],
        "best_baseline": "rfm",
        "reason": "the LightGBM model beats RFM quintiles with 95 % confidence",
        "evidence": "rolling origins 2025-05-31, 2025-06-30",
        "versions": {"propensity": 3},
    },
    "data": {
        "source": "synthetic",
        "data_start": "2023-01-01",
        "data_end": "2025-12-31",
        "customers": 5,
        "deals": 10,
        "activities": 0,
        "deal_history": 0,
        "quarantined": 0,
    },
    "training": {
        "horizon_days": 180,
        "cutoffs": ["2025-05-31", "2025-06-30"],
        "trained_through": "2025-12-27",
        "positives": 3,
        "negatives": 7,
        "features": 4,
    },
    "held_out": [{"metric": "auc", "value": 0.8}],
    "calibration": {"method": "platt", "ece": 0.02},
    "candidates": [
        {"method": m, "label": LABELS[m], "baseline": m in BASELINES, "champion": m == "model"}
        for m in ("rfm", "scorecard", "model")
    ],
    "limits": [{"code": "no_activities", "text": "No activities in this data: engagement."}],
}
CARD_ENGLISH = {
    ENGLISH_CARD["champion"]["reason"],
    "rolling origins",
    "platt",  # the stored method name; "Platt" is a name, in Chinese too
    *(LABELS[m] for m in ("rfm", "scorecard", "model")),
}


def test_the_zh_page_shows_no_english_catalogue_string():
    text = visible_text(zh_page())
    shown = sorted(piece for piece in english_fragments() | CARD_ENGLISH if piece in text)
    assert not shown, f"English on the zh page: {shown}"
    assert "模型卡" in text and "Platt 缩放" in text
    card = visible_text(zh_page().split('data-testid="model-card"')[1].split("</section>")[0])
    assert not set(";:") & set(card), "the zh model card uses ASCII punctuation"
    assert "预期价值 US$" in text and "：" in text


def test_the_catalogue_check_sees_english():
    """The check above is not vacuous: the en page shows many catalogue strings."""
    history = scored("en")
    content = build_content(
        history, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, "en", 10, 10, None, {}
    )
    text = visible_text(render(content))
    assert len([piece for piece in english_fragments() if piece in text]) > 20


@pytest.mark.parametrize("column", ["reason_1", "reason_2", "risk_1", "tier_change_reason"])
def test_zh_reasons_and_tier_changes_come_out_in_chinese(column):
    said = scored("zh")[column].dropna()
    said = said[said != ""]
    assert len(said)
    for sentence in said:
        assert CHINESE.search(sentence), sentence
        assert not re.search(r"[A-Za-z]{2,}", sentence), sentence
        assert "(" not in sentence and ":" not in sentence, sentence  # full-width punctuation


def test_en_reasons_keep_their_english_sentences():
    scores = scored("en").set_index("customer_id")
    assert scores.at["C0", "reason_1"] == "likely to buy: 4 open deals (+8,400)"
    assert scores.at["C4", "tier_change_reason"].startswith("inactivity downgrade to C")


def test_text_says_each_language():
    assert Text("open deals", "在谈商机").said("zh") == "在谈商机"
    assert Text("open deals", "在谈商机").said("en") == "open deals"
