"""The provider's catalogue, incidents and tokens for the status tests."""

from status import services
from status.models import Component, CustomerComponent, Service, TokenScope


def catalogue() -> dict[str, Component]:
    """Cloud servers in two data centres, and DNS."""
    cloud = Service.objects.create(slug="cloud", name="Cloud servers", name_ru="Облачные серверы", position=1)
    dns = Service.objects.create(slug="dns", name="DNS hosting", name_ru="DNS-хостинг", position=2)
    return {
        "msk": Component.objects.create(
            service=cloud, slug="cloud-msk1", name="Moscow (MSK-1)", name_ru="Москва (MSK-1)", aliases="MSK-1, msk1"
        ),
        "spb": Component.objects.create(
            service=cloud,
            slug="cloud-spb2",
            name="Saint Petersburg (SPB-2)",
            name_ru="Санкт-Петербург (SPB-2)",
            aliases="SPB-2",
        ),
        "dns": Component.objects.create(service=dns, slug="dns", name="Name servers", name_ru="Серверы имён"),
    }


def uses(customer, *components) -> None:
    for component in components:
        CustomerComponent.objects.create(customer=customer, component=component)


def open_incident(actor, *components, title="Moscow data centre: servers unreachable", severity="major", **kwargs):
    incident, _created = services.incident_open(
        actor=actor,
        title=title,
        severity=severity,
        components=list(components),
        body="We are looking into it.",
        **kwargs,
    )
    return incident


def token(scope=TokenScope.INCIDENTS, name="zabbix", **kwargs):
    return services.monitoring_token_issue(name=name, scope=scope, **kwargs)
