"""The pages: the public status page, its JSON and feed; the panel's banner, ticket form check and
subscribing; the workspace's incident pages."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import CustomerFactory
from status import services
from status.models import Incident, IncidentTicket, ReplyState, Subscription
from status.tests.factories import open_incident, uses
from tickets.models import Status, Ticket
from tickets.tests.helpers import make_ticket

pytestmark = pytest.mark.django_db


def test_the_status_page_needs_no_login_and_shows_what_is_going_on(client, agent, components):
    quiet = client.get("/status/")
    assert quiet.status_code == 200
    assert "All systems operational" in quiet.content.decode()
    incident = open_incident(agent, components["msk"], title="Moscow: servers unreachable")
    services.incident_update(incident=incident, actor=agent, state="identified", body="A core switch failed.")
    start = timezone.now() + dt.timedelta(days=3)
    services.maintenance_plan(
        actor=agent,
        title="Storage firmware",
        components=[components["spb"]],
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    page = client.get("/status/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Moscow: servers unreachable" in html and "A core switch failed." in html
    assert "Major outage" in html and "Storage firmware" in html
    assert 'data-testid="service-cloud"' in html and html.count('class="state-') >= 90 * 2
    assert page["Cache-Control"] == "public, max-age=15"
    assert "csrfmiddlewaretoken" not in html and "<script" not in html
    # The same page again: 304 for a cache that has it.
    etag = page["ETag"]
    assert client.get("/status/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    russian = client.get("/status/?lang=ru")
    assert "Облачные серверы" in russian.content.decode() and russian["Content-Language"] == "ru"
    assert russian["ETag"] != etag


def test_the_page_changes_with_the_status_and_not_before(client, agent, components, django_capture_on_commit_callbacks):
    first = client.get("/status/")
    assert client.get("/status/")["ETag"] == first["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(agent, components["dns"], title="Name servers slow")
    changed = client.get("/status/")
    assert changed["ETag"] != first["ETag"] and "Name servers slow" in changed.content.decode()


def test_the_json_and_the_atom_feed(client, agent, components):
    incident = open_incident(agent, components["msk"], title="Moscow down")
    services.incident_resolve(incident=incident, actor=agent, body="Back up.")
    summary = client.get("/status/status.json").json()
    cloud = next(service for service in summary["services"] if service["slug"] == "cloud")
    assert len(cloud["days"]) == 90 and cloud["uptime_percent"] <= 100
    assert summary["history"][0]["title"] == "Moscow down"
    feed = client.get("/status/feed.atom")
    assert feed["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)  # noqa: S314 - our own answer
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    titles = [entry.find("{http://www.w3.org/2005/Atom}title").text for entry in entries]
    assert titles == [
        f"[{incident.reference}] Resolved: Moscow down",
        f"[{incident.reference}] Investigating: Moscow down",
    ]


def test_the_panel_shows_a_banner_while_an_incident_touches_the_customers_services(client, agent, components):
    mine, other = CustomerFactory(), CustomerFactory()
    uses(mine, components["msk"])
    uses(other, components["dns"])
    client.force_login(mine)
    assert 'data-testid="incident-banner"' not in client.get("/panel/").content.decode()
    incident = open_incident(agent, components["msk"], title="Moscow down")
    html = client.get("/panel/").content.decode()
    assert 'data-testid="incident-banner"' in html and "Moscow down" in html
    client.force_login(other)
    assert "Moscow down" not in client.get("/panel/").content.decode()
    # Subscribing from the banner.
    client.force_login(mine)
    response = client.post(
        reverse("status-subscribe", args=[incident.id]), {"via": "banner", "next": "/panel/tickets/"}
    )
    assert response.status_code == 302 and response["Location"] == "/panel/tickets/"
    assert Subscription.objects.get(user=mine).via == "banner"
    assert "You get its updates by e-mail." in client.get("/panel/").content.decode()


def test_the_ticket_form_offers_the_services_and_shows_the_incident_of_the_one_chosen(
    client, customer, agent, components
):
    uses(customer, components["spb"])
    client.force_login(customer)
    form = client.get(reverse("panel-ticket-new")).content.decode()
    assert 'list="status-catalogue"' in form and 'id="status-catalogue"' in form
    # The customer's own service is offered first.
    assert form.index("Saint Petersburg (SPB-2)") < form.index("Moscow (MSK-1)")
    incident = open_incident(agent, components["msk"], title="Moscow down")
    check = client.get(reverse("status-panel-check"), {"service": "Cloud servers — Moscow (MSK-1)"})
    assert 'data-testid="service-incident"' in check.content.decode() and "Moscow down" in check.content.decode()
    assert (
        client.get(
            reverse("status-panel-check"), {"service": "Cloud servers — Saint Petersburg (SPB-2)"}
        ).content.strip()
        == b""
    )
    assert client.get(reverse("status-panel-check"), {"service": "my own server"}).content.strip() == b""
    # Subscribing instead of filing: no ticket, a deflection.
    response = client.post(reverse("status-subscribe", args=[incident.id]), {"via": "ticket_form"})
    assert response.status_code == 302 and response["Location"] == reverse("panel")
    assert Subscription.objects.get(user=customer).deflected
    assert not Ticket.objects.exists()


def test_panel_checks_are_for_customers(client, agent):
    assert client.get(reverse("status-panel-check")).status_code == 302
    client.force_login(agent)
    assert client.get(reverse("status-panel-check")).status_code == 403


def test_a_linked_ticket_shows_its_incident_to_the_customer_and_the_agent(client, routed, customer, agent, components):
    incident = open_incident(agent, components["msk"], title="Moscow down")
    ticket = make_ticket(customer, service="MSK-1")
    client.force_login(customer)
    page = client.get(reverse("panel-ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="ticket-incident"' in page and "Moscow down" in page
    client.force_login(agent)
    page = client.get(reverse("desk-ticket", args=[ticket.number])).content.decode()
    assert reverse("desk-incident", args=[incident.id]) in page


def test_staff_run_an_incident_from_the_workspace(
    client, routed, customer, agent, components, django_capture_on_commit_callbacks
):
    client.force_login(agent)
    assert client.get(reverse("desk-incidents")).status_code == 200
    created = client.post(
        reverse("desk-incident-new"),
        {"title": "Moscow down", "severity": "major", "components": [components["msk"].id], "body": "Looking."},
    )
    incident = Incident.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse("desk-incident", args=[incident.id])
    tickets = [make_ticket(customer, subject=f"Problem {n}") for n in range(2)]
    client.post(
        reverse("desk-incident-link", args=[incident.id]),
        {"numbers": f"#{tickets[0].number}, {tickets[1].number} 999999"},
    )
    assert IncidentTicket.objects.filter(incident=incident).count() == 2
    page = client.get(reverse("desk-incident", args=[incident.id])).content.decode()
    assert page.count(f"#{tickets[0].number}") >= 1 and 'data-testid="linked-tickets"' in page
    client.post(reverse("desk-incident-unlink", args=[incident.id]), {"ticket": [tickets[1].number]})
    assert IncidentTicket.objects.filter(incident=incident).count() == 1
    client.post(reverse("desk-incident-update", args=[incident.id]), {"state": "identified", "body": "Switch."})
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(reverse("desk-incident-resolve", args=[incident.id]), {"body": "Fixed.", "reply": "All fine now."})
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.reply_state == ReplyState.RUNNING
    assert queued  # the pass over the tickets is queued once the resolution commits
    progress = client.get(reverse("desk-incident-progress", args=[incident.id])).content.decode()
    assert 'hx-trigger="every 2s"' in progress and "0 of 1" in progress
    services.resolution_answer_batch(incident_id=incident.id)
    services.resolution_answer_batch(incident_id=incident.id)
    progress = client.get(reverse("desk-incident-progress", args=[incident.id])).content.decode()
    assert "every 2s" not in progress and "1 of 1" in progress
    assert Ticket.objects.get(pk=tickets[0].pk).status == Status.RESOLVED


def test_customers_cannot_enter_the_incident_pages(client, customer, agent, components):
    incident = open_incident(agent, components["msk"])
    client.force_login(customer)
    assert client.get(reverse("desk-incidents")).status_code == 403
    assert client.post(reverse("desk-incident-resolve", args=[incident.id]), {"body": "x"}).status_code == 403
