"""The report's owner lists (and their CRM files), trends across runs and value–potential
matrix, on small hand-made runs whose answers are known."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from kedro.io import DatasetError

from tests.conftest import base_parameters, env_config
from tier_ml.features.config import FeatureParams
from tier_ml.io.folders import CsvFolderDataset
from tier_ml.pipelines.report import create_pipeline
from tier_ml.pipelines.report.nodes import measure_current_value, window_days
from tier_ml.report.content import (
    WORDS,
    build_content,
    owner_sections,
    since_previous,
    tier_trends,
)
from tier_ml.report.html import render
from tier_ml.report.numbers import count_change, money_change
from tier_ml.report.owners import WRITEBACK_COLUMNS, file_stems, owner_lists
from tier_ml.report.plots import trend_figure
from tier_ml.report.value_potential import quadrants, value_potential

AS_OF = pd.Timestamp("2025-12-31")
BEFORE = AS_OF - pd.Timedelta(days=30)


def _account(customer_id, owner, tier, value, previous=None, change="same", as_of=AS_OF):
    return {
        "customer_id": customer_id,
        "as_of": as_of,
        "p_win": 0.5,
        "expected_value": value,
        "tier": tier,
        "previous_tier": previous,
        "tier_change": change if previous else "new",
        "owner": owner,
        "cold_start": False,
        "source": "model",
        "tier_change_reason": "",
        "reason_1": f"reason of {customer_id}",
        "reason_2": None,
        "reason_3": None,
        "risk_1": f"risk of {customer_id}",
        "risk_2": None,
    }


def latest() -> pd.DataFrame:
    """Ann owns four accounts (two moved up, one down), Bo Lee two, and two have no owner
    (one missing, one blank)."""
    return pd.DataFrame(
        [
            _account("A1", "Ann", "A", 900.0, "A"),
            _account("A2", "Ann", "B", 400.0, "C", "up"),
            _account("A3", "Ann", "A", 500.0, "B", "up"),
            _account("A4", "Ann", "C", 50.0, "B", "down"),
            _account("B1", "Bo Lee", "B", 300.0, "B"),
            _account("B2", "Bo Lee", "D", 5.0),
            _account("U1", None, "A", 700.0, "A"),
            _account("U2", "  ", "C", 40.0, "C"),
        ]
    )


def previous() -> pd.DataFrame:
    """The run before: the same accounts at their previous tiers, and X9, not scored since."""
    return pd.DataFrame(
        [
            _account(c, o, t, v, as_of=BEFORE)
            for c, o, t, v in [
                ("A1", "Ann", "A", 800.0),
                ("A2", "Ann", "C", 60.0),
                ("A3", "Ann", "B", 300.0),
                ("A4", "Ann", "B", 350.0),
                ("B1", "Bo Lee", "B", 250.0),
                ("U1", None, "A", 600.0),
                ("U2", "  ", "C", 45.0),
                ("X9", "Ann", "D", 1.0),
            ]
        ]
    )


def history() -> pd.DataFrame:
    return pd.concat([previous(), latest()], ignore_index=True)


# (current value, expected value): medians 25 and 350, two customers in each quadrant
CURRENT = pd.DataFrame(
    {
        "customer_id": ["A1", "A2", "A3", "A4", "B1", "B2", "U1", "U2"],
        "current_value": [1000.0, 0.0, 0.0, 300.0, 200.0, 0.0, 50.0, 0.0],
    }
)


def _content(runs: pd.DataFrame, language: str = "en", **kwargs):
    nothing = pd.DataFrame()
    args = (runs, nothing, nothing, nothing, {}, language, 10, 10, None, {})
    return build_content(*args, currency="USD", **kwargs)


# Owners' lists


def test_each_owner_gets_a_crm_file_and_the_unassigned_get_their_own():
    lists = owner_lists(latest())
    assert set(lists) == {"Ann", "Bo_Lee", "unassigned"}
    ann = lists["Ann"]
    assert list(ann.columns) == WRITEBACK_COLUMNS
    # every tier, A first and largest first, with the tier before and the top reason and risk
    assert ann.to_dict(orient="list") == {
        "customer_id": ["A1", "A3", "A2", "A4"],
        "tier": ["A", "A", "B", "C"],
        "previous_tier": ["A", "B", "C", "B"],
        "p_win": [0.5] * 4,
        "expected_value": [900.0, 500.0, 400.0, 50.0],
        "top_reason": [f"reason of {c}" for c in ("A1", "A3", "A2", "A4")],
        "risk": [f"risk of {c}" for c in ("A1", "A3", "A2", "A4")],
        "as_of": ["2025-12-31"] * 4,
    }
    # a missing and a blank owner are both unassigned; no account is dropped
    assert lists["unassigned"]["customer_id"].tolist() == ["U1", "U2"]
    assert sum(len(frame) for frame in lists.values()) == len(latest())


def test_owner_file_names_are_safe_and_never_collide():
    stems = file_stems(["../etc/passwd", "王伟", "A Smith", "A.Smith", "a smith", "Unassigned"])
    assert stems["../etc/passwd"] == "etc_passwd" and stems["王伟"] == "王伟"
    smiths = [stems[n] for n in ("A Smith", "A.Smith", "a smith")]
    assert len({s.casefold() for s in smiths}) == 3
    assert all(re.fullmatch(r"(A|a)_(Smith|smith)-[0-9a-f]{6}", s) for s in smiths)
    assert stems["Unassigned"].startswith("Unassigned-")  # the unassigned list keeps its name


def test_owner_sections_show_the_top_accounts_and_what_moved():
    zoe = pd.DataFrame([_account("Z1", "zoe", "B", 10.0, "B")])
    sections = owner_sections(pd.concat([latest(), zoe]), shown=1)
    assert [s["owner"] for s in sections] == ["Ann", "Bo Lee", "zoe", None]
    ann, bo, _, unassigned = sections
    assert ann["tiers"] == {"A": 2, "B": 1} and ann["expected_value"] == 1800.0
    assert (ann["up"], ann["down"], ann["listed"]) == (2, 1, 3)
    assert [r["customer_id"] for r in ann["rows"]] == ["A1"]
    assert ann["moved"] == [{"customer_id": "A3", "previous_tier": "B", "tier": "A"}]
    assert ann["moved_count"] == 3
    # only A and B accounts are listed, however many may be shown
    rows = owner_sections(latest(), shown=5)[0]["rows"]
    assert [r["customer_id"] for r in rows] == ["A1", "A3", "A2"]
    assert bo["file"] == "Bo_Lee.csv" and [r["customer_id"] for r in bo["rows"]] == ["B1"]
    assert unassigned["file"] == "unassigned.csv"
    assert [r["customer_id"] for r in unassigned["rows"]] == ["U1"]


def test_the_owner_section_renders_each_list_and_says_where_the_full_list_is():
    html = render(_content(history(), owner_accounts=1))
    owners = html.split('<section id="owners">')[1].split("</section>")[0]
    assert "the page shows the 1 with the highest expected value" in owners
    assert "in data/08_reporting/owners/, ready to load into the CRM" in owners
    assert 'data-owner="Ann" data-file="Ann.csv"' in owners
    assert "3 accounts · A 2 · B 1 · $1,800 expected value" in owners
    assert "showing 1 of 3 · full list in owners/Ann.csv" in owners
    assert "Tier changes since the last run: A3" in owners and " and 2 more" in owners
    assert "<h3>Unassigned (no owner in the CRM)</h3>" in owners
    zh = render(_content(history(), "zh", owner_accounts=1))
    assert "<h3>未分配（CRM 中没有负责人）</h3>" in zh and "完整名单见 owners/Ann.csv" in zh


def test_owner_lists_replace_the_folder_at_once(tmp_path):
    dataset = CsvFolderDataset(str(tmp_path / "owners"), load_args={"dtype": str})
    dataset.save({"Ann": pd.DataFrame({"customer_id": ["A1"]}), "Bo": pd.DataFrame({"x": ["1"]})})
    assert (tmp_path / "owners").is_symlink()
    assert dataset.load()["Ann"].to_dict(orient="list") == {"customer_id": ["A1"]}

    dataset.save({"Ann": pd.DataFrame({"customer_id": ["A2"]})})
    assert set(dataset.load()) == {"Ann"}  # Bo's old list is gone with the old folder
    assert len(list(tmp_path.iterdir())) == 2  # the link and the folder it names

    class Broken(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(DatasetError, match="disk full"):
        dataset.save({"Ann": pd.DataFrame({"customer_id": ["A3"]}), "Zed": Broken({"x": [1]})})
    with pytest.raises(DatasetError, match="plain names"):
        dataset.save({"../Ann": pd.DataFrame({"customer_id": ["A3"]})})
    assert dataset.load()["Ann"]["customer_id"].tolist() == ["A2"]  # the last good lists
    assert len(list(tmp_path.iterdir())) == 2


def test_the_owner_lists_are_in_the_catalog_and_written_by_the_report_pipeline():
    entry = env_config("local", "catalog")["owner_lists"]
    assert entry["type"] == "tier_ml.io.folders.CsvFolderDataset"
    assert entry["path"] == "data/08_reporting/owners"
    assert "owner_lists" in create_pipeline().all_outputs()


# Trends and changes


def test_tier_counts_and_expected_value_per_run():
    trends = tier_trends(history()).set_index(["as_of", "tier"])
    assert trends.loc[BEFORE, "customers"].tolist() == [2, 3, 2, 1]
    assert trends.loc[BEFORE, "expected_value"].tolist() == [1400.0, 900.0, 105.0, 1.0]
    assert trends.loc[AS_OF, "customers"].tolist() == [3, 2, 2, 1]
    assert trends.loc[AS_OF, "expected_value"].tolist() == [2100.0, 700.0, 90.0, 5.0]
    figure = trend_figure(tier_trends(history()), "Expected value (USD)")
    counts, values = figure.axes[:2]
    assert [line.get_label() for line in counts.lines] == ["A", "B", "C", "D"]
    assert list(counts.lines[0].get_ydata()) == [2, 3]
    assert values.get_ylabel() == "Expected value (USD)"


def test_what_changed_since_the_previous_run():
    since = since_previous(latest(), previous())
    assert since["as_of"] == "2025-12-01"
    tier_a = since["tiers"][0]
    assert (tier_a["customers_before"], tier_a["customers"]) == (2, 3)
    assert (tier_a["value_before"], tier_a["value"]) == (1400.0, 2100.0)
    assert {m["tier"]: m["counts"] for m in since["moves"]} == {
        "A": [2, 0, 0, 0],
        "B": [1, 1, 1, 0],
        "C": [0, 1, 1, 0],
        "D": [0, 0, 0, 0],
        "new": [0, 0, 0, 1],
    }
    assert since["dropped"] == 1
    html = render(_content(history()))
    trends = html.split('<section id="trends">')[1].split("</section>")[0]
    assert "Since the previous run (2025-12-01)" in trends
    row_a = trends.split('<tr data-tier="A">')[1].split("</tr>")[0]
    numbers = re.findall(r'<td class="num">([^<]*)</td>', row_a)
    assert numbers == ["2", "3", "+1", "$1,400", "$2,100", "+$700"]
    assert "1 customer of the previous run is no longer scored" in trends
    assert "data:image/png" not in trends  # the chart is the node's; no image was given


def test_the_first_run_says_there_is_nothing_to_compare():
    first = latest().assign(previous_tier=None, tier_change="new")
    content = _content(first)
    assert content.first_run and content.runs == 1
    html = render(content)
    said = "First run: no previous tiers to compare."
    assert f'data-testid="first-run">{said}<' in html
    assert f'data-testid="movers-empty">{said}<' in html
    assert 'data-testid="since-previous"' not in html
    zh = render(_content(first, "zh"))
    assert zh.count("首次运行：没有可比较的上次分级。") == 2


def test_a_run_without_moves_says_so():
    calm = pd.concat([previous(), latest().assign(tier_change="same")], ignore_index=True)
    html = render(_content(calm))
    assert 'data-testid="movers-empty">No account changed tier since the previous run.<' in html


# Value–potential matrix


def test_each_customer_falls_in_a_known_quadrant():
    matrix = value_potential(latest(), CURRENT)
    assert (matrix["value_median"], matrix["potential_median"]) == (25.0, 350.0)
    quadrants = {q["key"]: (q["customers"], q["examples"]) for q in matrix["quadrants"]}
    assert quadrants == {
        "grow": (2, ["A1", "U1"]),
        "protect": (2, ["B1", "A4"]),
        "develop": (2, ["A3", "A2"]),
        "maintain": (2, ["U2", "B2"]),
    }
    assert {r["tier"]: list(r["counts"].values()) for r in matrix["by_tier"]} == {
        "A": [2, 0, 1, 0],
        "B": [0, 1, 1, 0],
        "C": [0, 1, 0, 1],
        "D": [0, 0, 0, 1],
    }
    # a customer without a current value is not placed; without money there is no matrix
    assert value_potential(latest(), CURRENT.iloc[:-1])["customers"] == 7
    assert value_potential(latest().assign(expected_value=float("nan")), CURRENT) is None


def test_where_most_customers_bought_nothing_high_current_value_means_any_revenue():
    current, potential = pd.Series([0.0, 0.0, 0.0, 10.0]), pd.Series([1.0, 2.0, 3.0, 4.0])
    said = quadrants(current, potential).tolist()
    assert said == ["maintain", "maintain", "develop", "grow"]


def test_the_matrix_is_in_the_leadership_part_with_its_rule():
    html = render(_content(history(), current_value=CURRENT, value_window_days=180))
    leadership = html.split('<section id="data-scientists">')[0]
    matrix = leadership.split('<section id="value-potential">')[1].split("</section>")[0]
    assert "the revenue won in the last 180 days" in matrix
    assert "over the 8 accounts placed: current value above $25 is high" in matrix
    assert "expected value above $350 is high" in matrix
    assert '<span data-testid="quadrant-grow">2</span> accounts' in matrix
    assert "Largest: A1, U1" in matrix
    zh = render(_content(history(), "zh", current_value=CURRENT, value_window_days=180))
    assert "最大客户：A1、U1" in zh and "各按 8 个客户的中位数划分" in zh


def test_current_value_is_the_revenue_won_in_the_last_period():
    """Won 100 days before the run: counted; 305 days before, or won after the run (open at
    the run): not."""
    day = pd.to_datetime
    customers = pd.DataFrame(
        {"customer_id": ["C0", "C1"], "created_at": day(["2020-01-01"] * 2).astype("M8[us]")}
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "customer_id": ["C0", "C0", "C1"],
            "created_at": day(["2025-08-01", "2025-01-01", "2025-10-01"]).astype("M8[us]"),
            "closed_at": day(["2025-09-22", "2025-03-01", "2026-01-10"]).astype("M8[us]"),
            "status": ["won", "won", "won"],
            "amount": [100.0, 50.0, 70.0],
        }
    )
    activities = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype="str"),
            "occurred_at": pd.Series([], dtype="M8[us]"),
            "type": pd.Series([], dtype="str"),
        }
    )
    features = base_parameters("features")["features"]
    store = pd.DataFrame({"as_of": [BEFORE, AS_OF]})
    value = measure_current_value(store, customers, deals, activities, pd.DataFrame(), features)
    assert value.to_dict(orient="list") == {
        "customer_id": ["C0", "C1"],
        "current_value": [100.0, 0.0],
    }
    assert window_days(FeatureParams.from_dict(features)) == 180


# Words and numbers


NEW_WORDS = ("first_run", "no_moves", "list_sep", "accounts", "trends", "owners", "matrix")


def _strings(words) -> list[str]:
    if isinstance(words, dict):
        return [s for v in words.values() for s in _strings(v)]
    return [words]


def _keys(words) -> object:
    return {k: _keys(v) for k, v in words.items()} if isinstance(words, dict) else None


@pytest.mark.parametrize("key", NEW_WORDS)
def test_the_new_sections_are_said_in_chinese_with_full_width_punctuation(key):
    assert _keys(WORDS["zh"][key]) == _keys(WORDS["en"][key])
    for text in _strings(WORDS["zh"][key]):
        assert re.search(r"[\u4e00-\u9fff、]", text), text
        assert not re.search(r"[,;:()]", text), text


def test_changes_are_signed():
    assert (count_change(0), count_change(12), count_change(-1234)) == ("0", "+12", "-1,234")
    assert money_change(1500, "USD") == "+$1,500" and money_change(-20, "USD") == "-$20"
    assert money_change(0, "USD") == "$0"
