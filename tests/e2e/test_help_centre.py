"""The help centre in a real browser, in English and in Russian.

An anonymous visitor searches /help/ with a typo, sees the results appear as they type and
opens the article; a customer starting a ticket answers a guided question, sees suggestions
for the subject, marks one as solving the problem, and the deflection is counted. With
HELPDESK_SCREENSHOTS set to a folder, the pages are also photographed there (desktop and
375 px wide) for a person to look at.
"""

import os
from pathlib import Path

import pytest

from accounts.tests.factories import CustomerFactory
from knowledge import selectors
from knowledge.demo import upsert_demo_help_centre
from knowledge.models import DeflectionEvent
from queues.models import Line, RoutingRule
from tickets.models import Ticket

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="no Chromium at /usr/bin/chromium; install the Debian package `chromium` (.ci/run does)",
    ),
]

PASSWORD = "secret-password"
LOCALES = {"en": "en-US", "ru": "ru-RU"}
TYPO = {"en": "wordpres white screen", "ru": "востановить сайт из копии"}
EXPECTED_TITLE = {
    "en": 'WordPress shows a white screen or "There has been a critical error"',
    "ru": "Восстановление сайта из резервной копии",
}
SUBJECT = {"en": "site shows 502 bad gateway", "ru": "сайт выдаёт ошибку 502 bad gateway"}
SUGGESTED = {"en": "502 Bad Gateway and 504 Gateway Timeout", "ru": "Ошибки 502 Bad Gateway и 504 Gateway Timeout"}
GUIDE_ANSWER = {"en": "Domain or DNS", "ru": "Домен или DNS"}
SHOTS = os.environ.get("HELPDESK_SCREENSHOTS", "")


def shoot(page, name: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(folder / f"{name}-375.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


@pytest.fixture
def help_centre(db):
    upsert_demo_help_centre()
    line = Line.objects.create(code="first-line", name="First line", kind=Line.Kind.TIER, level=1)
    for category in ("general", "tech_simple"):
        RoutingRule.objects.create(category=category, line=line)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_visitor_finds_an_article_despite_a_typo(help_centre, new_page, language):
    page = new_page(locale=LOCALES[language])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/help/")
    shoot(page, f"help-home-{language}")
    page.get_by_test_id("help-search").press_sequentially(TYPO[language], delay=20)
    hits = page.get_by_test_id("help-hits")
    hits.wait_for()
    first = hits.locator("li").first.locator("a.help-hit-title")
    assert first.inner_text() == EXPECTED_TITLE[language]
    assert hits.locator("mark").count() > 0
    shoot(page, f"help-search-{language}")
    with page.expect_navigation():
        first.click()
    assert page.get_by_test_id("article-title").inner_text() == EXPECTED_TITLE[language]
    assert page.get_by_test_id("related").locator("li").count() > 0
    shoot(page, f"help-article-{language}")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_customer_is_helped_before_filing_and_the_deflection_counts(help_centre, new_page, language):
    CustomerFactory(username="olga", language=language)
    page = new_page(locale=LOCALES[language])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill("olga")
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.goto("/panel/tickets/new/")
    # The guided questions of the chosen category.
    page.locator("#id_category").select_option("tech_simple")
    page.get_by_test_id("guide-answer").filter(has_text=GUIDE_ANSWER[language]).click()
    page.get_by_test_id("guide").get_by_test_id("suggestion-link").first.wait_for()
    # Suggestions for the subject as it is typed.
    page.locator("#id_subject").press_sequentially(SUBJECT[language], delay=20)
    suggestions = page.locator("#deflect-suggestions").get_by_test_id("suggestion-link")
    suggestions.first.wait_for()
    assert SUGGESTED[language] in suggestions.all_inner_texts()
    # The request can still be filed: the form and its button are there.
    assert page.get_by_test_id("ticket-form").locator("button.primary[type=submit]").is_visible()
    shoot(page, f"ticket-form-{language}")
    solved = page.locator("#deflect-suggestions li.deflect-hit").filter(has_text=SUGGESTED[language])
    with page.expect_navigation():
        solved.get_by_test_id("solved").click()
    assert page.url.endswith("/panel/")
    assert page.locator("ul.messages li.success").count() == 1
    assert not Ticket.objects.exists()
    assert DeflectionEvent.objects.filter(kind="solved", article__slug="error-502-504").count() == 1
    (rate,) = [r for r in selectors.deflection_rates() if r.ticket_category == "tech_simple"]
    assert (rate.attempts, rate.solved, rate.rate) == (1, 1, 1.0)
