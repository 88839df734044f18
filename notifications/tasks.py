"""Sending e-mail happens in Celery, after the change it reports on is committed."""

from __future__ import annotations

import logging
import smtplib
from functools import partial
from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tickets.models import EventOutbox

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
RETRY_BASE_SECONDS = 60  # then 2, 4, 8 and 16 minutes


OUTBOX_BATCH = 200
# E-mails sent by one task over one connection to the mail server.
SEND_BATCH = 50
# E-mails of a task locked, sent and marked sent in one transaction: a worker killed half-way
# re-sends at most these.
MARK_BATCH = 10


def retry_countdown(retries: int) -> int:
    return RETRY_BASE_SECONDS * 2**retries


@shared_task(name="notifications.tasks.drain_outbox", time_limit=120, soft_time_limit=100, ignore_result=True)
def drain_outbox(batch: int = OUTBOX_BATCH) -> int:
    """Turn the ticket events due in the outbox into notifications; returns how many events were tried.

    Run by Celery beat every NOTIFY_SECONDS. Each batch is one transaction: the outbox rows
    are locked with SKIP LOCKED (two drains never take the same event), the notifications
    written, the handled rows deleted, and the e-mails queued once that commits. An event that
    fails stays with its attempts and error and is tried again later, parked after
    OUTBOX_MAX_ATTEMPTS (services.outbox_failed). A drain killed half-way leaves its rows for
    the next one; writing the notifications again finds the ones already made.
    """
    done = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            rows = list(
                EventOutbox.objects.select_for_update(skip_locked=True)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), parked_at__isnull=True)
                .order_by("event_id")
                .only("event_id", "attempts")[:batch]
            )
            handled = _handle(rows, now)
            EventOutbox.objects.filter(event_id__in=handled).delete()
        done += len(rows)
        if len(rows) < batch:
            return done


def _handle(rows: list[EventOutbox], now) -> list[int]:
    """Write the notifications of a batch of outbox rows; the event ids handled.

    The whole batch at once first (services.notifications_for_events, a handful of statements);
    if anything in it fails, event by event, each in a savepoint of its own, so one event that
    cannot be handled keeps its error on its row and holds up no other.
    """
    try:
        with transaction.atomic():
            waiting = services.notifications_for_events(event_ids=[row.event_id for row in rows])
    except Exception:
        logger.info("outbox batch of %s events failed as a whole; handling them one by one", len(rows))
    else:
        _send_after_commit(waiting)
        return [row.event_id for row in rows]
    handled = []
    for row in rows:
        try:
            _queue_notifications(row.event_id)  # in a savepoint of its own: a failure undoes only it
        except Exception as exc:
            # Whatever it was: one event that cannot be handled must not hold up every
            # later e-mail, and the error is kept on its row (and logged), not dropped.
            services.outbox_failed(row=row, error=exc, now=now)
        else:
            handled.append(row.event_id)
    return handled


def _send_after_commit(notification_ids: list[int]) -> None:
    """Queue the e-mails in tasks of SEND_BATCH once the transaction that wrote them commits."""
    for start in range(0, len(notification_ids), SEND_BATCH):
        chunk = notification_ids[start : start + SEND_BATCH]
        transaction.on_commit(partial(send_notifications.delay, chunk))


@shared_task(
    name="notifications.tasks.dispatch_event", acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True
)
def dispatch_event(event_id: int) -> int:
    """Decide who hears about a ticket event and queue their e-mails.

    For one event by hand (the outbox drain does the same for every event). Safe to run again: the
    notifications made the first time are found, and a sent one is never sent again.
    """
    with transaction.atomic():
        return len(_queue_notifications(event_id))


def _queue_notifications(event_id: int) -> list[int]:
    """Write the event's notifications; each e-mail is queued once the caller's transaction commits."""
    with transaction.atomic():
        waiting = services.notifications_for_event(event_id=event_id)
    _send_after_commit(waiting)
    return waiting


@shared_task(
    bind=True,
    name="notifications.tasks.send_notification",
    acks_late=True,
    time_limit=90,
    soft_time_limit=75,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def send_notification(self, notification_id: int) -> str:
    """Send one e-mail; on an SMTP or network error try again later, up to MAX_RETRIES times.

    The row stays locked while the mail server answers, so two workers never send the same
    notification; a sent or failed one is left alone.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("ticket__customer", "ticket__line", "event__actor", "recipient")
            .filter(id=notification_id)
            .first()
        )
        if notification is None or notification.status != Notification.Status.QUEUED:
            return notification.status if notification is not None else "missing"
        notification.attempts += 1
        attempts = notification.attempts
        try:
            services.deliver(notification)
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            # Counted on the row: a first attempt made in a batch (send_notifications) counts too.
            final = notification.attempts >= MAX_RETRIES + 1
            if final:
                notification.status = Notification.Status.FAILED
            notification.save(update_fields=["attempts", "last_error", "status", "subject"])
            logger.warning(
                "notification %s to %s failed (attempt %s%s): %s",
                notification.id,
                notification.email,
                notification.attempts,
                ", giving up" if final else "",
                notification.last_error,
            )
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
            notification.save(update_fields=["attempts", "status", "sent_at", "subject"])
            return notification.status
    if final:
        return Notification.Status.FAILED
    raise self.retry(exc=error, countdown=retry_countdown(attempts - 1), max_retries=MAX_RETRIES)


@shared_task(
    name="notifications.tasks.send_notifications",
    acks_late=True,
    time_limit=300,
    soft_time_limit=280,
    ignore_result=True,
)
def send_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Send a batch of e-mails over one connection to the mail server.

    What every e-mail needs (the ticket, the recipient, the reply quoted, the thread it answers)
    is read for the whole batch at once, and what an event's recipients share is rendered once
    (services.render). The e-mails then go in groups of MARK_BATCH, each in a transaction of
    its own: the group's rows are locked (SKIP LOCKED: two workers never send the same one),
    sent, and marked sent in one statement (services.notifications_delivered), so a worker
    killed half-way re-sends at most the group it was sending. An e-mail the mail server
    refuses goes on with its own retries (`send_notification`); the batch goes on.
    """
    counts = {"sent": 0, "skipped": 0, "retrying": 0}
    wanted = list(dict.fromkeys(notification_ids))
    prepared = services.prepare(wanted)
    todo = [notification_id for notification_id in wanted if notification_id in prepared]
    counts["skipped"] = len(notification_ids) - len(todo)
    shared: dict = {}  # renderings shared by an event's recipients
    connection = services.mail_connection()
    try:
        for start in range(0, len(todo), MARK_BATCH):
            connection = _send_group(todo[start : start + MARK_BATCH], prepared, connection, shared, counts)
    finally:
        connection.close()
    return counts


def _send_group(group: list[int], prepared: dict[int, Notification], connection, shared: dict, counts) -> Any:
    """Lock, send and mark a group of prepared e-mails in one transaction; the connection to go
    on with (a fresh one after a failure)."""
    error: Exception | None = None
    with transaction.atomic():
        locked = dict(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(id__in=group, status=Notification.Status.QUEUED)
            .values_list("id", "attempts")
        )
        sent: list[Notification] = []
        retrying: list[Notification] = []
        for notification_id in group:
            if notification_id not in locked:
                counts["skipped"] += 1  # sent, failed, or being sent by another worker
                continue
            notification = prepared[notification_id]
            notification.attempts = locked[notification_id] + 1
            try:
                services.deliver(notification, connection=connection, cache=shared)
            except (smtplib.SMTPException, OSError) as exc:
                connection = services.mail_connection(reopen=connection)
                notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                retrying.append(notification)
                transaction.on_commit(
                    partial(send_notification.apply_async, (notification_id,), countdown=retry_countdown(0))
                )
                logger.warning(
                    "notification %s to %s failed, retried alone: %s",
                    notification_id,
                    notification.email,
                    notification.last_error,
                )
            except Exception as exc:  # a bug: the e-mails sent before it are still written as sent
                error = exc
                break
            else:
                notification.status = Notification.Status.SENT
                notification.sent_at = timezone.now()
                sent.append(notification)
        services.notifications_delivered(sent=sent, retrying=retrying)
    counts["sent"] += len(sent)
    counts["retrying"] += len(retrying)
    if error is not None:
        raise error
    return connection
