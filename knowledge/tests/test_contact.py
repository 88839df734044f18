"""The anonymous feedback form: account matching, the signed follow link, bot and rate limits."""

import datetime as dt
import time

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import CustomerFactory
from knowledge import services
from knowledge.models import SpentFormToken
from knowledge.tests.helpers import form_data, mailed_link
from tickets.models import Channel, Ticket

pytestmark = pytest.mark.django_db


def test_form_creates_a_ticket_matched_to_the_customers_account(submit):
    customer = CustomerFactory(email="Olga@Example.com")
    response = submit()
    ticket = Ticket.objects.get()
    assert response.status_code == 200
    assert (ticket.customer, ticket.channel) == (customer, Channel.FORM)
    link = mailed_link("Olga@Example.com")
    (sent,) = [m for m in mail.outbox if link in m.body]
    assert sent.to == ["Olga@Example.com"]  # the address of the account
    assert link not in response.content.decode()


def test_an_unknown_address_gets_an_inactive_placeholder_customer(submit):
    submit(email="stranger@example.org")
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "stranger@example.org"
    assert not ticket.customer.is_active
    assert not ticket.customer.has_usable_password()
    assert mailed_link("stranger@example.org")


def test_the_follow_link_shows_the_ticket_and_takes_a_reply_without_login(submit, client):
    submit()
    ticket = Ticket.objects.get()
    link = mailed_link("olga@example.com")
    page = client.get(link)
    assert page.status_code == 200 and "DNS question" in page.content.decode()
    client.post(link, {"message": "Also: MX records?"})
    assert ticket.messages.filter(body="Also: MX records?", author=ticket.customer).exists()


def test_an_expired_follow_link_is_refused(submit, client, settings):
    submit()
    link = mailed_link("olga@example.com")
    settings.FOLLOW_LINK_MAX_AGE = 60
    with time_machine.travel(time.time() + 120):
        assert client.get(link).status_code == 404


def test_a_tampered_follow_link_is_refused(submit, client):
    response = submit()
    ticket = Ticket.objects.get()
    submit(email="someone@example.org", subject="Other")
    token = mailed_link("someone@example.org").rstrip("/").rsplit("/", 1)[-1]
    number, stamp, signature = token.split(":")
    forged = f"{ticket.number}:{stamp}:{signature}"
    assert forged != token
    assert client.get(reverse("follow", args=[forged])).status_code == 404
    assert client.get(reverse("follow", args=["garbage"])).status_code == 404
    assert response.status_code == 200


def test_the_follow_link_does_not_open_other_tickets(submit, client):
    submit()
    first = Ticket.objects.get()
    forged = signing.TimestampSigner(salt="another-salt").sign(str(first.number))
    assert client.get(reverse("follow", args=[forged])).status_code == 404


def test_a_filled_honeypot_is_refused(submit):
    response = submit(website="http://spam.example")
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


def test_submissions_are_rate_limited_per_address_and_per_ip(submit, settings):
    settings.CONTACT_RATE_PER_HOUR = 2
    assert [submit(subject=f"Q{i}").status_code for i in range(3)] == [200, 200, 429]
    assert Ticket.objects.count() == 2
    other = submit(email="another@example.org", subject="From the same IP")
    assert other.status_code == 429


# --- the anti-bot token works once ----------------------------------------------------------


def test_a_form_token_serves_one_submission_only(client):
    posted = form_data()
    assert client.post(reverse("contact"), posted).status_code == 200
    replayed = client.post(reverse("contact"), {**posted, "subject": "Again"})
    assert replayed.status_code == 400
    assert "already been sent" in replayed.content.decode()
    assert Ticket.objects.count() == 1
    # Replayed from elsewhere, for another address: refused all the same.
    elsewhere = Client(REMOTE_ADDR="192.0.2.7").post(reverse("contact"), {**posted, "email": "x@example.org"})
    assert elsewhere.status_code == 400
    assert Ticket.objects.count() == 1
    # The page that refused it comes with a fresh token, which goes through.
    renewed = replayed.context["form"]["started"].value()
    with time_machine.travel(time.time() + 30):
        assert client.post(reverse("contact"), {**posted, "started": renewed}).status_code == 200
    assert Ticket.objects.count() == 2


def test_two_forms_shown_in_the_same_second_get_different_tokens():
    with time_machine.travel(time.time(), tick=False):
        assert services.form_token() != services.form_token()


def test_a_token_of_the_old_shape_is_refused_as_expired(client):
    with time_machine.travel(time.time() - 60):
        old = signing.dumps(int(time.time()), salt=services.FORM_SALT)
    response = client.post(reverse("contact"), form_data(started=old))
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_token_stays_usable_when_its_submission_fails(client, line):
    posted = form_data()
    line.is_active = False  # nowhere to file the ticket: the submission fails after the bot checks
    line.save(update_fields=["is_active"])
    assert client.post(reverse("contact"), posted).status_code == 400
    line.is_active = True
    line.save(update_fields=["is_active"])
    assert client.post(reverse("contact"), posted).status_code == 200
    assert Ticket.objects.count() == 1


def test_spent_tokens_are_kept_only_as_long_as_a_token_lives(client):
    old = SpentFormToken.objects.create(
        nonce="old", spent_at=timezone.now() - dt.timedelta(seconds=services.FORM_MAX_SECONDS + 7200)
    )
    recent = SpentFormToken.objects.create(nonce="recent", spent_at=timezone.now() - dt.timedelta(hours=1))
    assert client.post(reverse("contact"), form_data()).status_code == 200
    assert not SpentFormToken.objects.filter(pk=old.pk).exists()
    assert SpentFormToken.objects.filter(pk=recent.pk).exists()
    assert SpentFormToken.objects.count() == 2
