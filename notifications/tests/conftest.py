"""A real SMTP server on a free local port, and Celery running its tasks in the test process."""

import contextlib
import email
import email.policy
import socket
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller

from helpdesk.celery import app as celery_app


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        # An encoded subject is folded onto the next line; the fold is not part of it.
        return str(self.message["Subject"]).strip()

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class RecordingHandler:
    """Keeps every message; refuses the next `refuse` ones with a temporary error."""

    def __init__(self):
        self.received: list[Received] = []
        self.refuse = 0
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.rcpt_tos]


@pytest.fixture
def smtp(settings):
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "Helpdesk <support@support.example.net>"
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def eager(settings):
    """Tasks run at once, in this process: `.delay()` behaves like `.apply()`."""
    saved = celery_app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = saved


@pytest.fixture
def mail(smtp, eager, django_capture_on_commit_callbacks):
    """`with mail.after():` runs the block, then drains the outbox as beat would, and runs
    what that left for after the commit (eagerly). Events made before the block (the
    fixtures' tickets) are dropped from the outbox first: only the block's changes mail."""
    from notifications import tasks
    from tickets.models import EventOutbox

    class Mail:
        server = smtp

        @contextlib.contextmanager
        def after(self, *, reset=True):
            if reset:
                EventOutbox.objects.all().delete()
            with django_capture_on_commit_callbacks(execute=True):
                yield
                tasks.drain_outbox.delay()

        def to(self, address):
            return smtp.to(address)

        @property
        def all(self):
            return smtp.received

    return Mail()
