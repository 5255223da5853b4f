"""The model card of a training run: what the champion learned from, how it was chosen, how
well it did on outcomes it had not seen, and what it cannot know. Plain data, so that MLflow
keeps it (JSON and Markdown) beside the registered versions and the report shows it as its
appendix."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tier_ml.models.candidates import MODELS
from tier_ml.models.selection import PRIMARY
from tier_ml.models.training import TrainedModels

POINT_METRICS = ("pr_auc", "brier", "ece", "normalized_gini")
DATA_FIELDS = (
    "source",
    "data_start",
    "data_end",
    "customers",
    "deals",
    "activities",
    "deal_history",
    "quarantined",
)
BASELINE_CALIBRATION = "isotonic mapping of the baseline's score"


def _plain(value: Any) -> Any:
    """JSON's own values: no numpy scalars, no NaN (not JSON)."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def known_limits(
    profile: Mapping[str, Any],
    evidence: str,
    minimum_data: Mapping[str, Any],
    known_at_creation: Sequence[str],
) -> list[dict[str, str]]:
    """What this training could not see, each with a code (for translations) and a sentence."""
    limits = []
    if not profile.get("activities"):
        limits.append(
            {
                "code": "no_activities",
                "text": "No activities in this data: engagement (visits, meetings, calls) plays "
                "no part in the win probability or the tiers.",
            }
        )
    if not profile.get("deal_history"):
        limits.append(
            {
                "code": "no_deal_history",
                "text": "No deal history: open deals' "
                + (", ".join(known_at_creation) or "fields")
                + " are read as set at creation; a CRM that rewrites them at the close leaks "
                "the outcome into training.",
            }
        )
    if "cross-validation" in evidence:
        limits.append(
            {
                "code": "cross_validation",
                "text": "Short history: the candidates were compared by customer "
                "cross-validation at the latest cutoff, not by replaying past dates, so the "
                "held-out metrics say less about the future.",
            }
        )
    if not minimum_data["passed"]:
        limits.append({"code": "minimum_data", "text": str(minimum_data["message"])})
    return limits


def held_out(champion: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The champion's metrics at the evaluation origins: the primary ones with their
    difference from the best baseline and its 95 % paired interval, then the others."""
    with_interval = [
        {
            "metric": m,
            "value": champion.get(m),
            "vs_best_baseline": champion.get(f"{m}_vs_best_baseline"),
            "low": champion.get(f"{m}_low"),
            "high": champion.get(f"{m}_high"),
        }
        for m in PRIMARY
    ]
    return with_interval + [{"metric": m, "value": champion.get(m)} for m in POINT_METRICS]


def model_card(
    profile: Mapping[str, Any],
    models: TrainedModels,
    versions: Mapping[str, int | None],
    calibration: str,
    known_at_creation: Sequence[str],
) -> dict[str, Any]:
    """The card of one training: data, cutoffs, the candidates and why the champion won, its
    held-out metrics and calibration, and its known limits."""
    selection = models.selection.as_dict()
    candidates = [
        {k: _plain(v) for k, v in row.items()}
        for row in models.selection.table.to_dict(orient="records")
    ]
    champion = next((row for row in candidates if row["champion"]), {})
    method = models.champion.method
    return {
        "champion": {
            "method": method,
            "label": selection["champion_label"],
            "best_baseline": selection["best_baseline"],
            "reason": selection["reason"],
            "evidence": selection["evidence"],
            "versions": {k: int(v) for k, v in versions.items() if v is not None},
        },
        "data": {k: _plain(profile.get(k)) for k in DATA_FIELDS},
        "training": {
            # trained_through is the end of the last cutoff's label window
            "horizon_days": (models.trained_through - models.cutoffs[-1]).days,
            "cutoffs": [t.date().isoformat() for t in models.cutoffs],
            "trained_through": models.trained_through.date().isoformat(),
            "positives": models.check.positives,
            "negatives": models.check.negatives,
            "features": len(models.features),
        },
        "held_out": held_out(champion),
        "calibration": {
            "method": calibration if method in MODELS else BASELINE_CALIBRATION,
            "ece": champion.get("ece"),
        },
        "candidates": candidates,
        "limits": known_limits(
            profile, selection["evidence"], models.check.as_dict(), known_at_creation
        ),
    }


def _number(value: float | None, sign: str = "") -> str:
    """Three decimals; `sign="+"` for a difference."""
    return "–" if value is None else f"{value:{sign}.3f}"


def card_markdown(card: Mapping[str, Any]) -> str:
    """The card for a reader of the MLflow run."""
    champion, data, training = card["champion"], card["data"], card["training"]
    cutoffs = training["cutoffs"]
    lines = [
        "# Model card",
        "",
        f"**Champion:** {champion['label']} ({champion['method']}), versions "
        + ", ".join(f"{k} {v}" for k, v in champion["versions"].items()),
        "",
        f"{champion['reason'][:1].upper()}{champion['reason'][1:]}. "
        f"Evidence: {champion['evidence']}.",
        "",
        "## Data",
        "",
        f"{data['source']} from {data['data_start']} to {data['data_end']}: "
        f"{data['customers']} customers, {data['deals']} deals, {data['activities']} activities, "
        f"{data['deal_history']} deal-history rows, {data['quarantined']} rows set aside.",
        "",
        "## Training",
        "",
        f"{len(cutoffs)} cutoffs from {cutoffs[0]} to {cutoffs[-1]}, horizon "
        f"{training['horizon_days']} days, trained through {training['trained_through']}; "
        f"{training['positives']} positive and {training['negatives']} negative examples, "
        f"{training['features']} features.",
        "",
        "## Held-out metrics",
        "",
        "| metric | value | vs best baseline [95 % interval] |",
        "|---|---|---|",
    ]
    for m in card["held_out"]:
        interval = (
            f"{_number(m['vs_best_baseline'], '+')} "
            f"[{_number(m['low'], '+')}, {_number(m['high'], '+')}]"
            if "low" in m
            else ""
        )
        lines.append(f"| {m['metric']} | {_number(m['value'])} | {interval} |")
    calibration = card["calibration"]
    lines += [
        "",
        f"**Calibration:** {calibration['method']}; expected calibration error "
        f"{_number(calibration['ece'])}.",
        "",
        "## Candidates",
        "",
        "| method | AUC | top-10 % revenue capture | champion |",
        "|---|---|---|---|",
        *(
            f"| {c['label']} | {_number(c['auc'])} | {_number(c['top_decile_capture'])} | "
            f"{'yes' if c['champion'] else ''} |"
            for c in card["candidates"]
        ),
        "",
        "## Known limits",
        "",
        *([f"- {limit['text']}" for limit in card["limits"]] or ["- none recorded"]),
    ]
    return "\n".join(lines) + "\n"
