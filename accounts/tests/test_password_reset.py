import datetime as dt
import logging
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_password_reset_mails_a_link_that_sets_a_new_password(client, customer):
    response = client.post(reverse("password_reset"), {"email": customer.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.email]
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "a-Much-better-pass-42", "new_password2": "a-Much-better-pass-42"})
    assert done.status_code == 302

    customer.refresh_from_db()
    assert customer.check_password("a-Much-better-pass-42")


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# --- limits: e-mails per address and per client an hour --------------------------------------


def ask(client, email, **headers):
    response = client.post(reverse("password_reset"), {"email": email}, **headers)
    # Over a limit or not, for an account or not: the same answer.
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    return response


def test_at_most_three_reset_mails_per_address_an_hour(client, customer, settings):
    assert settings.PASSWORD_RESET_PER_ADDRESS_PER_HOUR == 3
    for n in range(5):
        # From different clients: the per-address limit holds whoever asks.
        ask(client, customer.email, REMOTE_ADDR=f"198.51.100.{n + 1}")
    assert len(mail.outbox) == 3


def test_the_address_limit_ignores_case_and_spaces(client, customer):
    for variant in (customer.email, customer.email.upper(), f" {customer.email} ", customer.email.title()):
        ask(client, variant, REMOTE_ADDR="198.51.100.1")
    assert len(mail.outbox) == 3


def test_at_most_ten_reset_mails_per_client_an_hour_however_it_names_itself(client, settings):
    assert settings.PASSWORD_RESET_PER_IP_PER_HOUR == 10
    users = CustomerFactory.create_batch(12)
    for n, user in enumerate(users):
        ask(client, user.email, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert len(mail.outbox) == 10
    assert {message.to[0] for message in mail.outbox} == {user.email for user in users[:10]}


def test_unknown_addresses_count_towards_the_client_limit(client, customer, settings):
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 2
    ask(client, "nobody@example.com")
    ask(client, "nobody-else@example.com")
    ask(client, customer.email)
    assert mail.outbox == []


def test_the_limits_last_an_hour(client, customer):
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        for _ in range(4):
            ask(client, customer.email)
        assert len(mail.outbox) == 3
    # The locmem cache reads the clock for expiry; an hour later the window is gone.
    with time_machine.travel(dt.datetime(2026, 3, 2, 11, 0, 1, tzinfo=dt.UTC), tick=False):
        ask(client, customer.email)
    assert len(mail.outbox) == 4


def test_a_held_back_mail_leaves_an_audit_line(client, customer, settings, caplog):
    caplog.set_level(logging.INFO, logger="helpdesk.audit.accounts")
    settings.PASSWORD_RESET_PER_ADDRESS_PER_HOUR = 1
    ask(client, customer.email)
    ask(client, customer.email)
    [event] = [record.audit for record in caplog.records if hasattr(record, "audit")]
    assert event["event"] == "password_reset.held_back"
    assert event["limit"] == "address"
    assert customer.email not in caplog.text
