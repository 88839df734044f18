"""The status's background work: the resolution's pass over the linked tickets, and the
subscribers' e-mails."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from status import services
from status.models import Incident, ReplyState, SubscriberMail, UpdateOutbox

logger = logging.getLogger(__name__)

# One run of the pass answers tickets for this long, then queues the next run: a worker is never
# held by one incident, and a restart loses at most one batch's work (which is done again, once).
ANSWER_SLICE_SECONDS = 60
# A pass whose heartbeat is older than this is taken for dead and started again (resume_answering).
ANSWER_STALE_SECONDS = 120
OUTBOX_BATCH = 50
MAIL_RETRIES = 5
MAIL_RETRY_BASE_SECONDS = 60


def start_answering(incident_id: int) -> None:
    """Queue the resolution's passes once the caller's transaction commits: STATUS_ANSWER_PASSES
    of them, which share the tickets (each ticket is locked only by the pass answering it)."""
    for _pass in range(settings.STATUS_ANSWER_PASSES):
        transaction.on_commit(partial(answer_linked_tickets.delay, incident_id))


@shared_task(name="status.tasks.answer_linked_tickets", acks_late=True, time_limit=300, soft_time_limit=240)
def answer_linked_tickets(incident_id: int) -> int:
    """Answer (or release) a resolved incident's linked tickets, batch after batch, each ticket in
    its own transaction; progress is written on the incident after each batch. Safe to run again
    or twice at once: a ticket's link records that it was dealt with."""
    started = time.monotonic()
    done = 0
    while True:
        handled = services.resolution_answer_batch(incident_id=incident_id)
        done += handled
        if handled == 0:
            return done
        if time.monotonic() - started > ANSWER_SLICE_SECONDS:
            answer_linked_tickets.delay(incident_id)
            return done


@shared_task(name="status.tasks.resume_answering", ignore_result=True)
def resume_answering() -> int:
    """Start again the passes that stopped (a worker killed, a message lost): run by beat."""
    stale = timezone.now() - dt.timedelta(seconds=ANSWER_STALE_SECONDS)
    ids = list(
        Incident.objects.filter(reply_state=ReplyState.RUNNING, reply_heartbeat_at__lt=stale).values_list(
            "id", flat=True
        )
    )
    for incident_id in ids:
        logger.warning("incident %s: the pass over its tickets stopped; starting it again", incident_id)
        Incident.objects.filter(pk=incident_id).update(reply_heartbeat_at=timezone.now())
        for _pass in range(settings.STATUS_ANSWER_PASSES):
            answer_linked_tickets.delay(incident_id)
    return len(ids)


@shared_task(name="status.tasks.drain_update_outbox", time_limit=120, soft_time_limit=100, ignore_result=True)
def drain_update_outbox(batch: int = OUTBOX_BATCH) -> int:
    """Turn the incidents' updates waiting in their outbox into e-mails to the subscribers.

    Run by beat beside the tickets' outbox drain. The rows are locked with SKIP LOCKED, the
    e-mails written (once per update and subscriber), the rows deleted, and the sending queued
    once that commits."""
    done = 0
    while True:
        with transaction.atomic():
            rows = list(UpdateOutbox.objects.select_for_update(skip_locked=True).order_by("update_id")[:batch])
            for row in rows:
                for mail_id in services.update_mails_write(update_id=row.update_id):
                    transaction.on_commit(partial(send_subscriber_mail.delay, mail_id))
            UpdateOutbox.objects.filter(update_id__in=[row.update_id for row in rows]).delete()
        done += len(rows)
        if len(rows) < batch:
            return done


@shared_task(
    bind=True,
    name="status.tasks.send_subscriber_mail",
    acks_late=True,
    time_limit=90,
    soft_time_limit=75,
    max_retries=MAIL_RETRIES,
    ignore_result=True,
)
def send_subscriber_mail(self, mail_id: int) -> str:
    """Send one update to one subscriber; the row stays locked while the mail server answers, so
    it is sent once. SMTP and network errors are tried again later."""
    with transaction.atomic():
        mail = (
            SubscriberMail.objects.select_for_update(of=("self",))
            .select_related("update__incident", "subscription__user")
            .filter(pk=mail_id)
            .first()
        )
        if mail is None or mail.status != SubscriberMail.Status.QUEUED:
            return mail.status if mail is not None else "missing"
        if mail.subscription.cancelled_at is not None:
            mail.status = SubscriberMail.Status.FAILED
            mail.last_error = "unsubscribed"
            mail.save(update_fields=["status", "last_error"])
            return mail.status
        mail.attempts += 1
        try:
            services.subscriber_mail_message(mail).send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
            mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            final = self.request.retries >= MAIL_RETRIES
            if final:
                mail.status = SubscriberMail.Status.FAILED
            mail.save(update_fields=["attempts", "last_error", "status"])
            logger.warning("incident update mail %s to %s failed: %s", mail.id, mail.email, mail.last_error)
        else:
            mail.status = SubscriberMail.Status.SENT
            mail.sent_at = timezone.now()
            mail.save(update_fields=["attempts", "status", "sent_at"])
            return mail.status
    if final:
        return SubscriberMail.Status.FAILED
    raise self.retry(exc=error, countdown=MAIL_RETRY_BASE_SECONDS * 2**self.request.retries)
