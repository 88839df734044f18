import pytest

from mailin.models import Mailbox
from mailin.tests.helpers import TOKEN, Deliverer


@pytest.fixture(autouse=True)
def inbound_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INBOUND_TOKEN = TOKEN
    settings.DEFAULT_FROM_EMAIL = "Hosting Support <support@helpdesk.localhost>"
    return settings


@pytest.fixture
def mailbox(db, line):
    return Mailbox.objects.create(name="Support", address="support@hosting.example", line=line)


@pytest.fixture(params=["command", "endpoint"])
def deliver(request, client, mailbox):
    """Deliver a raw message through the management command or the HTTP endpoint."""
    return Deliverer(request.param, client)
