"""What the leadership report says: numbers from the scores, the backtest and data health,
gathered into plain structures that the template only lays out."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from tier_ml.explain import contribution_changes, tenths_of_points
from tier_ml.language import Language
from tier_ml.models.candidates import BASELINES, CANDIDATES, LABELS
from tier_ml.report.numbers import money, probability
from tier_ml.report.owners import UNASSIGNED, list_stems, owners
from tier_ml.report.plots import chart_language
from tier_ml.report.value_potential import value_potential
from tier_ml.tiering import ACTIONS, TIERS, moved_by_value

WORDS = {
    "en": {
        "title": "Customer tiers",
        "as_of": "as of",
        "data_to": "data to",
        "data_end_not_recorded": "data end not recorded",
        "headline": "Headline",
        "customers": "customers",
        "customers_one": "customer",
        "expected_value": "expected value",
        "horizon": "win probability and expected value over the next {days} days",
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
        "action": "Action",
        "meaning": "What it means",
        "p_win": "Win probability",
        "value": "Expected value",
        "reasons": "Why",
        "owner": "Owner",
        "method": "Method",
        "win_rate": "Realised win rate",
        "capture": "Revenue share",
        "lift": "Win rate against the average",
        "predicted": "Predicted win rate",
        "quarantined": "rows set aside at ingest",
        "quarantined_one": "row set aside at ingest",
        "cold_start": "customers with too little history to model",
        "cold_start_one": "customer with too little history to model",
        "no_purchases_yet": "customers with history but no purchase yet",
        "no_purchases_yet_one": "customer with history but no purchase yet",
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
        "pts_gloss": "pts: percentage points of win probability (+4.0 pts takes a 20% chance to "
        "24%).",
        "moved": "expected value {value_before} → {value_after}, win probability {p_before} → "
        "{p_after}",
        "moved_by": "; mostly {feature} ({points:+.1f} pts)",
        "lift_sentence": "Accounts tiered A on {origin} went on to buy {lift:.1f}× as often as "
        "the average account.",
        "capture_sentence": "In the backtests, the champion ({label}) found {share:.0%} of the "
        "revenue won in its top 10% of accounts",
        "capture_against": ", against {other_share:.0%} for {other} at the same share: "
        "{diff:+.1f} points (95% interval {low:+.1f} to {high:+.1f})",
        "capture_end": ".",
        "sentence_gap": " ",
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
        "ece": "ECE",
        "gini": "Gini",
        "capture_10": "Top-10 % revenue capture",
        "delta": "Δ vs best baseline",
        "champion": "champion",
        "best_baseline": "best baseline",
        "first_run": "First run: no previous tiers to compare.",
        "list_sep": ", ",
        "colon": ":",
        "comma": ",",
        "semicolon": ";",
        "period": ".",
        "parens": "({})",
        "value_of": "{value} expected value",
        "no_gate_reason": "no candidate met the promotion gate",
        "no_moves": "No account changed tier since the previous run.",
        "next_step": "Next step: ",
        "accounts": "accounts",
        "accounts_one": "account",
        "trends": {
            "title": "Trends and changes",
            "runs": "Customers and expected value per tier in each stored scoring run",
            "since": "Since the previous run ({date})",
            "before": "Then",
            "now": "Now",
            "change": "Change",
            "moves": "Tier moves since the previous run",
            "previous": "Tier then",
            "moves_gloss": "Each row is the tier at the previous run (or new), each column the "
            "tier now; the diagonal kept its tier.",
            "dropped": "customers of the previous run are no longer scored",
            "dropped_one": "customer of the previous run is no longer scored",
        },
        "owners": {
            "title": "For each owner, their list",
            "intro": "Each owner's A and B accounts, A first and largest first; the page shows the "
            "{shown} with the highest expected value. The full list of each owner's accounts, "
            "every tier, is in the file named beside the owner, in {folder}, ready to load "
            "into the CRM.",
            "unassigned": "Unassigned (no owner in the CRM)",
            "a_and_b": "Expected value of A and B",
            "file": "Full list",
            "full_list": "full list in {file}",
            "shown": "showing {shown} of {listed}",
            "moved": "Tier changes since the last run: ",
            "risk": "Risk",
            "more": " and {more} more",
            "no_accounts": "No A or B accounts.",
            "next_step": "Next step (B and C accounts): the smallest increase in one action "
            "(meetings, calls, open deals) that the champion model says would lift the account "
            "a tier. A accounts have no tier above; D accounts are on hold.",
            "no_next_step": "No next step in this run: only a LightGBM champion constrained "
            "to rise with meetings, calls and open pipeline (train.monotone_increasing) gives "
            "one, and these tiers come from rules, a baseline, capacity per owner or a model "
            "without those constraints.",
        },
        "matrix": {
            "title": "Value and potential",
            "intro": "Current value is the revenue won in the last {days} days; potential is the "
            "expected value. Each is split at its median over the {customers} placed: current "
            "value above {value} is high, expected value above {potential} is high.",
            "axes": "Potential ↓ · current value →",
            "value": {"high": "High current value", "low": "Low current value"},
            "potential": {"high": "High potential", "low": "Low potential"},
            "names": {
                "grow": "Grow",
                "protect": "Protect",
                "develop": "Develop",
                "maintain": "Maintain",
            },
            "advice": {
                "grow": "buying now and expected to buy more: keep senior attention here",
                "protect": "buying now, less expected: find out why before the revenue goes",
                "develop": "little revenue now, much expected: selling time pays most here",
                "maintain": "little now, little expected: keep in touch at low cost",
            },
            "largest": "Largest: ",
            "by_tier": "Where each tier falls",
            "none": "The matrix needs expected value in money and last-period revenue; this run "
            "has no customer with both.",
        },
        "drift": {
            "title": "Population drift",
            "alert": "Drift alert",
            "alert_intro": "inputs moved beyond PSI 0.25 —",
            "alert_advice": "The tiers may not mean what they meant before; see",
            "since": {"training": "since training", "previous_run": "since the previous run"},
            "vs": {"training": "PSI vs training", "previous_run": "PSI vs previous run"},
            "compared": "Inputs compared",
            "input": "Input",
            "level": "Level",
            "levels": {"stable": "stable", "warning": "watch", "alert": "alert"},
            "tier": "Tier shares",
            "gloss": "PSI (population stability index) compares the share of customers in each "
            "band of an input with the training data and with the previous run: below 0.1 "
            "stable, 0.1 to 0.25 worth watching, above 0.25 a shift large enough to question "
            "the tiers.",
            "stable": "Every input is stable (PSI below 0.1).",
            "none": "No drift measured yet: the champion came without a training distribution "
            "and there is no earlier run.",
        },
        "card": {
            "title": "Appendix: model card",
            "champion": "Champion",
            "versions": "registered versions",
            "data": "Data",
            "deals": "deals",
            "activities": "activities",
            "deal_history": "deal-history rows",
            "training": "Training",
            "cutoffs": "cutoffs",
            "trained_through": "trained through",
            "horizon": "horizon {days} days",
            "examples": "positive / negative examples",
            "candidates": "Candidates",
            "held_out": "Held-out metrics",
            "calibration": "Calibration",
            "limits": "Known limits",
            "no_limits": "None recorded.",
            "metrics": {
                "auc": "AUC",
                "top_decile_capture": "Top-10 % revenue capture",
                "pr_auc": "PR-AUC",
                "brier": "Brier score",
                "ece": "ECE",
                "normalized_gini": "Gini",
            },
            "limit_texts": {},  # English is the card's own text
            "calibration_methods": {},  # English is the card's own text
        },
        "glossary": [
            "AUC: the chance that a customer who bought is ranked above one who did not "
            "(0.5 is a coin toss, 1 is perfect).",
            "ECE (expected calibration error): the average gap between predicted and realised "
            "win rates; 0.03 means predictions are off by 3 points on average.",
            "Gini (normalised): how well customers are ordered by the revenue they went on to "
            "bring; 0 is random, 1 is the best possible order.",
            "Lift: a tier's realised win rate divided by the overall win rate; 3.0 means that "
            "tier bought three times as often as the average customer.",
            "Top-10 % revenue capture: the share of all revenue won that came from the 10 % of "
            "customers ranked highest; its Δ is in percentage points (pts).",
        ],
    },
    "zh": {
        "title": "客户分级",
        "as_of": "截至",
        "data_to": "数据截至",
        "data_end_not_recorded": "数据截止日期未记录",
        "headline": "概览",
        "customers": "客户数",
        "customers_one": "客户数",
        "expected_value": "预期价值",
        "horizon": "成交概率与预期价值均按未来 {days} 天计",
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
        "action": "行动",
        "meaning": "含义",
        "p_win": "成交概率",
        "value": "预期价值",
        "reasons": "原因",
        "owner": "负责人",
        "method": "方法",
        "win_rate": "实际成交率",
        "capture": "收入占比",
        "lift": "相对平均成交率",
        "predicted": "预测成交率",
        "quarantined": "导入时隔离的记录",
        "quarantined_one": "导入时隔离的记录",
        "cold_start": "历史过少、无法建模的客户",
        "cold_start_one": "历史过少、无法建模的客户",
        "no_purchases_yet": "有往来但尚未成交的客户",
        "no_purchases_yet_one": "有往来但尚未成交的客户",
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
        "pts_gloss": "个百分点：成交概率的百分点（+4.0 个百分点即从 20% 升至 24%）。",
        "moved": "预期价值 {value_before} → {value_after}，成交概率 {p_before} → {p_after}",
        "moved_by": "；主要来自{feature}（{points:+.1f} 个百分点）",
        "lift_sentence": "{origin} 划为 A 级的客户，此后的成交频率是平均客户的 {lift:.1f} 倍。",
        "capture_sentence": "在回测中，冠军方法（{label}）排名前 10% 的客户贡献了 "
        "{share:.0%} 的成交收入",
        "capture_against": "，{other}在相同比例下为 {other_share:.0%}：相差 {diff:+.1f} 个百分点"
        "（95% 区间 {low:+.1f} 至 {high:+.1f}）",
        "capture_end": "。",
        "sentence_gap": "",
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
        "ece": "ECE",
        "gini": "Gini",
        "capture_10": "前 10% 客户的收入占比",
        "delta": "与最佳基线之差",
        "champion": "冠军",
        "best_baseline": "最佳基线",
        "first_run": "首次运行：没有可比较的上次分级。",
        "list_sep": "、",
        "colon": "：",
        "comma": "，",
        "semicolon": "；",
        "period": "。",
        "parens": "（{}）",
        "value_of": "预期价值 {value}",
        "no_gate_reason": "没有候选模型通过晋升条件",
        "no_moves": "自上次运行以来，没有客户变更级别。",
        "next_step": "下一步：",
        "accounts": "个客户",
        "accounts_one": "个客户",
        "trends": {
            "title": "趋势与变化",
            "runs": "已存储的每次评分运行中，各级别的客户数与预期价值",
            "since": "与上次运行（{date}）相比",
            "before": "上次",
            "now": "本次",
            "change": "变化",
            "moves": "自上次运行以来的级别变动",
            "previous": "上次级别",
            "moves_gloss": "每行为上次运行时的级别（或新增），每列为本次的级别；"
            "对角线上的客户级别未变。",
            "dropped": "个上次运行中的客户本次未再评分",
            "dropped_one": "个上次运行中的客户本次未再评分",
        },
        "owners": {
            "title": "每位负责人的名单",
            "intro": "每位负责人的 A 级和 B 级客户，A 级在前、金额大者在前；本页列出预期价值最高的 "
            "{shown} 个。每位负责人全部客户（所有级别）的完整名单见负责人旁所列的文件，位于 "
            "{folder}，可直接导入 CRM。",
            "unassigned": "未分配（CRM 中没有负责人）",
            "a_and_b": "A 级和 B 级的预期价值",
            "file": "完整名单",
            "full_list": "完整名单见 {file}",
            "shown": "显示 {listed} 个中的 {shown} 个",
            "moved": "自上次运行以来的级别变化：",
            "risk": "风险",
            "more": "，另有 {more} 个",
            "no_accounts": "没有 A 级或 B 级客户。",
            "next_step": "下一步（B 级和 C 级客户）：冠军模型认为能使客户升一级的单项行动"
            "（会议、电话、进行中的商机）的最小增量。A 级之上没有更高级别；D 级客户暂缓接触。",
            "no_next_step": "本次没有“下一步”建议：只有对会议、电话和进行中的商机设置了单调约束"
            "（train.monotone_increasing）的 LightGBM 冠军模型才会给出；本次分级来自规则、基线、"
            "按负责人容量分级，或未设约束的模型。",
        },
        "matrix": {
            "title": "价值与潜力",
            "intro": "当前价值为最近 {days} 天的成交收入；潜力为预期价值。"
            "两者各按 {customers}的中位数划分：当前价值高于 {value} 为高，"
            "预期价值高于 {potential} 为高。",
            "axes": "潜力 ↓ · 当前价值 →",
            "value": {"high": "当前价值高", "low": "当前价值低"},
            "potential": {"high": "潜力高", "low": "潜力低"},
            "names": {
                "grow": "巩固增长",
                "protect": "防止流失",
                "develop": "重点开发",
                "maintain": "低成本维护",
            },
            "advice": {
                "grow": "当前在购买，且预计会买得更多：保持高层关注",
                "protect": "当前在购买，但预期下降：在收入流失前查明原因",
                "develop": "当前收入少，预期很高：投入销售时间回报最大",
                "maintain": "当前少，预期也少：以低成本保持联系",
            },
            "largest": "最大客户：",
            "by_tier": "各级别的分布",
            "none": "矩阵需要以金额计的预期价值和上一期收入；本次运行没有同时具备两者的客户。",
        },
        "drift": {
            "title": "人群漂移",
            "alert": "漂移警报",
            "alert_intro": "以下输入的 PSI 超过 0.25——",
            "alert_advice": "分级的含义可能已与之前不同，详见",
            "since": {"training": "相对训练数据", "previous_run": "相对上次运行"},
            "vs": {"training": "相对训练的 PSI", "previous_run": "相对上次运行的 PSI"},
            "compared": "比较的输入数",
            "input": "输入",
            "level": "程度",
            "levels": {"stable": "稳定", "warning": "关注", "alert": "警报"},
            "tier": "各级别占比",
            "gloss": "PSI（人群稳定性指数）比较每个输入各区间的客户占比与训练数据及上次运行的差异："
            "低于 0.1 为稳定，0.1 至 0.25 值得关注，高于 0.25 表示变化大到足以质疑分级。",
            "stable": "所有输入均稳定（PSI 低于 0.1）。",
            "none": "尚未测量漂移：冠军模型没有训练分布，也没有更早的运行。",
        },
        "card": {
            "title": "附录：模型卡",
            "champion": "冠军模型",
            "versions": "注册版本",
            "data": "数据",
            "deals": "商机",
            "activities": "活动",
            "deal_history": "商机历史记录",
            "training": "训练",
            "cutoffs": "个截点",
            "trained_through": "训练截至",
            "horizon": "预测期 {days} 天",
            "examples": "正例 / 负例",
            "candidates": "候选方法",
            "held_out": "留出评估指标",
            "calibration": "校准",
            "limits": "已知局限",
            "no_limits": "无。",
            "metrics": {
                "auc": "AUC",
                "top_decile_capture": "前 10% 客户的收入占比",
                "pr_auc": "PR-AUC",
                "brier": "Brier 分数",
                "ece": "ECE",
                "normalized_gini": "Gini",
            },
            "calibration_methods": {
                "platt": "Platt 缩放（逻辑回归）",
                "isotonic": "保序回归",
                "none": "不校准（模型自身的概率）",
                "isotonic mapping of the baseline's score": "基线分数的保序映射",
            },
            "limit_texts": {
                "no_activities": "数据中没有活动记录：拜访、会议、电话等互动不影响成交概率和分级。",
                "no_deal_history": "没有商机历史：未结商机会变化的字段按创建时的值读取；"
                "若 CRM 在成交时改写这些字段，结果会泄漏到训练中。",
                "cross_validation": "历史较短：候选方法以最新截点上的客户交叉验证比较，"
                "而非回放过去的日期，因此留出指标对未来的代表性较弱。",
                "minimum_data": "数据不足以训练模型：冠军在基线方法中选出。",
            },
        },
        "glossary": [
            "AUC：成交客户排在未成交客户之前的概率（0.5 相当于掷硬币，1 为完美）。",
            "ECE（期望校准误差）：预测成交率与实际成交率的平均差距；0.03 表示平均偏差 3 个百分点。",
            "Gini（标准化）：按客户之后带来的收入排序的好坏；0 为随机，1 为最佳排序。",
            "提升倍数（lift）：某级别的实际成交率除以整体成交率；"
            "3.0 表示该级别的成交频率是平均客户的三倍。",
            "前 10% 客户的收入占比：排名最高的 10% 客户贡献的成交收入占全部成交收入的比例；"
            "其差值以百分点计。",
        ],
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


ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def card_in(card: dict[str, Any] | None, language: str) -> dict[str, Any] | None:
    """The model card as the report says it: in English its own words; in another language
    the champion's reason and evidence (the champion statement's), the candidates' names and
    the calibration method from the catalogue."""
    if not card or language == "en":
        return card
    champion = card["champion"]
    selection = {
        "champion": champion["method"],
        "best_baseline": champion["best_baseline"],
        "evidence": champion["evidence"],
        "origins": ISO_DATE.findall(champion["evidence"]),
    }
    statement = champion_statement(selection, pd.DataFrame(card["candidates"]), language)
    methods = WORDS[language]["card"]["calibration_methods"]
    calibration = card["calibration"]
    return {
        **card,
        "champion": {**champion, "reason": statement["text"], "evidence": statement["evidence"]},
        "candidates": [
            {**row, "label": method_label(row["method"], language)} for row in card["candidates"]
        ],
        "calibration": {
            **calibration,
            "method": methods.get(calibration["method"], calibration["method"]),
        },
    }


def _signed(value: float, scale: float = 1.0, digits: int = 3) -> str:
    return "–" if pd.isna(value) else f"{scale * value:+.{digits}f}"


def _number(value: float | None) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def candidate_rows(
    candidates: pd.DataFrame | None, language: str, best_baseline: str | None = None
) -> list[dict[str, Any]]:
    """`model_metrics` as shown: each candidate's mean AUC, ECE, Gini and top-10 % revenue
    capture, and its difference from the best baseline with the 95 % paired-bootstrap
    interval."""
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
                "auc": _number(r["auc"]),
                "ece": _number(r.get("ece")),
                "gini": _number(r.get("normalized_gini")),
                "capture": _number(r["top_decile_capture"]),
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
    currency: str = ""
    horizon_days: int | None = None
    accuracy_sentence: str | None = None
    drift: dict[str, Any] | None = None  # tier_ml.drift.drift_overview
    model_card: dict[str, Any] | None = None  # tier_ml.model_card.model_card
    runs: int = 1  # scoring runs in the store
    since_previous: dict[str, Any] | None = None  # None on the first run
    owners: list[dict[str, Any]] = field(default_factory=list)
    owner_accounts: int = 0  # A and B accounts shown per owner
    value_potential: dict[str, Any] | None = None  # tier_ml.report.value_potential
    value_window_days: int | None = None  # the last period of the current value
    next_steps: bool = False  # some B or C account has a next step in this run
    # the last date of the data the latest run scored (None: a run stored before runs
    # recorded it)
    data_end: str | None = None

    @property
    def first_run(self) -> bool:
        return self.since_previous is None

    @property
    def value_label(self) -> str:
        """The expected-value axis: the number's name and its currency, in the charts'
        language (`plots.chart_language`: English where no CJK font would draw Chinese)."""
        words = WORDS[chart_language(self.language)]
        name = _capital(words["expected_value"])
        return name + words["parens"].format(self.currency) if self.currency else name

    @property
    def gate_reason(self) -> str:
        """Why the promotion gate decided as it did: the champion statement where it promoted
        or (not in English, which has the gate's own words) where there is one."""
        if self.champion and (self.gate["promote"] or self.language != "en"):
            return self.champion["text"]
        return self.gate["reason"] if self.language == "en" else self.words["no_gate_reason"]


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


def tier_trends(history: pd.DataFrame) -> pd.DataFrame:
    """Customers and expected value per tier in every stored run, oldest first: each run's
    `headline`, long (as_of, tier, customers, expected_value)."""
    runs = history.groupby("as_of")
    return pd.DataFrame([{"as_of": as_of, **row} for as_of, run in runs for row in headline(run)])


def since_previous(scores: pd.DataFrame, previous: pd.DataFrame) -> dict[str, Any] | None:
    """What changed since the previous run: per tier, customers and expected value then and
    now; the moves (each customer's tier then, or "new", against its tier now); how many
    customers of the previous run are no longer scored. None on a first run."""
    if previous.empty:
        return None
    moves = pd.crosstab(scores["previous_tier"].fillna("new"), scores["tier"]).reindex(
        index=[*TIERS, "new"], columns=list(TIERS), fill_value=0
    )
    return {
        "as_of": pd.Timestamp(previous["as_of"].iloc[0]).date().isoformat(),
        "tiers": [
            {
                "tier": now["tier"],
                "customers_before": then["customers"],
                "customers": now["customers"],
                "value_before": then["expected_value"],
                "value": now["expected_value"],
            }
            for then, now in zip(headline(previous), headline(scores), strict=True)
        ],
        "moves": [{"tier": t, "counts": [int(n) for n in row]} for t, row in moves.iterrows()],
        "dropped": int((~previous["customer_id"].isin(scores["customer_id"])).sum()),
    }


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
        mean = mean[tenths_of_points(mean.to_numpy()) != 0]  # no "raises 0.0 pts"
        strongest = mean.reindex(mean.abs().sort_values(ascending=False).index).head(top)
        out[tier] = [
            {"feature": labels.get(f, f.replace("_", " ")), "points": 100 * float(v)}
            for f, v in strongest.items()
        ]
    return out


def _move_drivers(
    moved: pd.DataFrame, reasons: pd.DataFrame, before: pd.Timestamp, after: pd.Timestamp
) -> pd.DataFrame:
    """Per moved customer, the feature whose contribution changed most in the move's
    direction (up: raised most), by a visible amount. The contributions explain the win
    probability: none where it moved against the tier (the amount moved the tier), or where
    the runs' reasons do not both know the feature."""
    if reasons.empty:
        return pd.DataFrame(columns=["feature", "change"])
    sign = moved["tier_change"].map({"up": 1, "down": -1})
    likelier = (moved["p_win"] - moved["p_win_before"]) * sign > 0
    direction = sign[likelier].set_axis(moved.loc[likelier, "customer_id"])
    changes = contribution_changes(reasons, before, after)
    changes = changes[changes["customer_id"].isin(direction.index)]
    along = changes["change"] * changes["customer_id"].map(direction).to_numpy()
    changes = changes[tenths_of_points(along.to_numpy(float)) > 0]
    return changes.loc[along[changes.index].groupby(changes["customer_id"]).idxmax()].set_index(
        "customer_id"
    )


def said_changes(
    rows: pd.DataFrame,
    previous: pd.DataFrame,
    reasons: pd.DataFrame,
    labels: Mapping[str, str],
    words: Mapping[str, Any],
    currency: str,
    language: Language = "en",
) -> pd.DataFrame:
    """`rows` with each tier-change reason that only repeats the move ("expected value moved
    it from C to A") replaced by what moved: expected value and win probability in the
    `previous` run and now, and the feature that changed most that way."""
    plain = rows["tier_change"].isin(["up", "down"]) & rows["tier_change_reason"].map(
        moved_by_value
    ).astype(bool)  # an empty map keeps the text dtype
    if previous.empty or not plain.any():
        return rows
    before = previous.set_index("customer_id")[["p_win", "expected_value"]].add_suffix("_before")
    moved = rows[plain].join(before, on="customer_id")
    moved = moved[moved[["expected_value", "expected_value_before"]].notna().all(axis=1)]
    drivers = _move_drivers(moved, reasons, previous["as_of"].iloc[0], rows["as_of"].iloc[0])
    said = rows["tier_change_reason"].astype("object").copy()
    for i, r in moved.iterrows():
        text = words["moved"].format(
            value_before=money(r["expected_value_before"], currency, language),
            value_after=money(r["expected_value"], currency, language),
            p_before=probability(r["p_win_before"]),
            p_after=probability(r["p_win"]),
        )
        if r["customer_id"] in drivers.index:
            driver = drivers.loc[r["customer_id"]]
            feature = labels.get(driver["feature"], driver["feature"].replace("_", " "))
            text += words["moved_by"].format(feature=feature, points=100 * driver["change"])
        said[i] = text
    return rows.assign(tier_change_reason=said)


def account_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    reasons = ["reason_1", "reason_2", "reason_3"]
    return [
        {
            "customer_id": r["customer_id"],
            "tier": r["tier"],
            "previous_tier": r["previous_tier"] if isinstance(r["previous_tier"], str) else "",
            "p_win": _number(r["p_win"]),
            "expected_value": float(r["expected_value"]),
            "owner": r["owner"] if isinstance(r["owner"], str) else "",
            "reasons": [r[c] for c in reasons if isinstance(r[c], str)],
            "change": r["tier_change_reason"] if r["tier_change"] in ("up", "down") else "",
            "risks": [r[c] for c in ("risk_1", "risk_2") if isinstance(r[c], str)],
            "next_step": r.get("next_step") if isinstance(r.get("next_step"), str) else "",
        }
        for _, r in rows.iterrows()
    ]


FOCUS = ("A", "B")  # the tiers an owner's list puts first


def owner_sections(scores: pd.DataFrame, shown: int) -> list[dict[str, Any]]:
    """A section per owner, by name with the unassigned last: their A and B accounts (the
    `shown` of highest expected value, A first, with the top reason and risk), their
    accounts that moved up or down since the last run (the first `shown`, and how many), and
    the file that holds the full list (`tier_ml.report.owners`)."""
    ordered = scores.assign(owner=owners(scores), list=list_stems(scores)).sort_values(
        ["tier", "expected_value"], ascending=[True, False]
    )
    sections = []
    for stem, accounts in ordered.groupby("list"):
        focus = accounts[accounts["tier"].isin(FOCUS)]
        moved = accounts[accounts["tier_change"].isin(["up", "down"])]
        moves = moved["tier_change"].value_counts()
        sections.append(
            {
                "owner": None if stem == UNASSIGNED else accounts["owner"].iloc[0],
                "file": f"{stem}.csv",
                "tiers": {t: int(focus["tier"].eq(t).sum()) for t in FOCUS},
                "expected_value": float(focus["expected_value"].sum(min_count=1)),
                "up": int(moves.get("up", 0)),
                "down": int(moves.get("down", 0)),
                "listed": len(focus),
                "rows": account_rows(focus.head(shown)),
                "moved": moved[["customer_id", "previous_tier", "tier"]]
                .head(shown)
                .to_dict(orient="records"),
                "moved_count": len(moved),
            }
        )
    return sorted(sections, key=lambda s: (s["owner"] is None, s["owner"] or ""))


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


def _best_model(candidates: pd.DataFrame) -> str | None:
    """The model candidate with the highest top-10 % capture, if any model was tried."""
    models = candidates[~candidates["baseline"]]["top_decile_capture"].dropna()
    return None if models.empty else str(models.idxmax())


def _capture_sentence(
    candidates: pd.DataFrame,
    champion: str,
    best_baseline: str,
    words: Mapping[str, Any],
    language: str,
) -> str | None:
    """The champion's top-10 % revenue capture against the best alternative at the same share
    (the best baseline, or for a baseline champion the best model), with the 95 % paired
    interval of the difference that `model_metrics` holds against the best baseline."""
    rows = candidates.set_index("method")
    if champion not in rows.index or pd.isna(rows.at[champion, "top_decile_capture"]):
        return None
    said = words["capture_sentence"].format(
        label=method_label(champion, language), share=rows.at[champion, "top_decile_capture"]
    )
    other = best_baseline if champion != best_baseline else _best_model(rows)
    if other is None or other not in rows.index:
        return said + words["capture_end"]
    # model_metrics holds every candidate's difference from the best baseline
    measured = rows.loc[champion if other == best_baseline else other]
    sign = 1 if other == best_baseline else -1
    low, high = sorted(
        sign * 100 * measured[c] for c in ("top_decile_capture_low", "top_decile_capture_high")
    )
    return (
        said
        + words["capture_against"].format(
            other=method_label(other, language),
            other_share=rows.at[other, "top_decile_capture"],
            diff=sign * 100 * measured["top_decile_capture_vs_best_baseline"],
            low=low,
            high=high,
        )
        + words["capture_end"]
    )


def accuracy_sentence(
    tier_table: pd.DataFrame,
    candidates: pd.DataFrame | None,
    selection: dict[str, Any] | None,
    words: Mapping[str, Any],
    language: str,
) -> str | None:
    """Accuracy for leadership in plain words and real numbers: how much more often the
    champion's tier A bought at the latest backtest origin, and how much revenue its top
    10 % held against the best alternative, with the interval of the difference."""
    if not selection or not selection.get("champion"):
        return None
    champion = selection["champion"]
    parts = []
    if not tier_table.empty:
        latest = tier_table[tier_table["origin"] == tier_table["origin"].max()]
        tier_a = latest[(latest["method"] == champion) & (latest["tier"] == "A")]["lift"].dropna()
        if len(tier_a):
            origin = pd.Timestamp(latest["origin"].iloc[0]).date().isoformat()
            parts.append(words["lift_sentence"].format(origin=origin, lift=tier_a.iloc[0]))
    if candidates is not None and not candidates.empty:
        capture = _capture_sentence(
            candidates, champion, selection["best_baseline"], words, language
        )
        parts += [capture] if capture else []
    return words["sentence_gap"].join(parts) or None


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
    currency: str = "",
    horizon_days: int | None = None,
    owner_accounts: int = 5,
    current_value: pd.DataFrame | None = None,
    value_window_days: int | None = None,
) -> ReportContent:
    """`selection` is `champion_selection` and `candidates` is `model_metrics` (the
    per-candidate table): the report says which method sets the tiers and why, and how
    accurate past tiers were. Money is said in `currency`; `horizon_days` is the window the
    win probability and expected value look ahead. Each owner's list shows `owner_accounts`
    A and B accounts; `current_value` (`customer_id, current_value`: the revenue won in the
    last `value_window_days`) places the customers in the value–potential matrix."""
    words = WORDS[language]
    champion = champion_statement(selection, candidates, language)
    best = method_label(selection["best_baseline"], language) if champion else ""
    words = {**words, "gloss": words["gloss"].format(best=best)}
    scores, as_of = latest_run(history)
    previous, _ = latest_run(history[history["as_of"] < as_of])
    said = partial(
        said_changes,
        previous=previous,
        reasons=reasons,
        labels=labels,
        words=words,
        currency=currency,
        language=language,
    )
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
        top_accounts=account_rows(said(a_accounts)),
        movers=account_rows(said(moved.head(movers))),
        accuracy=accuracy,
        accuracy_origin=origin,
        health={
            "quarantined": int(len(quarantine)),
            "quarantine_by_reason": by_reason,
            "cold_start": int(scores["cold_start"].sum()),
            "no_purchases_yet": (  # None for a run scored before it was counted
                int(scores["no_purchases_yet"].sum())
                if scores.get("no_purchases_yet", pd.Series()).notna().any()
                else None
            ),
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
        currency=currency,
        horizon_days=horizon_days,
        accuracy_sentence=accuracy_sentence(tier_table, candidates, selection, words, language),
        runs=int(history["as_of"].nunique()),
        since_previous=since_previous(scores, previous),
        owners=owner_sections(scores, owner_accounts),
        owner_accounts=owner_accounts,
        value_potential=None if current_value is None else value_potential(scores, current_value),
        value_window_days=value_window_days,
        next_steps=bool(scores.get("next_step", pd.Series(dtype="str")).fillna("").ne("").any()),
    )
