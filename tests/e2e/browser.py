"""Headless Chromium for the report: the browser tests' driver, and `make report-shot`'s
whole-page screenshot (python -m tests.e2e.browser REPORT.html SHOT.png).

Debian packages chromium and chromium-driver; selenium is a dev dependency."""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WIDTH = 1280


def chrome() -> webdriver.Chrome:
    """A headless Chromium that reaches nothing outside the page and keeps its console log."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--window-size={WIDTH},2000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def screenshot(page: Path, png: Path) -> int:
    """The whole page as one PNG, as tall as the document (a fixed window cuts it off);
    returns its height in CSS pixels."""
    driver = chrome()
    try:
        driver.get(page.resolve().as_uri())
        height = driver.execute_script("return document.documentElement.scrollHeight")
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
            },
        )
    finally:
        driver.quit()
    png.write_bytes(base64.b64decode(shot["data"]))
    return height


if __name__ == "__main__":
    report, target = map(Path, sys.argv[1:3])
    print(f"{target}: {WIDTH} x {screenshot(report, target)} px")
