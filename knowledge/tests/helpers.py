"""What the help centre's tests share: a filled-in contact form and the link it mails."""

import re
import time

import time_machine
from django.core import mail

from knowledge import services

FOLLOW_LINK = re.compile(r"https?://\S+?/help/follow/[^\s/]+/")


def form_data(**overrides):
    """The form as a person sends it: filled in over a minute, with a token of its own."""
    with time_machine.travel(time.time() - 60):
        started = services.form_token()
    data = {
        "name": "Olga",
        "email": "olga@example.com",
        "topic": "general",
        "subject": "DNS question",
        "message": "Which name servers do I use?",
        "website": "",
        "started": started,
    }
    return {**data, **overrides}


def mailed_link(address: str) -> str:
    """The follow link in the one mail sent to `address`."""
    (sent,) = [m for m in mail.outbox if [a.lower() for a in m.to] == [address.lower()]]
    return FOLLOW_LINK.search(sent.body)[0]
