"""Receive one raw e-mail from standard input, e.g. from the MTA:

    # /etc/aliases (Postfix, Exim):  support: "|/srv/helpdesk/manage.py receive_email"
    manage.py receive_email --mailbox support@example.com < message.eml

Prints the outcome as JSON. Exit status: 0 when the message was handled (filed, added to its
ticket, ignored as automatic mail, a duplicate), 1 when it is kept but not filed (too large,
unreadable, could not be filed), 75 (EX_TEMPFAIL, the MTA retries later) when it could not even
be stored.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from mailin import services
from mailin.models import FAILED_OUTCOMES, Source

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Receive one raw RFC 822 e-mail from standard input and file it."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", help="The address the message was delivered to (envelope recipient).")

    def handle(self, *args, **options):
        mailbox = None
        if options.get("mailbox"):
            mailbox = services.mailbox_for([options["mailbox"]])
            if mailbox is None:
                # Still received: the headers may name a mailbox, and nothing is dropped.
                self.stderr.write(f"No mailbox has the address {options['mailbox']}; reading the headers instead.")
        stream = options.get("stdin") or sys.stdin
        stream = getattr(stream, "buffer", stream)
        try:
            inbound = services.receive(stream, origin=Source.COMMAND, mailbox=mailbox)
        except DatabaseError as exc:
            raise CommandError(f"The message could not be stored: {exc}", returncode=EX_TEMPFAIL) from exc
        result = {
            "id": inbound.pk,
            "outcome": inbound.outcome,
            "detail": inbound.outcome_detail,
            "ticket": inbound.ticket.number if inbound.ticket_id else None,
            "message_id": inbound.message_id,
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        if inbound.outcome in FAILED_OUTCOMES:
            raise CommandError(f"{inbound.outcome}: {inbound.outcome_detail}", returncode=1)
