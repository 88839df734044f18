"""The status's demo data: the provider's catalogue, who uses what, and 90 days of history.

Idempotent: services and components are upserted by their codes, each customer gets one
component once, and the past incidents and the coming maintenance are written only while
there are no incidents at all. Nothing is going on in the demo: staff open an incident in the
workspace (or the monitoring through the API) to see the banner, the ticket form and the page
change.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from status import services
from status.models import Component, CustomerComponent, Incident, Service

# code, English, Russian, [(component code, English, Russian, other names)]
CATALOGUE = [
    ("cloud", "Cloud servers", "Облачные серверы", [
        ("cloud-msk1", "Moscow (MSK-1)", "Москва (MSK-1)", "MSK-1, msk1, Moscow"),
        ("cloud-spb2", "Saint Petersburg (SPB-2)", "Санкт-Петербург (SPB-2)", "SPB-2, spb2"),
        ("cloud-ams1", "Amsterdam (AMS-1)", "Амстердам (AMS-1)", "AMS-1, ams1"),
    ]),
    ("dedicated", "Dedicated servers", "Выделенные серверы", [
        ("dedicated-msk1", "Moscow (MSK-1)", "Москва (MSK-1)", ""),
        ("dedicated-spb2", "Saint Petersburg (SPB-2)", "Санкт-Петербург (SPB-2)", ""),
    ]),
    ("hosting", "Web hosting", "Виртуальный хостинг", [
        ("hosting-web", "Web servers", "Веб-серверы", "shared hosting"),
        ("hosting-mail", "Mail", "Почта", "mail, SMTP, IMAP, почта"),
    ]),
    ("dns", "DNS", "DNS", [("dns-ns", "Name servers", "DNS-серверы", "ns1, ns2, nameserver")]),
    ("storage", "Object storage", "Объектное хранилище", [("storage-s3", "S3 storage", "Хранилище S3", "S3")]),
    ("panel", "Control panel and API", "Панель управления и API", [("panel-web", "Control panel", "Панель", "")]),
]  # fmt: skip

# title, severity, component codes, days ago, minutes it lasted, the updates' texts
HISTORY = [
    ("Packet loss in Moscow", "partial", ["cloud-msk1", "dedicated-msk1"], 74, 48,
     "An uplink of the MSK-1 border router flapped.",
     "Traffic moved to the spare uplink; the faulty optic is replaced."),
    ("Mail delivery delays", "degraded", ["hosting-mail"], 51, 130,
     "Outgoing mail waits in the queue for up to 20 minutes.", "A spam wave filled the queue; it is drained."),
    ("Name servers unreachable", "major", ["dns-ns"], 33, 17,
     "ns1 and ns2 do not answer.", "A configuration error was rolled back."),
    ("Amsterdam servers unreachable", "major", ["cloud-ams1"], 12, 64,
     "Servers in AMS-1 do not answer.", "The data centre's power was restored and every server started."),
]  # fmt: skip


def upsert_catalogue() -> list[Component]:
    components = []
    for position, (code, name, name_ru, parts) in enumerate(CATALOGUE):
        service, _ = Service.objects.update_or_create(
            slug=code, defaults={"name": name, "name_ru": name_ru, "position": position}
        )
        for part_position, (part_code, part_name, part_name_ru, aliases) in enumerate(parts):
            component, _ = Component.objects.update_or_create(
                slug=part_code,
                defaults={
                    "service": service,
                    "name": part_name,
                    "name_ru": part_name_ru,
                    "aliases": aliases,
                    "position": part_position,
                },
            )
            components.append(component)
    return components


def upsert_demo_status(*, customer_ids: list[int], manager: User) -> None:
    """The catalogue, one component per customer (cloud servers in Moscow for the first), and
    the history, written once by `manager` through the services."""
    components = upsert_catalogue()
    have = set(CustomerComponent.objects.filter(customer_id__in=customer_ids).values_list("customer_id", flat=True))
    CustomerComponent.objects.bulk_create(
        [
            CustomerComponent(customer_id=customer_id, component=components[index % len(components)])
            for index, customer_id in enumerate(customer_ids)
            if customer_id not in have
        ],
        ignore_conflicts=True,
    )
    if Incident.objects.exists():
        return
    by_code = {component.slug: component for component in components}
    now = timezone.now()
    for title, severity, codes, days_ago, minutes, first, last in HISTORY:
        started = now - dt.timedelta(days=days_ago, hours=3)
        incident, _ = services.incident_open(
            actor=manager,
            title=title,
            severity=severity,
            components=[by_code[code] for code in codes],
            body=first,
            started_at=started,
        )
        services.incident_resolve(incident=incident, actor=manager, body=last)
        resolved = started + dt.timedelta(minutes=minutes)
        Incident.objects.filter(pk=incident.pk).update(resolved_at=resolved, updated_at=resolved)
        incident.updates.filter(state="investigating").update(created_at=started)
        incident.updates.filter(state="resolved").update(created_at=resolved)
    start = (now + dt.timedelta(days=5)).replace(hour=2, minute=0, second=0, microsecond=0)
    services.maintenance_plan(
        actor=manager,
        title="Storage firmware update",
        description="Object storage may answer slowly for up to ten minutes during the window.",
        components=[by_code["storage-s3"]],
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
