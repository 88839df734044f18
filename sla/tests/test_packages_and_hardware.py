"""Paid administration packages (tasks counted per month, extra charge accepted before work)
and hardware replacement windows by component and plan."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from accounts.models import Plan
from helpdesk.errors import Conflict
from queues.models import BalanceEntry, RoutingRule
from sla.models import HardwareWindow, SlaTarget
from tickets import services
from tickets.models import Message

pytestmark = pytest.mark.django_db
MARCH = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def basic(db):
    return Plan.objects.create(
        code="admin-basic",
        name="Basic administration",
        kind=Plan.Kind.ADMIN_PACKAGE,
        monthly_price=Decimal(250),
        tasks_per_month=5,
        extra_task_price=Decimal(150),
    )


@pytest.fixture
def packaged(customer, basic, line):
    RoutingRule.objects.create(category="admin_work", line=line)
    RoutingRule.objects.create(category="hardware", line=line)
    customer.customer_profile.admin_package = basic
    customer.customer_profile.save()
    return customer


def admin_task(customer, n=0):
    return services.ticket_create(
        customer=customer, subject=f"Install Docker {n}", body="Please", category="admin_work"
    )


def test_the_months_first_tasks_are_included_and_the_next_needs_the_customers_consent(packaged, agent):
    with time_machine.travel(MARCH, tick=False):
        tasks = [admin_task(packaged, n) for n in range(6)]
    assert [t.package_task for t in tasks] == ["included"] * 5 + ["extra_pending"]
    extra = tasks[-1]
    notice = extra.messages.get(kind=Message.Kind.SYSTEM)
    assert "150" in notice.body and "Basic administration" in notice.body
    with pytest.raises(Conflict) as refused:
        services.ticket_take(ticket=extra, agent=agent)
    assert refused.value.code == "extra_charge_not_accepted"


def test_a_new_month_starts_a_new_package(packaged):
    with time_machine.travel(MARCH, tick=False):
        for n in range(5):
            admin_task(packaged, n)
    with time_machine.travel(MARCH + dt.timedelta(days=31), tick=False):
        assert admin_task(packaged, 99).package_task == "included"


def test_accepting_the_extra_charge_charges_the_ledger_once_and_lets_work_start(client, packaged, agent):
    with time_machine.travel(MARCH, tick=False):
        for n in range(5):
            admin_task(packaged, n)
        extra = admin_task(packaged, 5)
    client.force_login(packaged)
    html = client.get(reverse("panel-ticket", args=[extra.number])).content.decode()
    assert "Accept the extra charge" in html
    client.post(reverse("panel-ticket-accept-extra", args=[extra.number]))
    client.post(reverse("panel-ticket-accept-extra", args=[extra.number]))  # a second click changes nothing
    extra.refresh_from_db()
    assert extra.package_task == "extra_accepted"
    (charge,) = BalanceEntry.objects.filter(customer=packaged)
    assert (charge.amount, charge.reference) == (Decimal(-150), f"package-extra:{extra.number}")
    services.ticket_take(ticket=extra, agent=agent)


def test_administration_work_follows_the_packages_response_target(packaged, basic):
    SlaTarget.objects.create(
        plan=basic,
        urgency="normal",
        first_response_minutes=24 * 60,
        next_response_minutes=24 * 60,
        resolution_minutes=5 * 24 * 60,
    )
    SlaTarget.objects.create(
        plan=None, urgency="normal", first_response_minutes=60, next_response_minutes=60, resolution_minutes=600
    )
    with time_machine.travel(MARCH, tick=False):
        task = admin_task(packaged)
        question = services.ticket_create(customer=packaged, subject="Q", body="?", category="general")
    assert task.first_response_due == MARCH + dt.timedelta(hours=24)
    assert question.first_response_due == MARCH + dt.timedelta(minutes=60)


@pytest.mark.parametrize(("component", "hours"), [("disk", 24), ("memory", 72)])
def test_hardware_replacement_windows_by_component(packaged, component, hours):
    HardwareWindow.objects.create(plan=None, component="disk", hours=24)
    HardwareWindow.objects.create(plan=None, component="memory", hours=72)
    SlaTarget.objects.create(
        plan=None, urgency="normal", first_response_minutes=60, next_response_minutes=60, resolution_minutes=600
    )
    with time_machine.travel(MARCH, tick=False):
        ticket = services.ticket_create(
            customer=packaged, subject="Replace", body="Broken", category="hardware", hardware_component=component
        )
    assert ticket.resolution_due == MARCH + dt.timedelta(hours=hours)
    assert ticket.hardware_component == component


def test_a_better_plan_gets_a_shorter_hardware_window(packaged):
    business = Plan.objects.create(code="business", name="Business", kind=Plan.Kind.SUPPORT_LEVEL, level=2)
    packaged.customer_profile.support_plan = business
    packaged.customer_profile.save()
    HardwareWindow.objects.create(plan=None, component="memory", hours=72)
    HardwareWindow.objects.create(plan=business, component="memory", hours=24)
    SlaTarget.objects.create(
        plan=None, urgency="normal", first_response_minutes=60, next_response_minutes=60, resolution_minutes=600
    )
    with time_machine.travel(MARCH, tick=False):
        ticket = services.ticket_create(
            customer=packaged, subject="RAM", body="ECC errors", category="hardware", hardware_component="memory"
        )
    assert ticket.resolution_due == MARCH + dt.timedelta(hours=24)


def test_an_unknown_component_is_refused_clearly(packaged):
    from helpdesk.errors import DomainError

    with pytest.raises(DomainError) as refused:
        services.ticket_create(customer=packaged, subject="X", body="Y", category="hardware", hardware_component="gpu9")
    assert refused.value.field == "hardware_component"


def test_the_extra_charge_notice_is_in_the_customers_language_whoever_files(packaged):
    packaged.language = "ru"
    packaged.save(update_fields=["language"])
    with time_machine.travel(MARCH, tick=False), translation.override("en"):  # an English-speaking agent's request
        tasks = [admin_task(packaged, n) for n in range(6)]
    notice = tasks[-1].messages.get(kind=Message.Kind.SYSTEM)
    assert notice.body.startswith("Все задачи, включённые в ваш пакет «Basic administration»")
