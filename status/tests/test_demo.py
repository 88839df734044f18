"""The demo's catalogue and history: written once, read by the status page."""

import pytest

from accounts.tests.factories import CustomerFactory
from status import selectors
from status.demo import upsert_demo_status
from status.models import Component, CustomerComponent, Incident, Maintenance

pytestmark = pytest.mark.django_db


def test_the_demo_status_is_written_once(manager):
    customers = [CustomerFactory().id for _ in range(3)]
    upsert_demo_status(customer_ids=customers, manager=manager)
    upsert_demo_status(customer_ids=customers, manager=manager)
    assert Incident.objects.count() == 4 and not Incident.objects.filter(resolved_at__isnull=True).exists()
    assert Maintenance.objects.count() == 1
    assert CustomerComponent.objects.filter(customer_id=customers[0]).get().component.slug == "cloud-msk1"
    assert CustomerComponent.objects.count() == 3
    summary = selectors.status_summary(language="en")
    assert summary["state"] == "operational" and summary["maintenance"][0]["title"] == "Storage firmware update"
    dns = next(service for service in summary["services"] if service["slug"] == "dns")
    # 17 minutes of major outage in 90 days.
    assert dns["uptime_percent"] == pytest.approx(100 * (1 - 17 / (90 * 24 * 60)), abs=0.002)
    assert sum(day["state"] == "major" for day in dns["days"]) == 1
    assert Component.objects.count() == 10
