"""The SLA dashboard and the load page with the demo data, in Chromium, in both languages.

The charts are drawn (a canvas with pixels in it), the weekday x hour heatmap shows the demo's
rhythm (quiet nights, busy days), the pages report no CSP violation, and the screenshots are
kept: under docs/screenshots/ when HELPDESK_SCREENSHOTS=1 (how the ones in the docs were
made), otherwise in the test's temporary directory.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from helpdesk.demo_logins import DEMO_PASSWORD
from reports import cube
from tests.e2e.test_csp import Watched

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO = {"customers": 300, "months": 2, "per_month": 2500}


@pytest.fixture
def demo(transactional_db):
    today = timezone.localdate()
    call_command("load_demo", **DEMO, until=today, stdout=open(os.devnull, "w"))  # noqa: SIM115
    cube.rebuild(since=today - dt.timedelta(days=62))


def log_in(watched: Watched, username: str) -> None:
    page = watched.page
    watched.visit("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url


def _drawn(page, selector: str) -> bool:
    """Whether the chart's canvas has anything painted on it."""
    return page.evaluate(
        """(selector) => {
            const canvas = document.querySelector(selector);
            if (!canvas || !canvas.width) return false;
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) return true; }
            return false;
        }""",
        selector,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "locale", "title"), [("en", "en-US", "SLA dashboard"), ("ru", "ru-RU", "Панель SLA")]
)
def test_dashboard_and_load_with_the_demo_data(demo, new_page, tmp_path, language, locale, title):
    target = DOCS if os.environ.get("HELPDESK_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page = new_page(locale=locale)
    watched = Watched(page)
    log_in(watched, "manager")
    page.set_viewport_size({"width": 1366, "height": 900})
    watched.visit("/manage/")
    if language != "en":
        with page.expect_navigation():
            page.select_option("#language-select", language)
    assert page.locator("main h1").first.inner_text() == title
    assert _drawn(page, "canvas[data-chart='chart-backlog']")
    # The demo's tickets carry SLA targets and the sweep's records: the share met is a percentage.
    assert "%" in page.locator(".stat").first.inner_text()
    watched.assert_clean("/manage/")
    page.screenshot(path=str(target / f"manage-dashboard-{language}.png"), full_page=True)

    watched.visit("/manage/load/")
    assert _drawn(page, "canvas[data-chart='chart-hours']")
    # The demo's rhythm: the heatmap's quietest hours are at night, its busiest in the day.
    cells = page.locator("table.heatmap tbody tr").first.locator("td")
    counts = [int(text) for text in cells.all_inner_texts()]
    assert len(counts) == 24 and max(counts[10:18]) > 3 * max(counts[2:6])
    watched.assert_clean("/manage/load/")
    page.screenshot(path=str(target / f"manage-load-{language}.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 800})
    watched.visit("/manage/")
    page.screenshot(path=str(target / f"manage-dashboard-{language}-375.png"), full_page=False)
    watched.assert_clean("/manage/ at 375 px")
