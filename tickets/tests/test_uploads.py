"""Uploaded files: the type is judged by the content, sizes and counts are limited, names are
cleaned, and the file is stored under a random name."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.errors import DomainError
from tickets import services
from tickets.models import Attachment, EventKind, Ticket
from tickets.tests.helpers import PDF, PNG, events_of, make_ticket, png_upload
from tickets.uploads import clean_filename, sniff_content_type, validate_upload

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 32
GIF87 = b"GIF87a\x01\x00\x01\x00\x80\x00\x00"
GIF89 = b"GIF89a\x01\x00\x01\x00\x80\x00\x00"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20
GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
PE = b"MZ" + b"\x00" * 126
RUSSIAN = "Сервер не отвечает после перезагрузки".encode()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


# --- The type comes from the content --------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF87, "image/gif"),
        (GIF89, "image/gif"),
        (PDF, "application/pdf"),
        (ZIP, "application/zip"),
        (GZIP, "application/gzip"),
        (WEBP, "image/webp"),
        (b"Apache error log:\n[error] AH00124: Request exceeded the limit\n", "text/plain"),
        (RUSSIAN, "text/plain"),
        (b"", "text/plain"),
    ],
    ids=["png", "jpeg", "gif87", "gif89", "pdf", "zip", "gzip", "webp", "ascii", "utf8", "empty"],
)
def test_sniff_accepts_allowed_kind(head, expected):
    assert sniff_content_type(head) == expected


@pytest.mark.parametrize("cut", [1, 2], ids=["one-byte-short", "two-bytes-short"])
def test_sniff_accepts_utf8_cut_mid_character(cut):
    text = ("журнал " * 10 + "ошибок").encode()
    assert text[-1] >= 0x80  # ends inside a Cyrillic letter once cut
    assert sniff_content_type(text[:-cut]) == "text/plain"


def test_sniff_accepts_three_byte_character_cut_mid_way():
    head = b"log line " + "€".encode()[:2]
    assert sniff_content_type(head) == "text/plain"


@pytest.mark.parametrize(("head"), [ELF, PE], ids=["elf", "windows-pe"])
def test_sniff_refuses_executable(head):
    assert sniff_content_type(head) is None


def test_sniff_refuses_invalid_utf8_inside_text():
    assert sniff_content_type(b"\xff\xfe\x03\xfa binary blob without zero bytes " * 3) is None


def test_sniff_refuses_webp_lookalike_riff():
    assert sniff_content_type(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16) is None


def test_sniff_refuses_invalid_utf8_with_control_bytes():
    assert sniff_content_type(b"\xff\xfe\x01\x02\xfd") is None


def test_sniff_accepts_russian_text_in_8_bit_encodings():
    line = "Ошибка: не удаётся подключиться к базе данных\n"
    assert sniff_content_type(line.encode("cp1251")) == "text/plain"
    assert sniff_content_type(line.encode("koi8_r")) == "text/plain"


def test_png_renamed_exe_accepted_as_png():
    name, content_type, digest = validate_upload(png_upload("holiday.exe"), count=1)
    assert (name, content_type) == ("holiday.exe", "image/png")
    assert digest == hashlib.sha256(PNG).hexdigest()


def test_exe_renamed_png_refused():
    with pytest.raises(DomainError) as exc:
        validate_upload(SimpleUploadedFile("screenshot.png", PE, content_type="image/png"), count=1)
    assert (exc.value.code, exc.value.field) == ("file_type_not_allowed", "attachments")


@pytest.mark.django_db
def test_exe_renamed_png_creates_no_ticket(line, customer, media_root):
    with pytest.raises(DomainError) as exc:
        make_ticket(customer, attachments=[SimpleUploadedFile("screenshot.png", ELF)])
    assert exc.value.code == "file_type_not_allowed"
    assert not Ticket.objects.exists()
    assert stored_files(media_root) == []


# --- Size and count -------------------------------------------------------------------------


def test_file_over_the_size_limit_refused(settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(DomainError) as exc:
        validate_upload(SimpleUploadedFile("log.txt", b"a" * 101), count=1)
    assert (exc.value.code, exc.value.field) == ("file_too_large", "attachments")


def test_file_of_exactly_the_size_limit_accepted(settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    assert validate_upload(SimpleUploadedFile("log.txt", b"a" * 100), count=1)[1] == "text/plain"


@pytest.mark.django_db
def test_too_large_file_creates_no_ticket(settings, line, customer, media_root):
    settings.ATTACHMENT_MAX_BYTES = 50
    with pytest.raises(DomainError) as exc:
        make_ticket(customer, attachments=[png_upload("a.png"), SimpleUploadedFile("big.txt", b"a" * 51)])
    assert exc.value.code == "file_too_large"
    assert not Ticket.objects.exists()
    assert stored_files(media_root) == []


def test_too_many_files_refused(settings):
    settings.ATTACHMENT_MAX_FILES = 2
    with pytest.raises(DomainError) as exc:
        validate_upload(png_upload(), count=3)
    assert (exc.value.code, exc.value.field) == ("too_many_files", "attachments")


@pytest.mark.django_db
def test_too_many_files_on_a_message_refused(settings, line, customer, media_root):
    settings.ATTACHMENT_MAX_FILES = 2
    ticket = make_ticket(customer)
    count = len(events_of(ticket))

    with pytest.raises(DomainError) as exc:
        services.message_add(
            ticket=ticket, author=customer, body="Screenshots", attachments=[png_upload(f"{i}.png") for i in range(3)]
        )

    assert exc.value.code == "too_many_files"
    assert not ticket.messages.exists()
    assert len(events_of(ticket)) == count
    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_as_many_files_as_allowed_accepted(settings, line, customer):
    settings.ATTACHMENT_MAX_FILES = 2
    ticket = make_ticket(customer, attachments=[png_upload("1.png"), png_upload("2.png")])
    assert ticket.attachments.count() == 2
    assert len(events_of(ticket, EventKind.ATTACHMENT)) == 2


# --- File names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("/var/www/html/index.php", "index.php"),
        ("..\\..\\Windows\\System32\\cmd.exe", "cmd.exe"),
        ("C:\\Users\\ivan\\Desktop\\invoice.pdf", "invoice.pdf"),
        ("in\x00voice\r\n.pdf", "invoice.pdf"),
        ("bell\x07\x1b[31m.txt", "bell[31m.txt"),
        ("photo\u202egnp.exe", "photognp.exe"),
        (".htaccess", "htaccess"),
        ("...env", "env"),
        ("  report.txt  ", "report.txt"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),
        ("", "file"),
        ("..", "file"),
        ("../", "file"),
        (None, "file"),
    ],
    ids=[
        "dotdot-path",
        "absolute-path",
        "windows-dotdot",
        "windows-drive",
        "nul-and-newlines",
        "terminal-escape",
        "rtl-override",
        "leading-dot",
        "leading-dots",
        "spaces",
        "nfc",
        "empty",
        "dotdot",
        "dotdot-slash",
        "none",
    ],
)
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


def test_clean_filename_limits_length():
    assert clean_filename("a" * 300 + ".txt") == "a" * 200


# --- Storage --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_attachment_stored_under_random_name_in_media_root(line, customer, media_root):
    ticket = make_ticket(customer, attachments=[png_upload("my-secret-server-screenshot.png")])

    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert "my-secret-server-screenshot" not in attachment.file.name
    assert "screenshot" not in attachment.file.name
    assert not attachment.file.name.endswith(".png")
    path = (media_root / attachment.file.name).resolve()
    assert path.is_relative_to(media_root.resolve())
    assert path.read_bytes() == PNG
    assert stored_files(media_root) == [media_root / attachment.file.name]


@pytest.mark.django_db
def test_attachment_records_what_was_uploaded(line, customer):
    ticket = make_ticket(customer, attachments=[png_upload("screen.png")])

    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert (attachment.original_name, attachment.content_type, attachment.size) == ("screen.png", "image/png", len(PNG))
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (attachment.uploaded_by, attachment.message) == (customer, None)
    (event,) = events_of(ticket, EventKind.ATTACHMENT)
    assert event.actor == customer
    assert event.data == {
        "attachment_id": attachment.id,
        "name": "screen.png",
        "size": len(PNG),
        "content_type": "image/png",
    }


@pytest.mark.django_db
def test_attachment_with_path_in_name_stays_in_media_root(line, customer, media_root):
    ticket = make_ticket(customer, attachments=[png_upload("../../../../tmp/evil.png")])

    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert attachment.original_name == "evil.png"
    assert "evil" not in attachment.file.name
    assert (media_root / attachment.file.name).resolve().is_relative_to(media_root.resolve())


@pytest.mark.django_db
def test_png_renamed_exe_stored_as_png(line, customer):
    ticket = make_ticket(customer, attachments=[png_upload("holiday.exe")])
    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert (attachment.original_name, attachment.content_type) == ("holiday.exe", "image/png")
    assert not attachment.file.name.endswith(".exe")


@pytest.mark.django_db
def test_message_attachment_belongs_to_the_message(line, customer, agent):
    ticket = make_ticket(customer)
    message = services.message_add(
        ticket=ticket, author=agent, body="The log you asked for", attachments=[SimpleUploadedFile("error.log", PDF)]
    )

    (attachment,) = Attachment.objects.filter(ticket=ticket)
    assert (attachment.message, attachment.uploaded_by, attachment.content_type) == (message, agent, "application/pdf")
    assert events_of(ticket, EventKind.ATTACHMENT)[0].actor == agent


@pytest.mark.django_db
def test_failed_ticket_create_leaves_no_files(line, customer, media_root):
    with pytest.raises(DomainError) as exc:
        make_ticket(customer, attachments=[png_upload()], access_data="x" * 10_001)
    assert exc.value.code == "too_long"
    assert not Ticket.objects.exists()
    assert stored_files(media_root) == []
