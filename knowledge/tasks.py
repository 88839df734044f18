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
def send_follow_link(self, ticket_id: int, link: str, address: str = "") -> None:
    """Mail the signed link to a ticket to the address it was filed with, the only place it goes:
    the page never shows it, so using it proves the address. `address`: where to send it
    (knowledge.services.follow_link_address); by default the ticket's customer's. Retried when
    the mail server fails."""
    ticket = Ticket.objects.select_related("customer").filter(id=ticket_id).first()
    address = address or (ticket.customer.email if ticket is not None else "")
    if ticket is None or not address:
        return
    with override(ticket.language):
        context = {"ticket": ticket, "link": link}
        subject = render_to_string("knowledge/follow_link_subject.txt", context).strip()
        body = render_to_string("knowledge/follow_link_email.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    except OSError as exc:  # smtplib.SMTPException is an OSError
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
