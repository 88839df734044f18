"""The parser on its own: decoding, HTML to text, quotes and signatures, automatic mail."""

import pytest

from mailin import parser
from mailin.services import SUBJECT_NUMBER
from mailin.tests.helpers import load, simple


@pytest.mark.parametrize(
    ("payload", "charset", "text", "noted"),
    [
        ("Привет".encode("koi8-r"), "koi8-r", "Привет", False),
        ("Привет".encode("cp1251"), "windows-1251", "Привет", False),
        ("Привет".encode("cp1251"), "cp-1251", "Привет", False),
        ("Привет".encode(), "utf8", "Привет", False),
        ("Привет".encode(), "us-ascii", "Привет", False),  # mislabelled UTF-8 is common
        ("Привет".encode(), None, "Привет", False),
        ("Привет".encode(), "x-unknown-thing", "Привет", True),
        (b"ok \xff\xfe", "x-unknown-thing", "ok \ufffd\ufffd", True),
        (b"ok \xff\xfe", "utf-8", "ok \ufffd\ufffd", True),
        (b"ok \xff", "unknown-8bit", "ok \ufffd", True),
    ],
)
def test_decode_text(payload, charset, text, noted):
    decoded = parser.decode_text(payload, charset)
    assert decoded.text == text
    assert bool(decoded.note) == noted


def test_html_to_text_drops_scripts_styles_and_unsafe_links():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<h1>Hi</h1><p>See <a href='https://example.com/x'>this</a>, <a href='javascript:alert(2)'>that</a>"
        " and <a href='mailto:a@example.com'>a@example.com</a>.</p><ul><li>one</li><li>two</li></ul>"
        "<pre>line 1\n  line 2</pre><blockquote><p>quoted</p></blockquote><p>a&nbsp;&amp;&lt;b&gt;</p></body></html>"
    )
    text = parser.html_to_text(html)
    assert "alert" not in text and "color" not in text and "T\n" not in text
    assert "See this (https://example.com/x), that and a@example.com." in text
    assert "- one\n- two" in text
    assert "line 1\n  line 2" in text
    assert "> quoted" in text
    assert "a &<b>" in text


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ("Thanks!\n\nOn Mon, 18 Mar 2024 at 10:20, Support <support@x> wrote:\n> old\n", "Thanks!"),
        # Gmail wraps a long attribution line.
        (
            "Thanks!\n\nOn Mon, 18 Mar 2024 at 10:20, Hosting Support <\nsupport@hosting.example> wrote:\n> old",
            "Thanks!",
        ),
        ("Thanks!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold text", "Thanks!"),
        ("Thanks!\n\n________________________________\nFrom: Support <s@x>\nSent: Monday\nold", "Thanks!"),
        ("Thanks!\n\nFrom: Support <s@x>\nSent: Monday, March 18, 2024 10:20\nTo: me\nold", "Thanks!"),
        ("Спасибо!\n\n18.03.2024 10:20, Поддержка пишет:\n> старое", "Спасибо!"),
        ("Спасибо!\n\nПн, 18 мар. 2024 г. в 10:20, Поддержка <s@x> писал(а):\n> старое", "Спасибо!"),
        ("Спасибо!\n\n18 марта 2024, Поддержка написал:\nстарое", "Спасибо!"),
        ("Спасибо!\n\nОт: Поддержка <s@x>\nОтправлено: 18 марта 2024\nстарое", "Спасибо!"),
        ("Danke!\n\nAm 18.03.2024 um 10:20 schrieb Support <s@x>:\n> alt", "Danke!"),
        ("Answer\n> question 1\nanswer 1\n> question 2", "Answer\nanswer 1"),
        ("Fixed.\n\n-- \nIvan Petrov\nPetrov & Sons", "Fixed."),
        ("Fixed.\n\n--\nIvan", "Fixed."),
        ("Fixed.\n\nSent from my iPhone", "Fixed."),
        ("Fixed.\n\nОтправлено с iPhone", "Fixed."),
        (
            "Line one\n-- not a signature, a dash in text\nLine two",
            "Line one\n-- not a signature, a dash in text\nLine two",
        ),
    ],
)
def test_strip_reply(reply, kept):
    assert parser.strip_reply(reply) == kept


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Re: [#123456] Server down", "123456"),
        ("RE: #123456", "123456"),
        ("Ticket 123456: any news?", "123456"),
        ("ticket #123456", "123456"),
        ("Заявка №123456", "123456"),
        ("Re: [123456]", "123456"),
        ("Server #2 is down", None),
    ],
)
def test_ticket_number_in_the_subject(subject, number):
    match = SUBJECT_NUMBER.search(subject)
    found = next((group for group in match.groups() if group), None) if match else None
    assert found == number


@pytest.mark.parametrize(
    ("message_id", "ours"),
    [
        ("abc@helpdesk", True),
        ("abc@mail.helpdesk", True),
        ("abc@HELPDESK", True),
        ("abc@myhelpdesk", False),
        ("abc@helpdesk.example.com", False),
        ("helpdesk", False),
        ("", False),
    ],
)
def test_own_message_id(message_id, ours):
    assert parser.own_message_id(message_id, "helpdesk") is ours


def test_peek_headers_reads_only_the_header_block():
    raw = simple(sender="=?utf-8?B?0JjQstCw0L0=?= <ivan@example.com>", subject="Peek", message_id="p@x")
    summary = parser.peek_headers(raw + b"\r\nFrom: not-this@example.com\r\n")
    assert (summary.from_address, summary.from_name, summary.subject, summary.message_id) == (
        "ivan@example.com",
        "Иван",
        "Peek",
        "p@x",
    )


def test_peek_headers_of_garbage_is_empty():
    assert parser.peek_headers(b"\x00\x01\x02").from_address == ""


def test_parse_refuses_empty_and_headerless_input():
    for raw in (b"", b"   \r\n", load("malformed.eml")):
        with pytest.raises(parser.ParseError):
            parser.parse(raw)


def test_parse_raw_8bit_headers_are_read():
    raw = "From: Иван <ivan@example.com>\r\nSubject: Тема\r\n\r\nТекст".encode()
    mail = parser.parse(raw)
    assert (mail.from_name, mail.subject, mail.text) == ("Иван", "Тема", "Текст")


def test_parse_undecodable_header_bytes_are_replaced_and_noted():
    raw = "From: ivan@example.com\r\nSubject: Тема\r\n\r\nbody".encode("cp1251")
    mail = parser.parse(raw)
    assert "\ufffd" in mail.subject
    assert "some characters of the headers could not be decoded" in mail.notes


def test_recipients_come_from_envelope_and_address_headers():
    raw = simple(
        to="A <a@example.com>, b@example.com", headers={"Cc": "c@EXAMPLE.com", "Delivered-To": "d@example.com"}
    )
    assert parser.parse(raw).recipients == ["d@example.com", "a@example.com", "b@example.com", "c@example.com"]


def test_plus_addresses():
    assert parser.base_address("Support+123456@Hosting.Example") == "support@hosting.example"
    assert parser.plus_tag("support+123456@hosting.example") == "123456"
    assert parser.plus_tag("support@hosting.example") == ""


def test_nested_forwards_stop_at_a_depth():
    inner = simple(subject="level 0", body="deepest")
    for level in range(1, parser.MAX_DEPTH + 3):
        inner = (
            (
                f"From: a@example.com\r\nSubject: level {level}\r\nMIME-Version: 1.0\r\n"
                f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'
                f"Content-Type: text/plain\r\n\r\ntext {level}\r\n--b{level}\r\nContent-Type: message/rfc822\r\n\r\n"
            ).encode()
            + inner
            + f"\r\n--b{level}--\r\n".encode()
        )
    mail = parser.parse(inner)
    assert "deepest" not in mail.text
    assert any("nested too deep" in note for note in mail.notes)


def test_classify_reports_and_read_receipts():
    raw = (
        b"From: ivan@example.com\r\nSubject: Read: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nRead.\r\n--r--\r\n"
    )
    verdict = parser.classify(
        parser.parse(raw), own_addresses=set(), message_id_domain="helpdesk", reply_local_part="support"
    )
    assert verdict == ("ignored_auto_reply", "an automatic report (disposition-notification)")


@pytest.mark.parametrize(
    ("text", "secret", "moved"),
    [
        ("Сервер vps-1.example.ru, пароль от root: qwerty12, спасибо", "qwerty12", True),
        ("ssh 203.0.113.9\nлогин: admin\nпароль: Zx9#tt", "Zx9#tt", True),
        ("FTP host ftp.petrov.ru user petrov pass=S3cret", "S3cret", True),
        ("The panel login is ok, but the password is not accepted", "", False),
        ("I forgot my password: how do I reset it?", "", False),
        ("password: Hunter2", "", False),  # nothing it would open is named near it
    ],
)
def test_credentials_are_found_next_to_a_host_or_a_login(text, secret, moved):
    from mailin import credentials

    found = credentials.find(text)
    assert bool(found) is moved
    if moved:
        assert secret not in found.text and credentials.MASK in found.text
        assert secret in found.access_data
    else:
        assert found.text == text


def test_only_the_topmost_authentication_results_are_believed():
    raw = load("dmarc_fail.eml", TICKET=1)
    results = parser.authentication_results(parser.parse(raw))
    assert (results.server, results.spf, results.dkim, results.dmarc) == ("mx.hosting.example", "fail", "none", "fail")
    assert parser.authentication_results(parser.parse(raw), server="mx9.example").dmarc == ""
