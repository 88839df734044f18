from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.translation import override

from tickets.models import Ticket


@shared_task(
    name="knowledge.tasks.send_follow_link",
    bind=True,
    acks_late=True,
    time_limit=60,
    soft_time_limit=50,
    max_retries=5,
    ignore_result=True,
)
def send_follow_link(self, ticket_id: int, link: str) -> None:
    """Mail the visitor the signed link to their ticket; retried when the mail server fails."""
    ticket = Ticket.objects.select_related("customer").filter(id=ticket_id).first()
    if ticket is None or not ticket.customer.email:
        return
    with override(ticket.language):
        context = {"ticket": ticket, "link": link}
        subject = render_to_string("knowledge/follow_link_subject.txt", context).strip()
        body = render_to_string("knowledge/follow_link_email.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [ticket.customer.email])
    except OSError as exc:  # smtplib.SMTPException is an OSError
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
