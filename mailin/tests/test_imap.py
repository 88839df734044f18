"""IMAP polling against a stub server injected in place of imaplib's client classes."""

import imaplib

import pytest
from django.core.cache import cache

from mailin import services, tasks
from mailin.models import InboundMessage, Mailbox, Outcome, Source
from mailin.tests.helpers import load, simple
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

IMAP_ERROR = imaplib.IMAP4.error
IMAP_ABORT = imaplib.IMAP4.abort
PASSWORD = "imap-secret"


class FakeServer:
    """The state of one IMAP account: messages by uid, the \\Seen flags, and what was asked."""

    def __init__(self, messages: dict[int, bytes]) -> None:
        self.messages = messages
        self.seen: set[int] = set()
        self.password = PASSWORD
        self.calls: list[tuple] = []
        self.connections: list[dict] = []
        self.fail_fetch: set[int] = set()
        self.capabilities = ("IMAP4REV1", "STARTTLS")


def fake_client(server: FakeServer, *, ssl: bool):
    class FakeIMAP:
        error = IMAP_ERROR
        abort = IMAP_ABORT

        def __init__(self, host, port, ssl_context=None, timeout=None):
            server.connections.append({"host": host, "port": port, "ssl": ssl, "timeout": timeout})
            self.capabilities = server.capabilities
            self.selected = None

        def starttls(self, ssl_context=None):
            server.calls.append(("STARTTLS",))
            return "OK", [b"Begin TLS"]

        def login(self, user, password):
            server.calls.append(("LOGIN", user))
            if password != server.password:
                raise IMAP_ERROR("[AUTHENTICATIONFAILED] Invalid credentials")
            return "OK", [b"Logged in"]

        def select(self, mailbox="INBOX", readonly=False):
            server.calls.append(("SELECT", mailbox))
            self.selected = mailbox
            return "OK", [str(len(server.messages)).encode()]

        def uid(self, command, *args):
            server.calls.append(("UID", command, *args))
            if command == "SEARCH":
                unseen = [str(uid).encode() for uid in sorted(server.messages) if uid not in server.seen]
                return "OK", [b" ".join(unseen)]
            uid = int(args[0])
            if command == "FETCH":
                assert args[1] == "(BODY.PEEK[])"  # fetching must not mark the message seen
                if uid in server.fail_fetch:
                    return "NO", [b"Fetch failed"]
                raw = server.messages[uid]
                return "OK", [(f"{uid} (UID {uid} BODY[] {{{len(raw)}}}".encode(), raw), b")"]
            if command == "STORE":
                assert args[1:] == ("+FLAGS", "(\\Seen)")
                # Marked only once the message is stored.
                assert InboundMessage.objects.filter(sha256=services._spool(server.messages[uid])[2]).exists()
                server.seen.add(uid)
                return "OK", [b""]
            raise AssertionError(command)

        def logout(self):
            server.calls.append(("LOGOUT",))
            return "BYE", [b""]

    return FakeIMAP


@pytest.fixture
def imap_mailbox(line):
    mailbox = Mailbox(
        name="Support",
        address="support@hosting.example",
        line=line,
        imap_host="imap.hosting.example",
        imap_user="support@hosting.example",
        imap_folder="Support Inbox",
    )
    mailbox.set_imap_password("imap-secret")
    mailbox.save()
    return mailbox


@pytest.fixture
def server(monkeypatch):
    state = FakeServer({})
    monkeypatch.setattr(tasks.imaplib, "IMAP4_SSL", fake_client(state, ssl=True))
    monkeypatch.setattr(tasks.imaplib, "IMAP4", fake_client(state, ssl=False))
    cache.delete_many([f"mailin:poll:{pk}" for pk in Mailbox.objects.values_list("pk", flat=True)])
    return state


def test_poll_files_unseen_messages_and_marks_them_seen(server, imap_mailbox, customer):
    server.messages = {
        7: load("multipart_alternative.eml"),
        8: load("bounce.eml"),
        9: load("malformed.eml"),
    }
    results = tasks.poll_mailboxes()
    assert results == {
        "support@hosting.example": {"ticket_created": 1, "ignored_bounce": 1, "failed_parse": 1},
    }
    assert server.seen == {7, 8, 9}
    assert server.connections == [{"host": "imap.hosting.example", "port": 993, "ssl": True, "timeout": 30}]
    assert ("LOGIN", "support@hosting.example") in server.calls
    assert ("SELECT", '"Support Inbox"') in server.calls
    assert server.calls[-1] == ("LOGOUT",)
    stored = InboundMessage.objects.order_by("id")
    assert [item.source for item in stored] == [Source.IMAP] * 3
    assert all(item.mailbox == imap_mailbox for item in stored)
    imap_mailbox.refresh_from_db()
    assert imap_mailbox.last_polled_at is not None
    assert imap_mailbox.last_poll_error == ""
    # The next run finds nothing new.
    assert tasks.poll_mailboxes() == {"support@hosting.example": {}}
    assert InboundMessage.objects.count() == 3


def test_a_message_that_cannot_be_stored_stays_unseen(server, imap_mailbox, customer, monkeypatch):
    server.messages = {1: simple(message_id="a@x"), 2: simple(message_id="b@x", subject="Second")}
    real_receive = services.receive

    def receive(source, **kwargs):
        if b"Second" in source:
            raise IMAP_ABORT("connection lost while storing")
        return real_receive(source, **kwargs)

    monkeypatch.setattr(services, "receive", receive)
    results = tasks.poll_mailboxes()
    assert "error" in results["support@hosting.example"]
    assert server.seen == {1}
    imap_mailbox.refresh_from_db()
    assert "connection lost" in imap_mailbox.last_poll_error
    # Next time it is fetched again and filed; nothing was lost, nothing filed twice.
    monkeypatch.setattr(services, "receive", real_receive)
    tasks.poll_mailboxes()
    assert server.seen == {1, 2}
    assert Ticket.objects.count() == 2


def test_a_message_stored_but_not_marked_is_a_duplicate_next_time(server, imap_mailbox, customer):
    raw = simple(message_id="again@x")
    services.receive(raw, origin=Source.IMAP, mailbox=imap_mailbox)  # stored by a run that died before STORE
    server.messages = {5: raw}
    assert tasks.poll_mailboxes() == {"support@hosting.example": {"duplicate": 1}}
    assert server.seen == {5}
    assert Ticket.objects.count() == 1


def test_fetch_failure_skips_the_message_without_marking_it(server, imap_mailbox, customer):
    server.messages = {1: simple(message_id="ok@x"), 2: simple(message_id="broken@x")}
    server.fail_fetch = {2}
    tasks.poll_mailboxes()
    assert server.seen == {1}


def test_login_failure_is_recorded_and_other_mailboxes_still_polled(server, imap_mailbox, line, customer):
    imap_mailbox.set_imap_password("wrong")
    imap_mailbox.save()
    second = Mailbox(
        name="Billing", address="billing@hosting.example", imap_host="imap2.example", imap_user="billing", line=line
    )
    second.set_imap_password("imap-secret")
    second.save()
    server.messages = {1: simple(message_id="x@x", to="billing@hosting.example")}
    results = tasks.poll_mailboxes()
    assert "AUTHENTICATIONFAILED" in results["support@hosting.example"]
    assert results["billing@hosting.example"] == {"ticket_created": 1}
    imap_mailbox.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in imap_mailbox.last_poll_error


def test_plain_connection_upgrades_with_starttls(server, imap_mailbox):
    imap_mailbox.imap_use_ssl = False
    imap_mailbox.imap_port = 143
    imap_mailbox.save()
    tasks.poll_mailboxes()
    assert server.connections[0]["ssl"] is False
    assert ("STARTTLS",) in server.calls


def test_inactive_and_unconfigured_mailboxes_are_not_polled(server, imap_mailbox, line):
    imap_mailbox.is_active = False
    imap_mailbox.save()
    Mailbox.objects.create(name="No IMAP", address="sales@hosting.example", line=line)
    assert tasks.poll_mailboxes() == {}
    assert server.connections == []


def test_a_mailbox_being_polled_is_skipped(server, imap_mailbox):
    cache.add(f"mailin:poll:{imap_mailbox.pk}", "other-worker", 60)
    try:
        assert tasks.poll_mailboxes() == {"support@hosting.example": "busy"}
        assert server.connections == []
    finally:
        cache.delete(f"mailin:poll:{imap_mailbox.pk}")


def test_the_batch_limit(server, imap_mailbox, customer, settings):
    settings.INBOUND_POLL_BATCH = 2
    server.messages = {uid: simple(message_id=f"{uid}@x") for uid in range(1, 6)}
    tasks.poll_mailboxes()
    assert server.seen == {1, 2}


def test_the_password_is_stored_encrypted(imap_mailbox):
    stored = bytes(Mailbox.objects.get(pk=imap_mailbox.pk).imap_password_encrypted)
    assert b"imap-secret" not in stored
    assert imap_mailbox.imap_password() == "imap-secret"


def test_the_task_is_scheduled_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["mailin-poll"]
    assert entry == {"task": "mailin.tasks.poll_mailboxes", "schedule": 60.0}
    assert tasks.poll_mailboxes.acks_late
    assert tasks.poll_mailboxes.soft_time_limit and tasks.poll_mailboxes.time_limit


def test_outcomes_are_counted(server, imap_mailbox, customer):
    server.messages = {1: load("auto_reply.eml", TICKET=100001)}
    assert tasks.poll_mailboxes() == {"support@hosting.example": {Outcome.IGNORED_AUTO_REPLY: 1}}
