"""Receive one raw e-mail from standard input, e.g. from the MTA:

    # /etc/aliases (Postfix, Exim):  support: "|/srv/helpdesk/manage.py receive_email"
    manage.py receive_email --mailbox support@example.com < message.eml

Prints the outcome as JSON. Exit status: 0 once the message is stored, whatever became of it
(filed, added to its ticket, ignored, a duplicate, and also kept without a ticket because it is
too large or unreadable: the workspace tells the staff about those). A non-zero status other
than 75 makes Postfix and Exim bounce the message to its sender, who may be forged, with our
error text in it: never for a message we have. 75 (EX_TEMPFAIL) only when the database could
not be reached: the message is not stored (or not filed) yet, and the MTA keeps it and tries
again later (a second delivery of a stored message files it once). See docs/mail.md.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from mailin import services
from mailin.models import Source

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
            # Only stderr, which the MTA logs; the sender never sees it (75 is not a bounce).
            raise CommandError(f"The message could not be stored: {exc}", returncode=EX_TEMPFAIL) from exc
        result = {
            "id": inbound.pk,
            "outcome": inbound.outcome,
            "detail": inbound.outcome_detail,
            "ticket": inbound.ticket.number if inbound.ticket_id else None,
            "message_id": inbound.message_id,
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False))
