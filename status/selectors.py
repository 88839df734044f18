"""Reads of the status: the page's summary, what touches a customer, the incidents' tickets.

The summary and the set of active incidents are cached under the status's version, which every
write of status.services moves on (after its commit): a page served during an outage costs a
cache read, and nothing is ever stale past the write that changed it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import override

from accounts.models import User
from status import policy
from status.models import (
    ACTIVE_STATES,
    Component,
    ComponentState,
    CustomerComponent,
    Incident,
    IncidentState,
    IncidentTicket,
    IncidentUpdate,
    Maintenance,
    Service,
    Subscription,
)
from tickets.models import OPEN_STATUSES, Ticket

VERSION_KEY = "status:version"
HISTORY_DAYS = 90
# Maintenance announced on the page this far ahead.
UPCOMING_DAYS = 14
# Resolved incidents listed under the history.
HISTORY_INCIDENTS = 30


def status_version() -> str:
    """The status's current version; a new one after every change (status.services)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex[:12]
        cache.add(VERSION_KEY, version, None)
        version = cache.get(VERSION_KEY) or version
    return version


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- what is going on now ----------------------------------------------------------------


@dataclass(frozen=True)
class ActiveIncident:
    id: int
    title: str
    severity: str
    state: str
    component_ids: frozenset[int]


def active_incidents() -> list[ActiveIncident]:
    """The incidents not yet resolved, most severe first; cached under the status's version."""
    key = f"status:active:{status_version()}"
    found = cache.get(key)
    if found is None:
        rows = (
            Incident.objects.filter(state__in=ACTIVE_STATES)
            .prefetch_related(Prefetch("components", queryset=Component.objects.only("id")))
            .order_by("-started_at", "-id")
        )
        found = [
            ActiveIncident(
                id=incident.id,
                title=incident.title,
                severity=incident.severity,
                state=incident.state,
                component_ids=frozenset(component.id for component in incident.components.all()),
            )
            for incident in rows
        ]
        found.sort(key=lambda incident: policy.STATE_ORDER.index(policy.state_of(incident.severity)))
        cache.set(key, found, 300)
    return found


def customer_component_ids(*, user: User) -> set[int]:
    return set(CustomerComponent.objects.filter(customer=user).values_list("component_id", flat=True))


def incidents_for_customer(*, user: User) -> list[Incident]:
    """Active incidents that touch one of the customer's services (the panel's banner). No query
    at all while nothing is going on."""
    active = active_incidents()
    if not active or not user.is_authenticated or not user.is_customer:
        return []
    mine = customer_component_ids(user=user)
    ids = [incident.id for incident in active if incident.component_ids & mine]
    if not ids:
        return []
    incidents = {incident.id: incident for incident in Incident.objects.filter(id__in=ids)}
    subscribed = set(
        Subscription.objects.filter(incident_id__in=ids, user=user, cancelled_at__isnull=True).values_list(
            "incident_id", flat=True
        )
    )
    shown = []
    for incident_id in ids:
        incident = incidents.get(incident_id)
        if incident is not None:
            setattr(incident, "subscribed", incident_id in subscribed)  # noqa: B010 - for the template
            shown.append(incident)
    return shown


def incidents_for_component(*, component: Component, user: User | None = None) -> list[Incident]:
    """Active incidents of a component (the ticket form's check), each marked `subscribed` for the user."""
    ids = [incident.id for incident in active_incidents() if component.id in incident.component_ids]
    if not ids:
        return []
    incidents = list(
        Incident.objects.filter(id__in=ids).prefetch_related(
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created_at", "-id"))
        )
    )
    subscribed: set[int] = set()
    if user is not None and user.is_authenticated:
        subscribed = set(
            Subscription.objects.filter(incident_id__in=ids, user=user, cancelled_at__isnull=True).values_list(
                "incident_id", flat=True
            )
        )
    for incident in incidents:
        # For the template: not fields of the model.
        setattr(incident, "subscribed", incident.id in subscribed)  # noqa: B010
        setattr(incident, "latest", next(iter(incident.updates.all()), None))  # noqa: B010
    return incidents


def catalogue(*, user: User | None = None) -> list[Component]:
    """Every component with its service, the user's own first (the ticket form's choice)."""
    components = list(Component.objects.select_related("service"))
    if user is not None and user.is_authenticated and user.is_customer:
        mine = customer_component_ids(user=user)
        components.sort(key=lambda component: component.id not in mine)
        for component in components:
            setattr(component, "is_mine", component.id in mine)  # noqa: B010 - for the template
    return components


def component_for_text(text: str, *, language: str | None = None) -> Component | None:
    """The component a ticket form's service field names exactly (its label, in either language)."""
    wanted = " ".join((text or "").split()).casefold()
    if not wanted:
        return None
    for component in Component.objects.select_related("service"):
        names = {component.label(code).casefold() for code, _name in settings.LANGUAGES}
        names |= {component.slug.casefold()}
        if wanted in names:
            return component
    return None


# --- linking tickets on filing ---------------------------------------------------------------


def _terms(*names: str) -> list[str]:
    return [name.strip() for name in names if name and len(name.strip()) >= 2]


def _mentions(text: str, terms: list[str]) -> bool:
    return any(re.search(r"(?<!\w)" + re.escape(term) + r"(?!\w)", text, flags=re.IGNORECASE) for term in terms)


def incident_for_new_ticket(*, ticket: Ticket) -> int | None:
    """The active incident a newly filed ticket is about, if any.

    The ticket's service field and subject (an e-mail's subject: the mail channel fills no
    service) are read for the names of the affected components (in either language, with their
    other names such as a data centre's code) and of their services. A component named links to
    its incident; a service named links when the incident touches a component of that service
    the customer uses, or the customer's components of that service are unknown. The most
    severe incident wins."""
    active = active_incidents()
    if not active:
        return None
    text = f"{ticket.service}\n{ticket.subject}"
    affected = set().union(*(incident.component_ids for incident in active))
    components = list(Component.objects.filter(id__in=affected).select_related("service"))
    named: set[int] = set()
    services_named: set[int] = set()
    for component in components:
        aliases = [alias for alias in component.aliases.split(",")]
        if _mentions(text, _terms(component.name, component.name_ru, component.slug, *aliases)):
            named.add(component.id)
        service = component.service
        if _mentions(text, _terms(service.name, service.name_ru, service.slug)):
            services_named.add(service.id)
    if services_named:
        mine = set(
            CustomerComponent.objects.filter(
                customer_id=ticket.customer_id, component__service_id__in=services_named
            ).values_list("component_id", "component__service_id")
        )
        my_components = {component_id for component_id, _service in mine}
        services_known = {service_id for _component, service_id in mine}
        for component in components:
            if component.service_id in services_named and (
                component.id in my_components or component.service_id not in services_known
            ):
                named.add(component.id)
    for incident in active:  # most severe first
        if incident.component_ids & named:
            return incident.id
    return None


# --- the status page ---------------------------------------------------------------------


def _moment(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _incident_dict(incident: Incident, language: str) -> dict:
    return {
        "id": incident.id,
        "reference": incident.reference,
        "title": incident.title,
        "severity": incident.severity,
        "severity_label": str(incident.get_severity_display()),
        "state": incident.state,
        "state_label": str(incident.get_state_display()),
        "started_at": _moment(incident.started_at),
        "resolved_at": _moment(incident.resolved_at),
        "updated_at": _moment(incident.updated_at),
        "components": [
            {"slug": component.slug, "name": component.label(language)} for component in incident.components.all()
        ],
        "updates": [
            {
                "state": update.state,
                "state_label": str(update.get_state_display()),
                "body": update.body,
                "created_at": _moment(update.created_at),
            }
            for update in incident.updates.all()
        ],
    }


def _maintenance_dict(window: Maintenance, language: str, now: dt.datetime) -> dict:
    return {
        "id": window.id,
        "title": window.title,
        "description": window.description,
        "starts_at": _moment(window.starts_at),
        "ends_at": _moment(window.ends_at),
        "in_progress": window.starts_at <= now < window.ends_at,
        "components": [
            {"slug": component.slug, "name": component.label(language)} for component in window.components.all()
        ],
    }


def status_summary(*, language: str, now: dt.datetime | None = None) -> dict:
    """Everything the status page, its JSON and the chat bot show, as plain values: each
    service's and component's state, the active incidents with their timelines, maintenance in
    progress and coming, and the last 90 days (uptime per service, the worst state of each day,
    the resolved incidents)."""
    now = now or timezone.now()
    with override(language):
        return _summary(language, now)


def _summary(language: str, now: dt.datetime) -> dict:
    tz = zone()
    days = policy.local_days(last_day=now.astimezone(tz).date(), count=HISTORY_DAYS, zone=tz)
    period_start = days[0][1].start
    updates = Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created_at", "-id"))
    components_prefetch = Prefetch("components", queryset=Component.objects.select_related("service"))
    incidents = list(
        Incident.objects.filter(started_at__lt=now)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=period_start))
        .prefetch_related(components_prefetch, updates)
        .order_by("-started_at", "-id")
    )
    windows = list(
        Maintenance.objects.filter(cancelled_at__isnull=True, ends_at__gt=period_start)
        .filter(starts_at__lt=now + dt.timedelta(days=UPCOMING_DAYS))
        .prefetch_related(components_prefetch)
        .order_by("starts_at", "id")
    )
    services = list(Service.objects.prefetch_related("components").order_by("position", "slug"))
    active = [incident for incident in incidents if incident.state in ACTIVE_STATES]

    # Each component's outages and maintenance over the period.
    outages: dict[int, list[policy.Outage]] = {}
    for incident in incidents:
        for component in incident.components.all():
            outages.setdefault(component.id, []).append(
                policy.Outage(incident.started_at, incident.resolved_at, incident.severity)
            )
    maintenance: dict[int, list[policy.Window]] = {}
    for window in windows:
        if window.starts_at >= now:
            continue
        for component in window.components.all():
            maintenance.setdefault(component.id, []).append(policy.Window(window.starts_at, min(window.ends_at, now)))

    def current_state(component: Component) -> str:
        states = [policy.state_of(i.severity) for i in active if component in i.components.all()]
        if any(component in w.components.all() and w.starts_at <= now < w.ends_at for w in windows):
            states.append(ComponentState.MAINTENANCE)
        return policy.worst(states)

    service_rows: list[dict[str, Any]] = []
    for service in services:
        components = list(service.components.all())
        component_rows: list[dict[str, Any]] = []
        for component in components:
            state = current_state(component)
            component_rows.append(
                {
                    "slug": component.slug,
                    "name": component.localized_name(language),
                    "state": state,
                    "state_label": str(ComponentState(state).label),
                }
            )
        period = [
            policy.uptime(
                start=period_start,
                end=now,
                outages=outages.get(component.id, []),
                maintenance=maintenance.get(component.id, []),
            )
            for component in components
        ]
        ratio = policy.mean_ratio(period)
        day_rows = []
        for day, span in days:
            end = min(span.end, now)
            day_states = []
            down = 0.0
            for component in components:
                touching = [
                    outage
                    for outage in outages.get(component.id, [])
                    if outage.start < end and (outage.end is None or outage.end > span.start)
                ]
                day_states += [policy.state_of(outage.severity) for outage in touching]
                if touching and end > span.start:
                    down = max(
                        down,
                        policy.uptime(
                            start=span.start,
                            end=end,
                            outages=touching,
                            maintenance=maintenance.get(component.id, []),
                        ).down_seconds,
                    )
            state = policy.worst(day_states)
            day_rows.append(
                {
                    "date": day.isoformat(),
                    "state": state,
                    "state_label": str(ComponentState(state).label),
                    "down_minutes": round(down / 60),
                }
            )
        state = policy.worst(row["state"] for row in component_rows)
        service_rows.append(
            {
                "slug": service.slug,
                "name": service.localized_name(language),
                "state": state,
                "state_label": str(ComponentState(state).label),
                "uptime_percent": None if ratio is None else round(ratio * 100, 3),
                "components": component_rows,
                "days": day_rows,
            }
        )
    overall = policy.worst(row["state"] for row in service_rows)
    resolved = [incident for incident in incidents if incident.state == IncidentState.RESOLVED]
    return {
        "generated_at": _moment(now),
        "state": overall,
        "state_label": str(ComponentState(overall).label),
        "services": service_rows,
        "incidents": [_incident_dict(incident, language) for incident in active],
        "maintenance": [_maintenance_dict(window, language, now) for window in windows if window.ends_at > now],
        "history": [_incident_dict(incident, language) for incident in resolved[:HISTORY_INCIDENTS]],
        "history_days": HISTORY_DAYS,
    }


def recent_updates(*, limit: int = 50) -> list[IncidentUpdate]:
    """The newest public updates, for the Atom feed."""
    return list(IncidentUpdate.objects.select_related("incident").order_by("-created_at", "-id")[:limit])


# --- the workspace -----------------------------------------------------------------------


def incident_list() -> QuerySet[Incident]:
    return Incident.objects.annotate(
        linked=Count("ticket_links", distinct=True),
        deflections=Count("subscriptions", filter=Q(subscriptions__deflected=True), distinct=True),
    ).order_by("-started_at", "-id")


def maintenance_list() -> QuerySet[Maintenance]:
    return Maintenance.objects.prefetch_related("components__service").order_by("-starts_at", "-id")


def incident_tickets(*, incident: Incident) -> QuerySet[IncidentTicket]:
    return incident.ticket_links.select_related("ticket__line", "ticket__customer", "linked_by").order_by("id")


def link_candidates(*, incident: Incident, limit: int = 50) -> list[Ticket]:
    """Open tickets filed since the incident began, not linked to an incident, that name one of
    its components or their services: the agents' suggestions for linking in bulk."""
    components = list(incident.components.select_related("service"))
    terms: list[str] = []
    for component in components:
        terms += _terms(component.name, component.name_ru, component.slug, *component.aliases.split(","))
        terms += _terms(component.service.name, component.service.name_ru)
    if not terms:
        return []
    pending = IncidentTicket.objects.filter(done_at__isnull=True).values("ticket_id")
    tickets = (
        Ticket.objects.filter(status__in=OPEN_STATUSES, created_at__gte=incident.started_at - dt.timedelta(hours=1))
        .exclude(id__in=pending)
        .select_related("customer", "line")
        .order_by("-created_at")
    )
    found = []
    for ticket in tickets[:2000]:
        if _mentions(f"{ticket.service}\n{ticket.subject}", terms):
            found.append(ticket)
            if len(found) >= limit:
                break
    return found


def ticket_incident(*, ticket: Ticket) -> IncidentTicket | None:
    """The incident a ticket waits for, else the last one it was linked to: its links (a few at
    most) read in one query."""
    links = list(IncidentTicket.objects.filter(ticket=ticket).select_related("incident").order_by("id"))
    waiting = [link for link in links if link.done_at is None]
    if waiting:
        return waiting[0]
    return max(links, key=lambda link: (link.linked_at, link.id), default=None)


def deflection_count(*, incident: Incident) -> int:
    return incident.subscriptions.filter(deflected=True).count()
