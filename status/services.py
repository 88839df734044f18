"""Incidents, maintenance, subscriptions and the incidents' tickets: every write of the status.

An orchestrator (docs/architecture.md#layers): it decides, writes its own rows, and writes
the tickets' side through tickets.services (the link's history line and the queue, the
resolution's reply). Who may write: support staff, or the provider's monitoring through a
MonitoringToken of the right scope (`token`), checked here whatever the caller.

Every change moves the status's version on (after the commit), so the cached page and the
set of active incidents (status.selectors) are rebuilt at the next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.core.signing import BadSignature, Signer
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.errors import Conflict, DomainError, NotFound, PermissionDenied
from status.models import (
    ACTIVE_STATES,
    Component,
    Incident,
    IncidentState,
    IncidentTicket,
    IncidentUpdate,
    LinkOutcome,
    LinkVia,
    Maintenance,
    MonitoringToken,
    ReplyState,
    Severity,
    SubscriberMail,
    Subscription,
    SubscriptionVia,
    TokenScope,
    UpdateOutbox,
)
from status.selectors import VERSION_KEY, incident_for_new_ticket
from tickets import services as ticket_services
from tickets.models import Ticket

logger = logging.getLogger(__name__)

TITLE_MAX = 200
BODY_MAX = 5000
# Tickets answered per batch of the resolution's pass; each ticket is its own transaction.
ANSWER_BATCH = 50
# Keys start with this, so a leaked one is recognised for what it is (by people and scanners).
TOKEN_PREFIX = "hdmon_"  # noqa: S105 - a prefix, not a secret


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex[:12], None)


def _changed() -> None:
    """The status changed: a new version now, for this transaction's own reads, and again once it
    commits, since a page read in between would have been cached with the old rows."""
    _new_version()
    transaction.on_commit(_new_version)


def _text(value: str, *, field: str, label: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(_("%(label)s must not be empty.") % {"label": label}, code="required", field=field)
    if len(value) > max_length:
        raise DomainError(
            _("%(label)s is too long (%(length)d characters, at most %(max)d).")
            % {"label": label, "length": len(value), "max": max_length},
            code="too_long",
            field=field,
        )
    return value


def _require_writer(actor: User | None, token: MonitoringToken | None, scope: str) -> None:
    """Support staff, or a live monitoring token of this scope."""
    if token is not None:
        if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= timezone.now()):
            raise PermissionDenied(_("This monitoring token is no longer valid."), code="token_invalid")
        if token.scope != scope:
            raise PermissionDenied(
                _("This token's scope is “%(scope)s”; this needs “%(needed)s”.")
                % {"scope": token.scope, "needed": scope},
                code="wrong_scope",
            )
        return
    if actor is None or not actor.is_authenticated or not actor.is_active or not actor.is_support_staff:
        raise PermissionDenied(_("Only support staff or the monitoring may change the service status."))


def _source(actor: User | None, token: MonitoringToken | None) -> str:
    return token.source if token is not None else "staff"


def _components(components: Iterable[Component]) -> list[Component]:
    chosen = list(components)
    if not chosen:
        raise DomainError(_("Choose at least one affected component."), code="required", field="components")
    return chosen


# --- incidents ---------------------------------------------------------------------------


def _publish(
    incident: Incident, *, state: str, body: str, actor: User | None, token: MonitoringToken | None
) -> IncidentUpdate:
    """A timeline entry, and its outbox row for the subscribers' e-mails (same transaction)."""
    update = IncidentUpdate.objects.create(
        incident=incident,
        state=state,
        body=_text(body, field="body", label=_("The update"), max_length=BODY_MAX),
        author=actor if token is None else None,
        source=_source(actor, token),
        created_at=timezone.now(),
    )
    UpdateOutbox.objects.create(update=update)
    return update


@transaction.atomic
def incident_open(
    *,
    title: str,
    severity: str,
    components: Sequence[Component],
    body: str,
    actor: User | None = None,
    token: MonitoringToken | None = None,
    state: str = IncidentState.INVESTIGATING,
    started_at: dt.datetime | None = None,
    external_id: str = "",
) -> tuple[Incident, bool]:
    """Open an incident with its first public update; returns it and whether it is new.

    The monitoring may send the same alert again (`external_id`): the incident it opened is
    returned as it is."""
    _require_writer(actor, token, TokenScope.INCIDENTS)
    source = _source(actor, token)
    external_id = (external_id or "").strip()[:200]
    if external_id:
        existing = Incident.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return existing, False
    title = _text(title, field="title", label=_("The title"), max_length=TITLE_MAX)
    if severity not in Severity.values:
        raise DomainError(_("Unknown severity “%(value)s”.") % {"value": severity}, code="invalid", field="severity")
    if state not in ACTIVE_STATES:
        raise DomainError(_("A new incident cannot be resolved already."), code="invalid", field="state")
    chosen = _components(components)
    now = timezone.now()
    started_at = started_at or now
    if started_at > now + dt.timedelta(minutes=5):
        raise DomainError(_("An incident cannot start in the future."), code="in_the_future", field="started_at")
    incident = Incident.objects.create(
        title=title,
        severity=severity,
        state=state,
        started_at=started_at,
        created_at=now,
        updated_at=now,
        created_by=actor if token is None else None,
        source=source,
        external_id=external_id,
    )
    incident.components.set(chosen)
    _publish(incident, state=state, body=body, actor=actor, token=token)
    _changed()
    logger.info("incident opened: id=%s severity=%s source=%s", incident.id, severity, source)
    return incident, True


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


@transaction.atomic
def incident_update(
    *,
    incident: Incident,
    state: str,
    body: str,
    actor: User | None = None,
    token: MonitoringToken | None = None,
    severity: str | None = None,
    components: Sequence[Component] | None = None,
) -> IncidentUpdate:
    """A public update of an active incident (investigating, identified, monitoring), and a
    change of its severity or components if given. Resolving is incident_resolve."""
    _require_writer(actor, token, TokenScope.INCIDENTS)
    incident = _lock(incident)
    if not incident.is_active:
        raise Conflict(_("This incident is resolved; open a new one."), code="incident_resolved")
    if state == IncidentState.RESOLVED:
        raise DomainError(_("Resolve the incident with its resolution."), code="invalid", field="state")
    if state not in ACTIVE_STATES:
        raise DomainError(_("Unknown state “%(value)s”.") % {"value": state}, code="invalid", field="state")
    fields = ["state", "updated_at"]
    if severity is not None and severity != incident.severity:
        if severity not in Severity.values:
            raise DomainError(
                _("Unknown severity “%(value)s”.") % {"value": severity}, code="invalid", field="severity"
            )
        incident.severity = severity
        fields.append("severity")
    if components is not None:
        incident.components.set(_components(components))
    update = _publish(incident, state=state, body=body, actor=actor, token=token)
    incident.state = state
    incident.updated_at = update.created_at
    incident.save(update_fields=fields)
    _changed()
    return update


@transaction.atomic
def incident_resolve(
    *,
    incident: Incident,
    body: str,
    actor: User | None = None,
    token: MonitoringToken | None = None,
    reply: str = "",
) -> IncidentUpdate:
    """Publish the resolution. With `reply` (staff only) every linked ticket gets that reply and
    is resolved; without, the linked tickets go back to their place in the queue. Either way the
    pass over the tickets runs afterwards, in batches (status.tasks.answer_linked_tickets, which
    the caller queues once this commits) and resolution_answer_batch)."""
    _require_writer(actor, token, TokenScope.INCIDENTS)
    incident = _lock(incident)
    if not incident.is_active:
        raise Conflict(_("This incident is resolved already."), code="incident_resolved")
    reply = (reply or "").strip()
    if reply:
        if token is not None or actor is None:
            raise PermissionDenied(_("Only support staff reply to tickets."), code="reply_needs_staff")
        reply = _text(reply, field="reply", label=_("The reply"), max_length=ticket_services.BODY_MAX)
    update = _publish(incident, state=IncidentState.RESOLVED, body=body, actor=actor, token=token)
    now = update.created_at
    incident.state = IncidentState.RESOLVED
    incident.resolved_at = now
    incident.updated_at = now
    incident.reply_body = reply
    incident.reply_by = actor if reply else None
    incident.reply_total = incident.ticket_links.filter(done_at__isnull=True).count()
    incident.reply_done = 0
    incident.reply_state = ReplyState.RUNNING if incident.reply_total else ReplyState.DONE
    incident.reply_started_at = now
    incident.reply_heartbeat_at = now
    incident.reply_finished_at = None if incident.reply_total else now
    incident.save()
    _changed()
    logger.info("incident resolved: id=%s linked=%s reply=%s", incident.id, incident.reply_total, bool(reply))
    return update


def resolution_answer_batch(*, incident_id: int, batch: int = ANSWER_BATCH) -> int:
    """Deal with up to `batch` of a resolved incident's linked tickets: with the incident's reply,
    reply and resolve each; without, put it back in its queue. Returns how many it dealt with;
    0 when none is left for this pass.

    Each ticket is its own short transaction, which takes the next link nobody holds (SKIP
    LOCKED) and sets its `done_at` with the ticket's reply: no transaction spans the tickets,
    several passes share the work, and a pass killed at any point and started again answers
    each ticket once. The pass that finds nothing left, and nobody else working, marks the
    incident's answering done."""
    incident = Incident.objects.select_related("reply_by").get(pk=incident_id)
    if incident.state != IncidentState.RESOLVED:
        raise Conflict(_("The incident is not resolved."), code="incident_active")
    handled = 0
    for _n in range(batch):
        with transaction.atomic():
            link = (
                IncidentTicket.objects.select_for_update(skip_locked=True)
                .filter(incident_id=incident_id, done_at__isnull=True)
                .only("id", "ticket_id")
                .order_by("id")
                .first()
            )
            if link is None:
                break
            # The ticket services read and lock the ticket themselves: its key is all they need.
            link.outcome = _answer(incident, Ticket(pk=link.ticket_id))
            link.done_at = timezone.now()
            link.save(update_fields=["outcome", "done_at"])
        handled += 1
    finished = (
        handled < batch and not IncidentTicket.objects.filter(incident_id=incident_id, done_at__isnull=True).exists()
    )
    _progress(incident_id, finished=finished)
    return handled


def _answer(incident: Incident, ticket: Ticket) -> str:
    if incident.reply_body and incident.reply_by is not None:
        message = ticket_services.ticket_incident_resolve(
            ticket=ticket, actor=incident.reply_by, body=incident.reply_body
        )
        return LinkOutcome.REPLIED if message is not None else LinkOutcome.SKIPPED
    ticket_services.ticket_unlink_incident(
        ticket=ticket, actor=None, incident=incident.id, title=incident.title, via="resolved"
    )
    return LinkOutcome.RELEASED


def _progress(incident_id: int, *, finished: bool) -> None:
    now = timezone.now()
    done = IncidentTicket.objects.filter(incident_id=incident_id, done_at__isnull=False).count()
    fields: dict = {"reply_done": done, "reply_heartbeat_at": now}
    if finished:
        fields |= {"reply_state": ReplyState.DONE, "reply_finished_at": now}
    Incident.objects.filter(pk=incident_id).update(**fields)
    if finished:
        _new_version()


# --- tickets and incidents ---------------------------------------------------------------


def _link(incident: Incident, ticket: Ticket, *, actor: User | None, via: str) -> IncidentTicket:
    """Inside the caller's transaction: the link row, then the ticket's side."""
    pending = IncidentTicket.objects.filter(ticket=ticket, done_at__isnull=True).select_related("incident").first()
    if pending is not None:
        if pending.incident_id == incident.id:
            return pending
        raise Conflict(
            _("Ticket #%(number)s is linked to %(incident)s already.")
            % {"number": ticket.number, "incident": pending.incident.reference},
            code="linked_elsewhere",
        )
    if IncidentTicket.objects.filter(ticket=ticket, incident=incident).exists():
        raise Conflict(
            _("Ticket #%(number)s was answered for this incident already.") % {"number": ticket.number},
            code="answered_already",
        )
    link = IncidentTicket.objects.create(incident=incident, ticket=ticket, via=via, linked_by=actor)
    ticket_services.ticket_link_incident(
        ticket=ticket, actor=actor, incident=incident.id, title=incident.title, via=via
    )
    return link


def ticket_filed(ticket: Ticket) -> None:
    """tickets.services.TICKET_FILED_HOOKS: a ticket filed about a service under an incident is
    linked to it, in the filing's transaction (any channel: panel, API, e-mail, phone)."""
    incident_id = incident_for_new_ticket(ticket=ticket)
    if incident_id is None:
        return
    incident = Incident.objects.filter(pk=incident_id, state__in=ACTIVE_STATES).first()
    if incident is None:
        return  # resolved since the cached list was read
    _link(incident, ticket, actor=None, via=LinkVia.AUTO)
    # The caller goes on with its own copy of the ticket: give it the parked order key.
    ticket.refresh_from_db(fields=["virtual_time", "updated_at"])
    logger.info("ticket %s linked to incident %s on filing", ticket.number, incident_id)


def tickets_link(*, incident: Incident, tickets: Iterable[Ticket], actor: User) -> tuple[int, list[str]]:
    """Link tickets to an active incident, each in its own transaction; returns how many were
    linked and why the others were not."""
    _require_writer(actor, None, TokenScope.INCIDENTS)
    if not Incident.objects.filter(pk=incident.pk, state__in=ACTIVE_STATES).exists():
        raise Conflict(_("Tickets are linked to active incidents only."), code="incident_resolved")
    linked, refused = 0, []
    for ticket in tickets:
        try:
            with transaction.atomic():
                _link(incident, ticket, actor=actor, via=LinkVia.AGENT)
        except DomainError as error:
            refused.append(f"#{ticket.number}: {error.message}")
        else:
            linked += 1
    return linked, refused


def tickets_unlink(*, incident: Incident, tickets: Iterable[Ticket], actor: User) -> tuple[int, list[str]]:
    """Unlink tickets still waiting for the incident, each in its own transaction: back to their
    places in the queue."""
    _require_writer(actor, None, TokenScope.INCIDENTS)
    unlinked, refused = 0, []
    for ticket in tickets:
        try:
            with transaction.atomic():
                link = (
                    IncidentTicket.objects.select_for_update()
                    .filter(incident=incident, ticket=ticket, done_at__isnull=True)
                    .first()
                )
                if link is None:
                    raise NotFound(_("Not linked to this incident."), code="not_linked")
                link.delete()
                ticket_services.ticket_unlink_incident(
                    ticket=ticket, actor=actor, incident=incident.id, title=incident.title, via="agent"
                )
        except DomainError as error:
            refused.append(f"#{ticket.number}: {error.message}")
        else:
            unlinked += 1
    return unlinked, refused


# --- maintenance -------------------------------------------------------------------------


@transaction.atomic
def maintenance_plan(
    *,
    title: str,
    components: Sequence[Component],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    description: str = "",
    actor: User | None = None,
    token: MonitoringToken | None = None,
) -> Maintenance:
    _require_writer(actor, token, TokenScope.MAINTENANCE)
    title = _text(title, field="title", label=_("The title"), max_length=TITLE_MAX)
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise DomainError(_("Give the times with their time zone."), code="invalid", field="starts_at")
    if ends_at <= starts_at:
        raise DomainError(_("A window ends after it starts."), code="invalid", field="ends_at")
    window = Maintenance.objects.create(
        title=title,
        description=(description or "").strip()[:BODY_MAX],
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor if token is None else None,
        source=_source(actor, token),
    )
    window.components.set(_components(components))
    _changed()
    return window


@transaction.atomic
def maintenance_cancel(
    *, maintenance: Maintenance, actor: User | None = None, token: MonitoringToken | None = None
) -> Maintenance:
    _require_writer(actor, token, TokenScope.MAINTENANCE)
    window = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    if window.cancelled_at is None:
        window.cancelled_at = timezone.now()
        window.save(update_fields=["cancelled_at"])
        _changed()
    return window


# --- subscriptions -----------------------------------------------------------------------


@transaction.atomic
def subscription_create(*, incident: Incident, user: User, via: str) -> tuple[Subscription, bool]:
    """A customer hears of the incident's updates by e-mail; from the ticket form it counts as
    a ticket not filed (a deflection). Returns the subscription and whether it is new."""
    if not user.is_authenticated or not user.is_active or not user.is_customer:
        raise PermissionDenied(_("Customers subscribe to incidents from their control panel."))
    if via not in SubscriptionVia.values:
        raise DomainError(_("Unknown place to subscribe from."), code="invalid", field="via")
    if not user.email:
        raise DomainError(_("Your account has no e-mail address to write to."), code="no_email")
    incident = _lock(incident)
    if not incident.is_active:
        raise Conflict(_("This incident is resolved."), code="incident_resolved")
    deflected = via == SubscriptionVia.TICKET_FORM
    subscription, created = Subscription.objects.get_or_create(
        incident=incident, user=user, defaults={"via": via, "deflected": deflected}
    )
    if not created:
        fields = []
        if subscription.cancelled_at is not None:
            subscription.cancelled_at = None
            fields.append("cancelled_at")
        if deflected and not subscription.deflected:
            subscription.deflected = True
            fields.append("deflected")
        if fields:
            subscription.save(update_fields=fields)
    logger.info("incident %s: customer %s subscribed via %s", incident.id, user.pk, via)
    return subscription, created


@transaction.atomic
def subscription_cancel(*, subscription: Subscription) -> Subscription:
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.cancelled_at is None:
        subscription.cancelled_at = timezone.now()
        subscription.save(update_fields=["cancelled_at"])
    return subscription


def _signer() -> Signer:
    # Made when used, not at import: the admin imports this module before settings are checked.
    return Signer(salt="status.unsubscribe")


def unsubscribe_token(subscription: Subscription) -> str:
    return _signer().sign(str(subscription.pk))


def subscription_for_token(token: str) -> Subscription:
    try:
        pk = int(_signer().unsign(token))
    except (BadSignature, ValueError) as exc:
        raise NotFound(_("This link is not valid."), code="bad_link") from exc
    subscription = Subscription.objects.select_related("incident").filter(pk=pk).first()
    if subscription is None:
        raise NotFound(_("This link is not valid."), code="bad_link")
    return subscription


# --- the subscribers' e-mails (the incidents' outbox) ------------------------------------


def update_mails_write(*, update_id: int) -> list[int]:
    """One SubscriberMail per active subscriber of the update's incident; returns the ids still
    to be sent. Run again for the same update, it finds the rows it made."""
    update = IncidentUpdate.objects.filter(pk=update_id).first()
    if update is None:
        return []
    subscriptions = Subscription.objects.filter(
        incident_id=update.incident_id, cancelled_at__isnull=True, created_at__lte=update.created_at
    ).select_related("user")
    rows = [
        SubscriberMail(update=update, subscription=subscription, email=subscription.user.email)
        for subscription in subscriptions
        if subscription.user.is_active and subscription.user.email
    ]
    SubscriberMail.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        SubscriberMail.objects.filter(update=update, status=SubscriberMail.Status.QUEUED).values_list("id", flat=True)
    )


def subscriber_mail_message(mail: SubscriberMail) -> EmailMultiAlternatives:
    """The e-mail of one update to one subscriber, in the subscriber's language."""
    update = mail.update
    incident = update.incident
    user = mail.subscription.user
    site = settings.SITE_URL.rstrip("/")
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {
            "incident": incident,
            "update": update,
            "state_label": str(update.get_state_display()),
            "severity_label": str(incident.get_severity_display()),
            "components": [component.label(translation.get_language()) for component in incident.components.all()],
            "status_url": site + reverse("status-page"),
            "unsubscribe_url": site + reverse("status-unsubscribe", args=[unsubscribe_token(mail.subscription)]),
            "name": user.get_full_name() or user.get_username(),
        }
        subject = f"[{incident.reference}] {context['state_label']}: {' '.join(incident.title.split())}"[:255]
        text = render_to_string("status/email/update.txt", context)
        html = render_to_string("status/email/update.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.email],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            "X-Helpdesk-Incident": incident.reference,
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# --- monitoring tokens -------------------------------------------------------------------


def monitoring_token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def monitoring_token_issue(
    *, name: str, scope: str, actor: User | None = None, days: int | None = None
) -> tuple[MonitoringToken, str]:
    """A new monitoring token; returns it and its key, which is never shown again. `actor` None:
    made from the command line (manage.py status_token)."""
    if actor is not None and not (actor.is_active and actor.is_management):
        raise PermissionDenied(_("Only managers and administrators make monitoring tokens."))
    if scope not in TokenScope.values:
        raise DomainError(_("Unknown scope “%(value)s”.") % {"value": scope}, code="invalid", field="scope")
    name = _text(name, field="name", label=_("The name"), max_length=100)
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = MonitoringToken.objects.create(
        name=name,
        scope=scope,
        prefix=key[: len(TOKEN_PREFIX) + 4],
        key_digest=monitoring_token_digest(key),
        created_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
    )
    logger.info("monitoring token issued: id=%s name=%s scope=%s", token.id, name, scope)
    return token, key


@transaction.atomic
def monitoring_token_revoke(*, token: MonitoringToken) -> MonitoringToken:
    token = MonitoringToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("monitoring token revoked: id=%s name=%s", token.id, token.name)
    return token


def monitoring_token_mark_used(*, token: MonitoringToken, at: dt.datetime) -> None:
    """At most once a minute, so that reads stay reads."""
    fresh_since = at - dt.timedelta(minutes=1)
    if token.last_used_at is not None and token.last_used_at > fresh_since:
        return
    MonitoringToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=fresh_since).update(last_used_at=at)
    token.last_used_at = at
