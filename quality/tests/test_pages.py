"""The quality desk's pages: the reply e-mail's signed link and its page, the panel's control
with and without htmx, the scorecard, the dispute and its settlement, calibration, the results
with their CSV export, and the settings' admin page."""

import csv
import io
import re

import pytest
from django.urls import reverse

from notifications import services as notification_services
from notifications.models import Notification
from quality import policy, services
from quality.models import QualityEvent, QualityEventKind, QualitySettings, Rating, Review
from tickets.models import EventKind, TicketEvent

pytestmark = pytest.mark.django_db
GOOD = {"correct": 5, "complete": 5, "tone": 5, "rules": 5}


def reply_mail(world, recipient):
    event = TicketEvent.objects.get(kind=EventKind.MESSAGE, data__message_id=world["reply"].id)
    notification = Notification.objects.create(
        recipient=recipient, email=recipient.email, ticket=world["ticket"], event=event, kind=Notification.Kind.REPLY
    )
    return notification_services.render(notification)


def test_the_reply_email_carries_the_signed_links_and_they_rate_once_without_a_login(client, world, settings):
    settings.SITE_URL = "https://help.example.net"
    rendered = reply_mail(world, world["customer"])
    links = re.findall(r"https://help\.example\.net(/quality/rate/\S+)", rendered.text)
    assert len(links) == 2 and links[0].endswith("?verdict=like") and links[1].endswith("?verdict=dislike")
    assert 'href="https://help.example.net/quality/rate/' in rendered.html
    dislike = links[1]
    page = client.get(dislike)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Restart it from the panel." in body and 'value="dislike" id="id_verdict_1" required checked' in body
    path = dislike.split("?")[0]
    done = client.post(path, {"verdict": "dislike", "comment": "Did not help"})
    assert done.status_code == 200 and "Thank you for your rating." in done.content.decode()
    rating = Rating.objects.get()
    assert (rating.verdict, rating.comment, rating.source, rating.rater) == (
        "dislike",
        "Did not help",
        "email",
        world["customer"],
    )
    # Once: the page says so and a second POST changes nothing.
    assert client.get(dislike).status_code == 409
    assert client.post(path, {"verdict": "like"}).status_code == 409
    rating.refresh_from_db()
    assert rating.verdict == "dislike"
    # A changed token, and this token at another reply's address, are not found.
    message_id, token = path.strip("/").split("/")[-2:]
    assert client.get(path.replace(token, token[:-2] + "xx")).status_code == 404
    assert client.get(path.replace(f"/{message_id}/", f"/{world['second'].id}/")).status_code == 404


def test_staff_copies_of_a_reply_carry_no_rating_link(world, settings):
    settings.SITE_URL = "https://help.example.net"
    assert "/quality/rate/" not in reply_mail(world, world["manager"]).text


def test_the_panel_control_rates_with_htmx_and_without(client, world):
    client.force_login(world["customer"])
    url = reverse("panel-quality-rate", args=[world["reply"].id])
    swapped = client.post(url, {"verdict": "dislike", "comment": "Too short"}, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    fragment = swapped.content.decode()
    assert fragment.startswith('<div class="rating"') and "Thank you for your rating." in fragment
    assert 'value="dislike" checked' in fragment and "Changeable until" in fragment
    plain = client.post(url, {"verdict": "like"})
    assert plain.status_code == 302 and plain["Location"] == reverse("panel-ticket", args=[world["ticket"].number])
    assert Rating.objects.get().verdict == "like"
    assert client.post(url, {"verdict": "meh"}, HTTP_HX_REQUEST="true").status_code == 400


def test_a_reviewer_scores_an_item_and_the_agent_disputes_and_a_manager_settles(client, world):
    rating = services.rating_give(message=world["reply"], customer=world["customer"], verdict="dislike", comment="Bad")
    client.force_login(world["reviewer"])
    page = client.get(reverse("desk-quality-item", args=[rating.item.id]))
    body = page.content.decode()
    # The conversation as the customer saw it: no internal note, the rated reply marked.
    assert "Restart it from the panel." in body and "Customer seems upset." not in body
    assert 'data-testid="rated-reply"' in body
    response = client.post(
        reverse("desk-quality-item", args=[rating.item.id]), {**GOOD, "rating_fair": "no", "comment": "Fine answer"}
    )
    review = Review.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("desk-quality-review", args=[review.id])
    assert review.rating_fair is False

    client.force_login(world["ann"])
    page = client.get(reverse("desk-quality-review", args=[review.id])).content.decode()
    assert "The customer's rating was unfair" in page and 'data-testid="dispute-form"' in page
    client.post(reverse("desk-quality-review", args=[review.id]), {"reason": "It was right"})
    dispute = review.dispute
    client.force_login(world["manager"])
    page = client.get(reverse("desk-quality-review", args=[review.id])).content.decode()
    assert "It was right" in page and reverse("desk-quality-settle", args=[dispute.id]) in page
    client.post(reverse("desk-quality-settle", args=[dispute.id]), {"outcome": "rejected", "settlement": "Stands"})
    dispute.refresh_from_db()
    assert (dispute.state, dispute.settlement) == ("rejected", "Stands")


def test_calibration_pages_are_blind_until_one_has_scored(client, world):
    rating = services.rating_give(message=world["reply"], customer=world["customer"], verdict="dislike")
    session = services.session_open(item=rating.item, actor=world["reviewer"], title="Weekly")
    services.session_score(session=session, reviewer=world["reviewer"], **GOOD, rating_fair=True, comment="Secret")
    client.force_login(world["manager"])
    url = reverse("desk-quality-session", args=[session.id])
    assert "Secret" not in client.get(url).content.decode()
    client.post(url, {"correct": 3, "complete": 5, "tone": 5, "rules": 5, "rating_fair": "no"})
    page = client.get(url).content.decode()
    assert "Secret" in page and 'data-testid="spread"' in page and "Agreement 50.0 %" in page


def test_results_page_and_csv(client, world):
    services.rating_give(message=world["reply"], customer=world["customer"], verdict="dislike")
    services.rating_give(message=world["second"], customer=world["customer"], verdict="like")
    item = Rating.objects.get(verdict="dislike").item
    services.review_create(item=item, reviewer=world["reviewer"], **GOOD, rating_fair=False)
    client.force_login(world["manager"])
    page = client.get(reverse("manage-quality")).content.decode()
    assert 'data-testid="results-agent"' in page and "100.0 %" in page and "50.0 %" in page
    export = client.get(reverse("manage-quality"), {"export": "agent"})
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    header, ann = rows
    assert header[0] == "Agent" and ann[0] == "Ann"
    values = dict(zip(header, ann, strict=True))
    assert (values["Share of likes, %"], values["Adjusted share of likes, %"], values["Quality score"]) == (
        "50.0",
        "100.0",
        "100.0",
    )
    assert client.get(reverse("manage-quality"), {"start": "2026-02-01", "end": "2026-01-01"}).status_code == 400
    assert client.get(reverse("manage-quality"), {"end": "9999-12-31"}).status_code == 400


def test_the_settings_admin_page_saves_through_the_service(client, world):
    client.force_login(world["admin"])
    response = client.post(
        reverse("admin:quality_qualitysettings_add"),
        {"change_window_hours": 6, "like_sample_percent": "25", "link_valid_days": 7},
    )
    assert response.status_code == 302
    saved = QualitySettings.current()
    assert (saved.change_window_hours, saved.like_sample_percent, saved.link_valid_days) == (6, 25, 7)
    assert QualityEvent.objects.get(kind=QualityEventKind.SETTINGS_CHANGED).actor == world["admin"]
    assert client.get(reverse("admin:quality_qualitysettings_add")).status_code == 403
    assert policy.sampled(1, saved.like_sample_percent) in (True, False)
