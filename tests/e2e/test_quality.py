"""The quality loop in a real browser: a customer dislikes an agent's reply with a comment in the
panel, a quality reviewer scores it and finds the rating unfair, and the agent sees the review
and their adjusted share of likes. Screenshots of each step are taken in both languages, at
desktop width and at 375 px (into $HELPDESK_SCREENSHOTS when set)."""

import os
from pathlib import Path

import pytest

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, UserFactory
from quality import services
from quality.models import QualitySettings, Rating, Review
from queues.models import Line
from tickets import services as ticket_services

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="no Chromium at /usr/bin/chromium; install the Debian package `chromium` (.ci/run does)",
    ),
]

PASSWORD = "secret-password"
WIDTHS = {"1366": 1366, "375": 375}


@pytest.fixture
def screenshots(tmp_path):
    directory = Path(os.environ.get("HELPDESK_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/accounts/login/" not in page.url


def number(text: str) -> str:
    """A number as the page writes it, in either language's notation (93,8 or 93.8)."""
    return text.replace("\xa0", " ").replace(",", ".").strip()


def shoot(page, screenshots: Path, name: str) -> None:
    """The page at both widths; it stays at desktop width afterwards."""
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshots / f"quality-{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["1366"], "height": 900})


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_dislike_found_unfair_does_not_count_against_the_agent(new_page, live_server, screenshots, language):
    QualitySettings.objects.create(pk=1, like_sample_percent=0)
    line = Line.objects.create(code="first-line", name="First line", name_ru="Первая линия", kind="tier", level=1)
    agent = AgentFactory(username=f"ann-{language}", language=language, first_name="Ann")
    agent.agent_profile.display_name = "Ann Petrova"
    agent.agent_profile.save()
    line.memberships.create(user=agent)
    customer = CustomerFactory(username=f"carol-{language}", language=language, first_name="Carol")
    reviewer = UserFactory(username=f"rita-{language}", role=Role.QUALITY, language=language, first_name="Rita")
    ticket = ticket_services.ticket_create(
        customer=customer, subject="Site returns 502 after the update", body="Since this morning nginx answers 502."
    )
    earlier = ticket_services.message_add(ticket=ticket, author=agent, body="We are looking at it.")
    services.rating_give(message=earlier, customer=customer, verdict="like")
    reply = ticket_services.message_add(
        ticket=ticket,
        author=agent,
        body="PHP-FPM had stopped after the update; I restarted it and the site answers again.",
        wait_for_customer=True,
    )
    locale = "ru-RU" if language == "ru" else "en-US"

    # The customer dislikes the reply, with a comment, in the panel (htmx swaps the control).
    page = new_page(locale=locale)
    log_in(page, customer.username)
    page.goto(f"/panel/tickets/{ticket.number}/")
    control = page.get_by_test_id(f"rating-{reply.id}")
    control.locator("label.rating-dislike").click()
    control.locator("input[name=comment]").fill("It broke again an hour later")
    control.get_by_test_id("rate-submit").click()
    page.locator(f"#rate-{reply.id} .rating-saved").wait_for()
    assert page.locator(f"#rate-{reply.id} input[value=dislike]").is_checked()
    rating = Rating.objects.get(message=reply)
    assert (rating.verdict, rating.comment, rating.agent, rating.line) == (
        "dislike",
        "It broke again an hour later",
        agent,
        line,
    )
    page.get_by_test_id(f"rating-{reply.id}").scroll_into_view_if_needed()
    shoot(page, screenshots, f"panel-{language}")

    # The reviewer opens the queue, reads the conversation and finds the rating unfair.
    page = new_page(locale=locale)
    log_in(page, reviewer.username)
    page.goto("/desk/quality/")
    queue = page.get_by_test_id("queue")
    assert "It broke again an hour later" in queue.inner_text()
    shoot(page, screenshots, f"queue-{language}")
    with page.expect_navigation():
        queue.locator("a").first.click()
    assert "PHP-FPM had stopped" in page.get_by_test_id("rated-reply").inner_text()
    card = page.get_by_test_id("scorecard")
    for name, value in (("correct", "5"), ("complete", "4"), ("tone", "5"), ("rules", "5")):
        card.locator(f"select[name={name}]").select_option(value)
    card.locator("input[name=rating_fair][value=no]").check()
    card.locator("textarea[name=comment]").fill("The fix was right; the new failure was a different cause.")
    shoot(page, screenshots, f"scorecard-{language}")
    with page.expect_navigation():
        card.locator("button[type=submit]").click()
    review = Review.objects.get()
    assert (review.rating_fair, review.reviewer, review.agent) == (False, reviewer, agent)

    # The agent sees the review of their work and their adjusted share of likes.
    page = new_page(locale=locale)
    log_in(page, agent.username)
    page.goto("/desk/quality/reviews/")
    reviews = page.get_by_test_id("reviews")
    assert f"#{ticket.number}" in reviews.inner_text()
    with page.expect_navigation():
        reviews.locator("a").first.click()
    assert number(page.get_by_test_id("review-score").inner_text()) == "93.8"
    assert page.get_by_test_id("fairness").locator(".unfair").count() == 1
    assert page.get_by_test_id("dispute-form").is_visible()
    shoot(page, screenshots, f"review-{language}")
    page.goto("/desk/quality/results/")
    row = page.get_by_test_id("results-agent").get_by_test_id("result-row")
    assert row.count() == 1
    # One like and one dislike: 50 % of likes; the unfair dislike left out: 100 %.
    assert "50.0 %" in number(row.inner_text())
    assert number(row.get_by_test_id("adjusted-share").inner_text()) == "100.0 %"
    assert number(row.get_by_test_id("quality-score").inner_text()) == "93.8"
    shoot(page, screenshots, f"results-{language}")
