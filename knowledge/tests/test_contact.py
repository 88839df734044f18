"""The anonymous feedback form: account matching, the signed follow link, bot and rate limits."""

import time

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse

from accounts.tests.factories import CustomerFactory
from knowledge import services
from queues.models import RoutingRule
from tickets.models import Channel, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def routing(line):
    from django.core.cache import cache

    from helpdesk.celery import app

    RoutingRule.objects.create(category="general", line=line)
    cache.clear()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the follow-link mail runs in-process here
    yield
    app.conf.task_always_eager = eager


def form_data(**overrides):
    with time_machine.travel(time.time() - 60):
        started = services.form_token()
    data = {
        "name": "Olga",
        "email": "olga@example.com",
        "topic": "general",
        "subject": "DNS question",
        "message": "Which name servers do I use?",
        "website": "",
        "started": started,
    }
    return {**data, **overrides}


def submit(client, **overrides):
    return client.post(reverse("contact"), form_data(**overrides))


def test_form_creates_a_ticket_matched_to_the_customers_account(client, django_capture_on_commit_callbacks):
    customer = CustomerFactory(email="Olga@Example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client)
    ticket = Ticket.objects.get()
    assert response.status_code == 200
    assert (ticket.customer, ticket.channel) == (customer, Channel.FORM)
    link = response.context["link"]
    assert link in response.content.decode()
    (sent,) = [m for m in mail.outbox if link in m.body]
    assert sent.to == ["Olga@Example.com"]  # the address of the account


def test_an_unknown_address_gets_an_inactive_placeholder_customer(client):
    submit(client, email="stranger@example.org")
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "stranger@example.org"
    assert not ticket.customer.is_active
    assert not ticket.customer.has_usable_password()


def test_the_follow_link_shows_the_ticket_and_takes_a_reply_without_login(client):
    response = submit(client)
    ticket = Ticket.objects.get()
    link = response.context["link"]
    page = client.get(link)
    assert page.status_code == 200 and "DNS question" in page.content.decode()
    client.post(link, {"message": "Also: MX records?"})
    assert ticket.messages.filter(body="Also: MX records?", author=ticket.customer).exists()


def test_an_expired_follow_link_is_refused(client, settings):
    response = submit(client)
    link = response.context["link"]
    settings.FOLLOW_LINK_MAX_AGE = 60
    with time_machine.travel(time.time() + 120):
        assert client.get(link).status_code == 404


def test_a_tampered_follow_link_is_refused(client):
    response = submit(client)
    ticket = Ticket.objects.get()
    other = submit(client, email="someone@example.org", subject="Other")
    token = other.context["link"].rstrip("/").rsplit("/", 1)[-1]
    number, stamp, signature = token.split(":")
    forged = f"{ticket.number}:{stamp}:{signature}"
    assert forged != token
    assert client.get(reverse("follow", args=[forged])).status_code == 404
    assert client.get(reverse("follow", args=["garbage"])).status_code == 404
    assert response.status_code == 200


def test_the_follow_link_does_not_open_other_tickets(client):
    submit(client)
    first = Ticket.objects.get()
    forged = signing.TimestampSigner(salt="another-salt").sign(str(first.number))
    assert client.get(reverse("follow", args=[forged])).status_code == 404


def test_a_filled_honeypot_is_refused(client):
    response = submit(client, website="http://spam.example")
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_a_form_sent_too_fast_is_refused_and_keeps_the_text(client):
    response = client.post(reverse("contact"), form_data(started=services.form_token()))
    assert response.status_code == 400
    assert "too fast" in response.content.decode()
    assert "Which name servers do I use?" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_refused_form_comes_back_with_a_new_timer_that_lets_the_next_attempt_through(client):
    with time_machine.travel(time.time() - services.FORM_MAX_SECONDS - 60):
        stale = services.form_token()  # a page left open too long
    posted = form_data(started=stale)
    response = client.post(reverse("contact"), posted)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors and form["subject"].value() == "DNS question"
    renewed = form["started"].value()
    assert renewed != posted["started"]
    # A person who waits a little and sends the page again gets through with the new timer.
    with time_machine.travel(time.time() + 30):
        again = client.post(reverse("contact"), {**posted, "started": renewed})
    assert again.status_code == 200
    assert Ticket.objects.count() == 1


def test_submissions_are_rate_limited_per_address_and_per_ip(client, settings):
    settings.CONTACT_RATE_PER_HOUR = 2
    assert [submit(client, subject=f"Q{i}").status_code for i in range(3)] == [200, 200, 429]
    assert Ticket.objects.count() == 2
    other = submit(client, email="another@example.org", subject="From the same IP")
    assert other.status_code == 429
