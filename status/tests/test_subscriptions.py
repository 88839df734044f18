"""Customers subscribe to an incident (from the ticket form it counts as a ticket not filed) and get
each later update by e-mail, through the incidents' outbox, from a real SMTP server's view."""

import pytest
from django.urls import reverse

from accounts.tests.factories import CustomerFactory
from helpdesk.errors import Conflict, PermissionDenied
from status import services, tasks
from status.models import SubscriberMail, Subscription, SubscriptionVia, UpdateOutbox
from status.tests.factories import open_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(smtp, eager, django_capture_on_commit_callbacks):
    """Run the outbox drain as beat would, with the sending it queues run at once."""

    class Mail:
        server = smtp

        def drain(self):
            with django_capture_on_commit_callbacks(execute=True):
                tasks.drain_update_outbox.delay()

    return Mail()


def test_subscribers_get_each_later_update_once_in_their_language(mail, agent, components):
    incident = open_incident(agent, components["msk"], title="Moscow: servers unreachable")
    english = CustomerFactory(username="anna", language="en")
    russian = CustomerFactory(username="boris", language="ru")
    late = CustomerFactory(username="carl")
    services.subscription_create(incident=incident, user=english, via=SubscriptionVia.BANNER)
    services.subscription_create(incident=incident, user=russian, via=SubscriptionVia.TICKET_FORM)
    UpdateOutbox.objects.all().delete()  # the first update was published before they subscribed

    services.incident_update(incident=incident, actor=agent, state="identified", body="A core switch failed.")
    mail.drain()
    services.subscription_create(incident=incident, user=late, via=SubscriptionVia.BANNER)
    services.incident_resolve(incident=incident, actor=agent, body="Switch replaced, all servers answer.")
    mail.drain()
    mail.drain()  # nothing left: nobody hears twice

    to_anna = mail.server.to(english.email)
    assert [m.subject for m in to_anna] == [
        f"[{incident.reference}] Identified: Moscow: servers unreachable",
        f"[{incident.reference}] Resolved: Moscow: servers unreachable",
    ]
    assert "A core switch failed." in to_anna[0].text and "A core switch failed." in to_anna[0].html
    assert "Cloud servers — Moscow (MSK-1)" in to_anna[0].text
    assert to_anna[0].message["Auto-Submitted"] == "auto-generated"
    assert "/status/unsubscribe/" in to_anna[0].message["List-Unsubscribe"]
    to_boris = mail.server.to(russian.email)
    assert len(to_boris) == 2 and "Обл" in to_boris[0].text  # the component in Russian
    # Subscribed after the first update: only the resolution.
    assert [m.subject.split("]")[1].split(":")[0].strip() for m in mail.server.to(late.email)] == ["Resolved"]
    assert SubscriberMail.objects.filter(status=SubscriberMail.Status.SENT).count() == 5
    assert not UpdateOutbox.objects.exists()


def test_an_unsubscribed_customer_hears_nothing_more(mail, client, agent, components):
    incident = open_incident(agent, components["msk"])
    customer = CustomerFactory()
    subscription, _created = services.subscription_create(incident=incident, user=customer, via=SubscriptionVia.BANNER)
    token = services.unsubscribe_token(subscription)
    page = client.get(reverse("status-unsubscribe", args=[token]))
    assert page.status_code == 200 and incident.title in page.content.decode()
    assert client.post(reverse("status-unsubscribe", args=[token])).status_code == 200
    assert client.get(reverse("status-unsubscribe", args=[token + "x"])).status_code == 404
    services.incident_update(incident=incident, actor=agent, state="identified", body="Found it.")
    mail.drain()
    assert mail.server.to(customer.email) == []


def test_a_failing_mail_server_is_tried_again_without_a_second_mail(mail, agent, components):
    incident = open_incident(agent, components["msk"])
    customer = CustomerFactory()
    services.subscription_create(incident=incident, user=customer, via=SubscriptionVia.BANNER)
    services.incident_update(incident=incident, actor=agent, state="identified", body="Found it.")
    mail.server.refuse = 1
    mail.drain()  # eager Celery runs the retry at once
    row = SubscriberMail.objects.get(update__body="Found it.")
    assert mail.server.refused == 1
    assert row.status == SubscriberMail.Status.SENT and row.attempts == 2 and "451" in row.last_error
    # A duplicate delivery of the task sends nothing more.
    tasks.send_subscriber_mail.delay(row.id)
    assert len(mail.server.to(customer.email)) == 1


def test_subscribing_from_the_ticket_form_counts_a_deflection_once(agent, components):
    incident = open_incident(agent, components["msk"])
    customer = CustomerFactory()
    services.subscription_create(incident=incident, user=customer, via=SubscriptionVia.BANNER)
    assert not Subscription.objects.get().deflected
    _subscription, created = services.subscription_create(
        incident=incident, user=customer, via=SubscriptionVia.TICKET_FORM
    )
    _subscription, _again = services.subscription_create(
        incident=incident, user=customer, via=SubscriptionVia.TICKET_FORM
    )
    assert not created
    assert Subscription.objects.filter(incident=incident, deflected=True).count() == 1


def test_only_customers_subscribe_and_only_to_active_incidents(agent, customer, components):
    incident = open_incident(agent, components["msk"])
    with pytest.raises(PermissionDenied):
        services.subscription_create(incident=incident, user=agent, via=SubscriptionVia.BANNER)
    services.incident_resolve(incident=incident, actor=agent, body="Fixed")
    with pytest.raises(Conflict):
        services.subscription_create(incident=incident, user=customer, via=SubscriptionVia.BANNER)
