"""Sending e-mail happens in Celery, after the change it reports on is committed."""

from __future__ import annotations

import logging
import smtplib
from functools import partial

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
            EventOutbox.objects.filter(event_id__in=handled).delete()
        done += len(rows)
        if len(rows) < batch:
            return done


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
    waiting = services.notifications_for_event(event_id=event_id)
    for notification_id in waiting:
        transaction.on_commit(partial(send_notification.delay, notification_id))
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
        try:
            services.deliver(notification)
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            final = self.request.retries >= MAX_RETRIES
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
    raise self.retry(exc=error, countdown=retry_countdown(self.request.retries), max_retries=MAX_RETRIES)
