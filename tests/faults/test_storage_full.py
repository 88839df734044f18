"""A full disk for uploads: the customer is told plainly that nothing was sent, no ticket (or
message) is left without its files, and no file is left without its ticket."""

import errno
import uuid

import pytest
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from rest_framework.test import APIClient

from tickets import services
from tickets.models import Attachment, Message, Ticket
from tickets.tests.helpers import png_upload

pytestmark = pytest.mark.django_db


class FillsUp(FileSystemStorage):
    """A disk with room for `room` files, then ENOSPC, as a full file system answers write()."""

    room = 0

    def _save(self, name, content):
        if FillsUp.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        FillsUp.room -= 1
        return super()._save(name, content)


@pytest.fixture
def full_disk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.FillsUp"}}
    # The FileField keeps the storage it was given at import: point it at the full one.
    field = Attachment._meta.get_field("file")
    previous = field.storage
    field.storage = FillsUp(location=settings.MEDIA_ROOT)
    FillsUp.room = 1  # one file fits, the second does not
    yield settings.MEDIA_ROOT
    field.storage = previous


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def test_the_api_says_503_and_files_no_ticket_without_its_files(full_disk, line, customer):
    client = APIClient()
    client.force_authenticate(user=customer)
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "Logs", "body": "Two logs.", "attachments": [png_upload("a.png"), png_upload("b.png")]},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 503, response.content
    assert response["Retry-After"]
    body = response.json()
    assert body["error"] == "storage_unavailable"
    assert body["field"] == "attachments"
    assert "nothing was sent" in body["detail"]
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(full_disk) == []  # the first file, stored before the disk filled, is gone too


def test_the_panel_form_shows_the_error_and_files_nothing(full_disk, client, line, customer):
    client.force_login(customer)
    response = client.post(
        reverse("panel-ticket-new"),
        {
            "subject": "Logs",
            "category": "general",
            "urgency": "normal",
            "body": "Two logs.",
            "attachments": [png_upload("a.png"), png_upload("b.png")],
        },
    )
    assert response.status_code == 400
    assert "Your files could not be stored just now, so nothing was sent." in response.content.decode()
    assert not Ticket.objects.exists()
    assert stored_files(full_disk) == []


def test_a_reply_with_files_is_not_kept_without_them(full_disk, line, customer):
    ticket = services.ticket_create(customer=customer, subject="S", body="B")
    client = APIClient()
    client.force_authenticate(user=customer)
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "Here are the logs.", "attachments": [png_upload("a.png"), png_upload("b.png")]},
        format="multipart",
    )
    assert response.status_code == 503
    assert response.json()["error"] == "storage_unavailable"
    assert not Message.objects.filter(ticket=ticket, body="Here are the logs.").exists()
    assert stored_files(full_disk) == []


def test_with_room_again_the_same_request_files(full_disk, line, customer):
    FillsUp.room = 5
    client = APIClient()
    client.force_authenticate(user=customer)
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "Logs", "body": "Two logs.", "attachments": [png_upload("a.png"), png_upload("b.png")]},
        format="multipart",
    )
    assert response.status_code == 201
    assert Ticket.objects.get().attachments.count() == 2
    assert len(stored_files(full_disk)) == 2
