"""`manage.py receive_email`: what an MTA piping mail into it sees."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from mailin import services
from mailin.models import InboundMessage, Outcome
from mailin.tests.helpers import simple

pytestmark = pytest.mark.django_db


def run(stdin, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("receive_email", *args, stdin=stdin, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def test_prints_the_outcome_as_json(mailbox, customer):
    code, out, _err = run(io.BytesIO(simple(message_id="c-1@x")))
    result = json.loads(out)
    assert code == 0
    assert result["outcome"] == Outcome.TICKET_CREATED
    assert result["message_id"] == "c-1@x"
    assert isinstance(result["ticket"], int)


def test_every_stored_message_exits_0_even_unreadable_or_too_large(mailbox, customer, settings):
    """Postfix and Exim bounce a message to its (possibly forged) sender on any status but 0
    and 75: a message we keep must never be bounced."""
    settings.INBOUND_MAX_BYTES = 1000
    assert run(io.BytesIO(simple(headers={"Auto-Submitted": "auto-replied"})))[0] == 0
    code, out, err = run(io.BytesIO(b"\x00\x01 garbage"))
    assert code == 0 and json.loads(out)["outcome"] == Outcome.FAILED_PARSE and err == ""
    assert run(io.BytesIO(b""))[0] == 0  # an empty input is kept too, as unreadable
    code, out, _err = run(io.BytesIO(simple(body="x" * 5000)))
    assert code == 0 and json.loads(out)["outcome"] == Outcome.REJECTED_TOO_LARGE
    assert InboundMessage.objects.count() == 4


def test_a_database_outage_while_filing_asks_for_a_retry_and_the_retry_files_it(mailbox, customer, monkeypatch):
    raw = simple(message_id="outage-1@example.com")
    real = services._process

    def down(inbound):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_process", down)
    code, out, _err = run(io.BytesIO(raw))
    assert code == 75
    assert out == ""  # no outcome: the MTA keeps the message and tries again
    stored = InboundMessage.objects.get(message_id="outage-1@example.com")
    assert stored.outcome == Outcome.RECEIVED  # kept, not filed yet
    monkeypatch.setattr(services, "_process", real)
    code, out, _err = run(io.BytesIO(raw))  # the MTA tries again
    assert code == 0
    assert json.loads(out)["outcome"] == Outcome.DUPLICATE
    stored.refresh_from_db()
    assert stored.outcome == Outcome.TICKET_CREATED
    assert json.loads(out)["ticket"] == stored.ticket.number


def test_a_text_stream_is_read_as_bytes(mailbox, customer):
    code, out, _err = run(io.StringIO(simple(subject="Привет").decode()))
    assert code == 0
    assert InboundMessage.objects.get(pk=json.loads(out)["id"]).subject == "Привет"


def test_an_unknown_mailbox_option_falls_back_to_the_headers(mailbox, customer):
    code, out, err = run(io.BytesIO(simple()), "--mailbox", "nobody@hosting.example")
    assert code == 0
    assert "No mailbox has the address nobody@hosting.example" in err
    assert InboundMessage.objects.get(pk=json.loads(out)["id"]).mailbox == mailbox


def test_a_database_outage_asks_the_mta_to_retry(mailbox, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "store", down)
    code, out, _err = run(io.BytesIO(simple()))
    assert code == 75
    assert out == ""
