"""The leadership report in a real headless Chromium: no console errors, every image
renders, and the key numbers match the scores table."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e.browser import CHROMEDRIVER, CHROMIUM, chrome, screenshot
from tier_ml.io.scores import FILES, current_runs

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian packages chromium and chromium-driver are not installed")
    driver = chrome()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(browser, project_run):
    browser.get((project_run / "data" / "08_reporting" / "tier_report.html").as_uri())
    return browser


def latest_run_table(project, table: str = "scores") -> pd.DataFrame:
    runs = current_runs(project / "data" / "07_model_output" / "scores")
    return pd.read_parquet(runs[max(runs)] / FILES[table])


def text(page, test_id: str) -> str:
    from selenium.webdriver.common.by import By

    return page.find_element(By.CSS_SELECTOR, f"[data-testid='{test_id}']").text


def test_no_console_errors(page):
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_every_image_renders(page):
    images = page.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert len(images) >= 4
    assert all(complete and width > 0 for _, complete, width in images), images


def test_key_numbers_match_the_scores_table(page, project_run):
    scores = latest_run_table(project_run)
    assert text(page, "as-of") == str(scores["as_of"].iloc[0].date())
    (data_end,) = latest_run_table(project_run, "runs")["data_end"]
    assert text(page, "data-end") == str(data_end.date())
    counts = scores["tier"].value_counts()
    for tier in "ABCD":
        assert int(text(page, f"tier-count-{tier}").replace(",", "")) == counts.get(tier, 0)
    moves = scores["tier_change"].value_counts()
    assert int(text(page, "moved-up")) == moves.get("up", 0)
    assert int(text(page, "moved-down")) == moves.get("down", 0)
    assert moves.get("up", 0) + moves.get("down", 0) > 0
    assert int(text(page, "cold-start").replace(",", "")) == scores["cold_start"].sum()


def test_the_report_is_self_contained(project_run):
    html = (project_run / "data" / "08_reporting" / "tier_report.html").read_text()
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") >= 4


def test_the_screenshot_is_as_tall_as_the_page(page, project_run, tmp_path):
    """`make report-shot` sizes the image to the document, however long the report grows."""
    from PIL import Image

    height = page.execute_script("return document.documentElement.scrollHeight")
    report = project_run / "data" / "08_reporting" / "tier_report.html"
    assert height > 2000  # taller than the browser's window
    assert screenshot(report, tmp_path / "shot.png") == height
    assert Image.open(tmp_path / "shot.png").size == (1280, height)
