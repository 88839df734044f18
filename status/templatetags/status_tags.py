import datetime as dt

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

from status import selectors

register = template.Library()


@register.filter
def isotime(value: str | None) -> str:
    """An ISO instant of the status summary in local time, as the reader's locale writes it."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


@register.filter
def localized_label(component) -> str:
    return component.label(get_language())


@register.inclusion_tag("status/_banner.html", takes_context=True)
def status_banner(context):
    """The panel's banner while an incident touches one of the customer's services."""
    request = context.get("request")
    user = getattr(request, "user", None)
    incidents = selectors.incidents_for_customer(user=user) if user is not None else []
    return {"incidents": incidents, "csrf_token": context.get("csrf_token"), "path": getattr(request, "path", "")}


@register.inclusion_tag("status/_ticket_incident.html", takes_context=True)
def ticket_incident(context, ticket, staff=False):
    """On a ticket's page: the incident it waits for (or was answered by)."""
    return {"link": selectors.ticket_incident(ticket=ticket), "staff": staff}


@register.inclusion_tag("status/_catalogue.html", takes_context=True)
def service_catalogue(context):
    """The ticket form's list of the provider's services, the customer's own first."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"components": selectors.catalogue(user=user)}
