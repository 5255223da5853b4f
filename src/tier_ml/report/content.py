"""What the leadership report says: numbers from the scores, the backtest and data health,
gathered into plain structures that the template only lays out."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tier_ml.models.candidates import BASELINES, CANDIDATES, LABELS
from tier_ml.tiering import ACTIONS, TIERS

WORDS = {
    "en": {
        "title": "Customer tiers",
        "as_of": "as of",
        "headline": "Headline",
        "customers": "customers",
        "expected_revenue": "expected revenue",
        "changes": "changes since the last run",
        "up": "moved up",
        "down": "moved down",
        "new": "new",
        "tiers": "What the tiers mean",
        "drivers": "What drives the tiers",
        "act_now": "Act now",
        "top_accounts": "Top A accounts",
        "movers": "Biggest movers",
        "accuracy": "How accurate were past tiers",
        "health": "Data health",
        "customer": "Customer",
        "tier": "Tier",
        "p_win": "Win probability",
        "value": "Expected value",
        "reasons": "Why",
        "owner": "Owner",
        "method": "Method",
        "win_rate": "Realised win rate",
        "capture": "Revenue share",
        "lift": "Lift",
        "predicted": "Predicted win rate",
        "quarantined": "rows set aside at ingest",
        "cold_start": "customers with no history yet",
        "rules_only": "Not enough data for a model: tiers come from the rules scorecard.",
        "no_value": "Expected value is not available in rules-only mode: tiers follow the "
        "rank of the scorecard score, which is not money.",
        "no_backtest": "No backtest has been run yet.",
        "from": "from",
        "tier_meaning": {
            "A": "Highest expected value: the accounts most likely to close soon and big.",
            "B": "Strong prospects worth a planned push this quarter.",
            "C": "Lower value now; keep warm with light-touch nurturing.",
            "D": "Little expected in the horizon; do not spend selling time now.",
        },
        "raises": "raises",
        "lowers": "lowers",
        "pts": "pts",
        "gate": "Model promotion",
        "promoted": "promoted",
        "kept": "kept the champion",
        "tier_source": "Which method sets the tiers",
        "evidence": "Evidence",
        "equal_shares": "Every method is tiered at the same customer shares (each method's tier A "
        "holds the same number of customers), so the rows compare like with like.",
        "scientists": "For data scientists: the candidates against the best baseline",
        "gloss": "Means over the evaluation origins; Δ is the difference from the best baseline "
        "({best}) with its 95 % paired-bootstrap interval over customers: an interval wholly "
        "above 0 is better with 95 % confidence, wholly below 0 worse. A model becomes champion "
        "only if better on one and worse on none.",
        "auc": "AUC",
        "capture_10": "Top-10 % revenue capture",
        "delta": "Δ vs best baseline",
        "champion": "champion",
        "best_baseline": "best baseline",
    },
    "zh": {
        "title": "客户分级",
        "as_of": "截至",
        "headline": "概览",
        "customers": "客户数",
        "expected_revenue": "预期收入",
        "changes": "与上次相比的变化",
        "up": "上调",
        "down": "下调",
        "new": "新增",
        "tiers": "各级别含义",
        "drivers": "分级的主要因素",
        "act_now": "立即行动",
        "top_accounts": "A 级重点客户",
        "movers": "变化最大的客户",
        "accuracy": "历史分级的准确度",
        "health": "数据健康",
        "customer": "客户",
        "tier": "级别",
        "p_win": "成交概率",
        "value": "预期价值",
        "reasons": "原因",
        "owner": "负责人",
        "method": "方法",
        "win_rate": "实际成交率",
        "capture": "收入占比",
        "lift": "提升倍数",
        "predicted": "预测成交率",
        "quarantined": "导入时隔离的记录",
        "cold_start": "尚无历史的客户",
        "rules_only": "数据不足以训练模型：分级来自规则评分卡。",
        "no_value": "仅规则模式下没有预期价值：分级按评分卡得分的排序，该得分不是金额。",
        "no_backtest": "尚未运行回测。",
        "from": "从",
        "tier_meaning": {
            "A": "预期价值最高：最可能尽快大额成交的客户。",
            "B": "值得本季度重点推进的潜在客户。",
            "C": "当前价值较低，以轻量方式持续培育。",
            "D": "预期期内收益很少，暂不投入销售时间。",
        },
        "raises": "提升",
        "lowers": "降低",
        "pts": "个百分点",
        "gate": "模型晋升",
        "promoted": "已晋升",
        "kept": "保留现有冠军模型",
        "tier_source": "由哪种方法决定分级",
        "evidence": "依据",
        "equal_shares": "各方法按相同的客户比例分级（每种方法的 A 级客户数相同），"
        "因此各行可以直接比较。",
        "scientists": "供数据科学家参考：各候选方法与最佳基线的比较",
        "gloss": "数值为各评估起点的平均值；Δ 为与最佳基线（{best}）之差，附按客户配对自助法得到的 "
        "95% 区间：区间整体高于 0 表示以 95% 的置信度更好，整体低于 0 表示更差。"
        "模型只有在至少一项更好且没有一项更差时才成为冠军。",
        "auc": "AUC",
        "capture_10": "前 10% 客户的收入占比",
        "delta": "与最佳基线之差",
        "champion": "冠军",
        "best_baseline": "最佳基线",
    },
}


METHOD_LABELS = {
    "en": LABELS,
    "zh": {
        "rfm": "RFM 五分位",
        "scorecard": "加权评分卡",
        "last_period_revenue": "上一期收入",
        "bgnbd": "BG/NBD + Gamma-Gamma",
        "model": "LightGBM 模型",
        "stacked": "堆叠模型（LightGBM 结合特征与基线输出）",
    },
}


def method_label(method: str, language: str) -> str:
    return METHOD_LABELS[language].get(method, method)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    return _capital(text.strip().rstrip(".")) + "."


def champion_statement(
    selection: dict[str, Any] | None, candidates: pd.DataFrame | None, language: str
) -> dict[str, str] | None:
    """Which method sets the tiers and why, in plain words, from `champion_selection`: the
    model where it beat the best baseline with confidence, else the baseline, said so."""
    if not selection or not selection.get("champion"):
        return None
    champion, best = selection["champion"], selection["best_baseline"]
    models_tried = candidates is None or candidates.empty or (~candidates["baseline"]).any()
    label, best_label = method_label(champion, language), method_label(best, language)
    origins = selection.get("origins") or []
    cross_validated = "cross-validation" in selection.get("evidence", "")
    if language == "zh":
        if champion not in BASELINES:
            text = (
                f"分级使用{label}：它以 95% 的置信度优于{best_label}，且在任何主要指标上都不更差。"
            )
        elif models_tried:
            text = f"在这段历史数据上，{best_label}的排序与模型一样好；分级使用{best_label}。"
        else:
            text = (
                f"数据尚不足以训练模型，冠军在基线方法中选出：{best_label}的 AUC 最高；"
                f"分级使用{best_label}。"
            )
        evidence = (
            "最新已标注截点上的客户交叉验证（历史不足以做时间回放）"
            if cross_validated
            else "滚动起点 " + "、".join(origins)
        )
    else:
        reason = selection["reason"]
        if champion in BASELINES and not models_tried:
            text = (
                "Not enough data for a model yet, so the champion is chosen among the baselines: "
                f"{reason}; tiers use {label}."
            )
        elif "tiers use" in reason:
            text = _sentence(reason)
        else:
            text = f"{_sentence(reason)[:-1]}; tiers use {label}."
        evidence = selection.get("evidence", "")
    return {
        "method": champion,
        "label": label,
        "text": text,
        "evidence": evidence,
        "baseline": str(champion in BASELINES).lower(),
    }


def _signed(value: float, scale: float = 1.0, digits: int = 3) -> str:
    return "–" if pd.isna(value) else f"{scale * value:+.{digits}f}"


def candidate_rows(
    candidates: pd.DataFrame | None, language: str, best_baseline: str | None = None
) -> list[dict[str, Any]]:
    """`model_metrics` as shown: each candidate's mean AUC and top-10 % revenue capture, and
    its difference from the best baseline with the 95 % paired-bootstrap interval."""
    if candidates is None or candidates.empty:
        return []
    rows = []
    for r in candidates.to_dict(orient="records"):
        auc = (r["auc_vs_best_baseline"], r["auc_low"], r["auc_high"])
        capture = (
            r["top_decile_capture_vs_best_baseline"],
            r["top_decile_capture_low"],
            r["top_decile_capture_high"],
        )
        rows.append(
            {
                "method": r["method"],
                "label": _capital(method_label(r["method"], language)),
                "champion": bool(r["champion"]),
                "baseline": bool(r["baseline"]),
                "best_baseline": r["method"] == best_baseline,
                "auc": None if pd.isna(r["auc"]) else float(r["auc"]),
                "capture": None
                if pd.isna(r["top_decile_capture"])
                else float(r["top_decile_capture"]),
                "auc_delta": f"{_signed(auc[0])} [{_signed(auc[1])}, {_signed(auc[2])}]",
                "capture_delta": (
                    f"{_signed(capture[0], 100, 1)} [{_signed(capture[1], 100, 1)}, "
                    f"{_signed(capture[2], 100, 1)}]"
                ),
            }
        )
    return rows


def figure_data_uri(figure: Figure) -> str:
    """A figure as an embedded PNG: the report needs no files and no network."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class ReportContent:
    """Everything the template shows."""

    language: str
    words: dict[str, Any]
    as_of: str
    headline: list[dict[str, Any]]
    changes: dict[str, int]
    tiers: list[dict[str, str]]
    drivers: dict[str, list[dict[str, Any]]]
    top_accounts: list[dict[str, Any]]
    movers: list[dict[str, Any]]
    accuracy: list[dict[str, Any]]
    accuracy_origin: str | None
    health: dict[str, Any]
    images: dict[str, str] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    champion: dict[str, str] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    best_baseline: str = ""


def latest_run(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timestamp]:
    as_of = history["as_of"].max()
    return history[history["as_of"] == as_of], as_of


def headline(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Customers and expected revenue per tier. Where no customer has a value (rules only
    without a score mapper) the sum is NaN, shown as "–", never a silent 0."""
    grouped = scores.groupby("tier").agg(
        customers=("customer_id", "size"),
        expected_value=("expected_value", lambda v: v.sum(min_count=1)),
    )
    empty_tier = 0.0 if scores["expected_value"].notna().any() else float("nan")
    grouped = grouped.reindex(list(TIERS)).fillna({"customers": 0, "expected_value": empty_tier})
    return [
        {"tier": t, "customers": int(r["customers"]), "expected_value": float(r["expected_value"])}
        for t, r in grouped.iterrows()
    ]


def changes(scores: pd.DataFrame) -> dict[str, int]:
    counts = scores["tier_change"].value_counts()
    return {k: int(counts.get(k, 0)) for k in ("up", "down", "same", "new")}


def drivers_by_tier(
    scores: pd.DataFrame, reasons: pd.DataFrame, labels: dict[str, str], top: int = 4
) -> dict[str, list[dict[str, Any]]]:
    """Per tier, the features that move the win probability most on average, in words."""
    merged = reasons.merge(scores[["customer_id", "tier"]], on="customer_id")
    out = {}
    for tier, group in merged.groupby("tier"):
        size = scores["tier"].eq(tier).sum()
        mean = group.groupby("feature")["contribution"].sum() / max(size, 1)
        strongest = mean.reindex(mean.abs().sort_values(ascending=False).index).head(top)
        out[tier] = [
            {"feature": labels.get(f, f.replace("_", " ")), "points": 100 * float(v)}
            for f, v in strongest.items()
        ]
    return out


def account_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    reasons = ["reason_1", "reason_2", "reason_3"]
    return [
        {
            "customer_id": r["customer_id"],
            "tier": r["tier"],
            "previous_tier": r["previous_tier"] if isinstance(r["previous_tier"], str) else "",
            "p_win": None if pd.isna(r["p_win"]) else float(r["p_win"]),
            "expected_value": float(r["expected_value"]),
            "owner": r["owner"] if isinstance(r["owner"], str) else "",
            "reasons": [r[c] for c in reasons if isinstance(r[c], str)],
            "change": r["tier_change_reason"] if r["tier_change"] in ("up", "down") else "",
            "risks": [r[c] for c in ("risk_1", "risk_2") if isinstance(r[c], str)],
        }
        for _, r in rows.iterrows()
    ]


def accuracy_rows(
    tier_table: pd.DataFrame, champion: str | None = None, language: str = "en"
) -> tuple[list[dict[str, Any]], str | None]:
    """The latest origin's tier table at equal shares: the champion first, then every other
    candidate, simplest first."""
    if tier_table.empty:
        return [], None
    origin = tier_table["origin"].max()
    latest = tier_table[tier_table["origin"] == origin]
    order = {m: i + 1 for i, m in enumerate(CANDIDATES)} | {champion: 0}
    latest = latest.sort_values(
        ["method", "tier"],
        key=lambda s: s.map(lambda m: order.get(m, len(order))) if s.name == "method" else s,
    )
    rows = [
        {k: (None if pd.isna(v) else v) for k, v in r.items()}
        | {
            "label": _capital(method_label(r["method"], language)),
            "champion": r["method"] == champion,
        }
        for r in latest[
            [
                "method",
                "tier",
                "customers",
                "realised_win_rate",
                "mean_predicted_p_win",
                "revenue_share",
                "lift",
            ]
        ].to_dict(orient="records")
    ]
    return rows, pd.Timestamp(origin).date().isoformat()


def build_content(
    history: pd.DataFrame,
    reasons: pd.DataFrame,
    tier_table: pd.DataFrame,
    quarantine: pd.DataFrame,
    labels: dict[str, str],
    language: str,
    top_accounts: int,
    movers: int,
    gate: dict[str, Any] | None,
    images: dict[str, str],
    selection: dict[str, Any] | None = None,
    candidates: pd.DataFrame | None = None,
) -> ReportContent:
    """`selection` is `champion_selection` and `candidates` is `model_metrics` (the
    per-candidate table): the report says which method sets the tiers and why."""
    words = WORDS[language]
    champion = champion_statement(selection, candidates, language)
    best = method_label(selection["best_baseline"], language) if champion else ""
    words = {**words, "gloss": words["gloss"].format(best=best)}
    scores, as_of = latest_run(history)
    if scores["expected_value"].isna().all():
        words = {**words, "rules_only": f"{words['rules_only']} {words['no_value']}"}
    run_reasons = reasons[reasons["as_of"] == as_of] if len(reasons) else reasons
    a_accounts = scores[scores["tier"] == "A"].nlargest(top_accounts, "expected_value")
    moved = scores[scores["tier_change"].isin(["up", "down"])]
    rank = {t: i for i, t in enumerate(TIERS)}
    jump = (
        moved["tier"].astype("object").map(rank).astype(float)
        - moved["previous_tier"].astype("object").map(rank).astype(float)
    ).abs()
    moved = moved.assign(size=jump).sort_values(["size", "expected_value"], ascending=False)
    accuracy, origin = accuracy_rows(tier_table, champion["method"] if champion else None, language)
    by_reason = (
        quarantine.groupby(["table", "reason"])
        .size()
        .rename("rows")
        .reset_index()
        .to_dict(orient="records")
        if len(quarantine)
        else []
    )
    return ReportContent(
        language=language,
        words=words,
        as_of=pd.Timestamp(as_of).date().isoformat(),
        headline=headline(scores),
        changes=changes(scores),
        tiers=[
            {"tier": t, "action": ACTIONS[language][t], "meaning": words["tier_meaning"][t]}
            for t in TIERS
        ],
        drivers=drivers_by_tier(scores, run_reasons, labels) if len(run_reasons) else {},
        top_accounts=account_rows(a_accounts),
        movers=account_rows(moved.head(movers)),
        accuracy=accuracy,
        accuracy_origin=origin,
        health={
            "quarantined": int(len(quarantine)),
            "quarantine_by_reason": by_reason,
            "cold_start": int(scores["cold_start"].sum()),
            "rules_only": bool((scores["source"] == "rules").all()),
            "customers": int(len(scores)),
        },
        images=images,
        gate=gate,
        champion=champion,
        candidates=candidate_rows(
            candidates, language, selection["best_baseline"] if champion else None
        ),
        best_baseline=best,
    )
