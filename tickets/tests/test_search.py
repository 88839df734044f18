"""Full-text search (tickets.search): languages, numbers and addresses, highlights, who finds
what, the documents kept by the database's triggers, and the pages and the API that use it."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import CustomerFactory, OrganisationFactory
from queues.tests.factories import LineFactory
from tickets import search
from tickets.models import Message, Status, Ticket, TicketSearch
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def found(user, text, **filters) -> set[str]:
    return {ticket.subject for ticket in search.ticket_search(user=user, text=text, **filters)}


def say(ticket, body, *, author=None, kind=Message.Kind.PUBLIC):
    return Message.objects.create(ticket=ticket, author=author, kind=kind, body=body)


@pytest.fixture
def other_line(db):
    return LineFactory(code="finance", name="Finance", level=1)


# --- languages ---------------------------------------------------------------------------


def test_a_russian_word_form_finds_its_other_forms_in_bodies_and_messages(agent, line, customer):
    described = TicketFactory(line=line, customer=customer, subject="Не открывается сайт", body="Сервер не отвечает")
    replied = TicketFactory(line=line, customer=customer, subject="Вопрос по оплате", body="Счёт за март")
    say(replied, "Перезагрузили несколько серверов, проверьте.", author=agent)
    TicketFactory(line=line, customer=customer, subject="Смена пароля", body="Забыл пароль")

    assert found(agent, "сервера") == {described.subject, replied.subject}
    assert found(agent, "серверов") == {described.subject, replied.subject}
    assert found(agent, "паролем") == {"Смена пароля"}


def test_an_english_word_form_finds_its_other_forms(agent, line, customer):
    failing = TicketFactory(line=line, customer=customer, subject="Backups", body="The nightly backup is failing")
    say(failing, "We replaced two disks.", author=agent)
    TicketFactory(line=line, customer=customer, subject="Invoice", body="Please send the invoice")

    assert found(agent, "failed") == {"Backups"}
    assert found(agent, "disk") == {"Backups"}
    assert found(agent, "invoices") == {"Invoice"}
    # Words of both languages in one query: each text is stemmed in its own.
    say(failing, "Диски заменены", author=agent)
    assert found(agent, "дисков replacing") == {"Backups"}


def test_customers_names_addresses_and_organisations_are_found(agent, line):
    organisation = OrganisationFactory(name="Рога и копыта")
    customer = CustomerFactory(
        username="svetlana",
        first_name="Светлана",
        last_name="Кузнецова",
        email="s.kuznetsova@acme-hosting.example",
        organisation=organisation,
    )
    TicketFactory(line=line, customer=customer, subject="Домен не продлился", body="Продлите, пожалуйста")
    TicketFactory(line=line, subject="Someone else's", body="Nothing to see")

    expected = {"Домен не продлился"}
    assert found(agent, "Кузнецовой") == expected
    assert found(agent, "Светлана") == expected
    assert found(agent, "s.kuznetsova@acme-hosting.example") == expected
    assert found(agent, "acme-hosting.example") == expected
    assert found(agent, "копыта") == expected
    assert found(agent, "svetlana") == expected


# --- numbers, addresses, hosts ----------------------------------------------------------


def test_a_number_finds_the_ticket_numbered_so_and_those_that_mention_it(agent, line, customer):
    numbered = TicketFactory(line=line, customer=customer, number=502, subject="Numbered 502", body="Hello")
    mentions = TicketFactory(line=line, customer=customer, subject="Bad gateway", body="Site is down")
    say(mentions, "nginx answers 502 Bad Gateway since the morning")
    TicketFactory(line=line, customer=customer, subject="Unrelated", body="Error 503")

    assert numbered.number == 502
    assert found(agent, "502") == {"Numbered 502", "Bad gateway"}
    assert found(agent, "#502") == {"Numbered 502", "Bad gateway"}
    assert found(agent, str(mentions.number)) == {"Bad gateway"}


def test_an_ip_address_and_a_host_name_find_their_tickets(agent, line, customer):
    routed = TicketFactory(line=line, customer=customer, subject="Packet loss", body="Loss to our server")
    say(routed, "traceroute:\n1  10.20.30.40  0.4 ms\n2  * * *")
    TicketFactory(line=line, customer=customer, subject="Other", body="10.20.30.41 is fine")
    TicketFactory(line=line, customer=customer, subject="Slow disk", service="srv-12.example.com", body="Slow")

    assert found(agent, "10.20.30.40") == {"Packet loss"}
    assert found(agent, "srv-12.example.com") == {"Slow disk"}
    assert found(agent, "srv-12") == {"Slow disk"}


def test_filters_combine_with_the_search(agent, line, customer):
    TicketFactory(line=line, customer=customer, subject="Open one", body="nginx down", status=Status.IN_PROGRESS)
    TicketFactory(line=line, customer=customer, subject="Closed one", body="nginx down", status=Status.CLOSED)

    assert found(agent, "nginx") == {"Open one", "Closed one"}
    assert found(agent, "nginx", status=Status.CLOSED) == {"Closed one"}
    assert found(agent, "nginx", open_only=True) == {"Open one"}
    assert found(agent, "nginx", line="finance") == set()


def test_a_web_search_query_phrase_or_and_minus(agent, line, customer):
    TicketFactory(line=line, customer=customer, subject="A", body="disk full on the server")
    TicketFactory(line=line, customer=customer, subject="B", body="full disk replacement")

    assert found(agent, '"disk full"') == {"A"}
    assert found(agent, "disk -replacement") == {"A"}
    assert found(agent, "replacement or server") == {"A", "B"}
    # Only stop words, or nothing to search: nothing, and no error.
    assert found(agent, "the") == set()
    assert found(agent, "   ") == {"A", "B"}  # no search: the list as it is


# --- who finds what -----------------------------------------------------------------------


def test_an_agent_never_finds_tickets_of_lines_they_are_not_in(agent, manager, line, other_line, customer, monkeypatch):
    TicketFactory(line=line, customer=customer, subject="Mine", body="refund for the server")
    TicketFactory(line=other_line, customer=customer, subject="Finance's", body="refund for the server")

    assert found(agent, "refund") == {"Mine"}
    assert found(agent, "refund", line="finance") == set()
    assert found(manager, "refund") == {"Mine", "Finance's"}
    # A ticket moves with its line: transferred away, it is no longer found by the agent.
    Ticket.objects.filter(subject="Mine").update(line=other_line)
    assert found(agent, "refund") == set()
    Ticket.objects.filter(subject="Finance's").update(line=line)
    assert found(agent, "refund") == {"Finance's"}
    # Common words take the other plan (the list read in order): the same scope.
    for index in range(3):
        TicketFactory(line=other_line, customer=customer, subject=f"Other {index}", body="refund")
    monkeypatch.setattr(search, "FEW_MATCHES", 0)
    assert found(agent, "refund") == {"Finance's"}


def test_a_customer_finds_only_their_own_tickets_and_never_by_an_internal_note(agent, line, customer):
    own = TicketFactory(line=line, customer=customer, subject="Own", body="backup failed")
    say(own, "Customer is on the legacy tariff", author=agent, kind=Message.Kind.NOTE)
    stranger = CustomerFactory(username="stranger")
    TicketFactory(line=line, customer=stranger, subject="Stranger's", body="backup failed")

    assert found(customer, "backup") == {"Own"}
    assert found(customer, "tariff") == set()
    assert found(agent, "tariff") == {"Own"}
    assert found(stranger, "backup") == {"Stranger's"}
    # A public reply after the note is searchable by the customer; the note still is not.
    say(own, "We restored the archive", author=agent)
    assert found(customer, "archive") == {"Own"}
    assert found(customer, "legacy") == set()
    document = TicketSearch.objects.get(ticket=own)
    assert document.customer_document is not None


def test_a_colleague_who_may_see_the_organisation_finds_its_tickets(line):
    organisation = OrganisationFactory(name="Acme")
    author = CustomerFactory(username="author", organisation=organisation)
    colleague = CustomerFactory(username="colleague", organisation=organisation)
    colleague.customer_profile.can_see_organisation_tickets = True
    colleague.customer_profile.save()
    outsider = CustomerFactory(username="outsider", organisation=organisation)
    TicketFactory(line=line, customer=author, organisation=organisation, subject="Shared", body="dns records")

    assert found(colleague, "dns") == {"Shared"}
    assert found(outsider, "dns") == set()


# --- the documents follow the data --------------------------------------------------------


def test_documents_follow_edits_merges_and_renames(agent, line, customer):
    first = TicketFactory(line=line, customer=customer, subject="First", body="alpha")
    second = TicketFactory(line=line, customer=customer, subject="Second", body="beta")
    message = say(first, "gamma rays")

    first.subject = "Renamed subject"
    first.save()
    assert found(agent, "renamed") == {"Renamed subject"}

    # A message moved to another ticket (a merge, a split) is found there only.
    Message.objects.filter(pk=message.pk).update(ticket=second)
    assert found(agent, "gamma") == {"Second"}
    Message.objects.filter(pk=message.pk).delete()
    assert found(agent, "gamma") == set()

    customer.last_name = "Zhukovsky"
    customer.save()
    assert found(agent, "zhukovsky") == {"Renamed subject", "Second"}
    assert TicketSearch.objects.count() == Ticket.objects.count() == 2


def test_a_thread_past_the_size_a_document_may_hold_still_takes_messages(agent, line, customer):
    ticket = TicketFactory(line=line, customer=customer, subject="Huge", body="start")
    junk = " ".join(f"x{i:06d}y{i * 7919 % 1000003:07d}" for i in range(40_000))
    for _ in range(3):
        say(ticket, junk)  # about 0.7 MB of distinct words each: the second no longer fits
    say(ticket, "the last words")
    assert Message.objects.filter(ticket=ticket).count() == 4
    assert found(agent, "start") == {"Huge"}


# --- highlights ---------------------------------------------------------------------------


def test_highlights_escape_html_and_mark_the_matches(agent, line, customer):
    ticket = TicketFactory(line=line, customer=customer, subject="<b>Сервер</b> & co", body="description")
    say(ticket, 'Серверы: 5 < 7 & "x" <script>alert(1)</script> <img src=x onerror=alert(2)> ок', author=agent)

    hit = search.highlights(user=agent, text="сервера", tickets=[ticket])[ticket.id]
    assert hit.subject == "&lt;b&gt;<mark>Сервер</mark>&lt;/b&gt; &amp; co"
    assert hit.snippet.startswith("<mark>Серверы</mark>: 5 &lt; 7 &amp; &quot;x&quot;")
    # ts_headline leaves tags out of a snippet; whatever else is left is escaped.
    assert "<script" not in hit.snippet and "<img" not in hit.snippet
    assert hit.snippet.count("<") == hit.snippet.count("<mark>") + hit.snippet.count("</mark>")


def test_highlight_markers_typed_into_a_message_stay_text(agent, line, customer):
    ticket = TicketFactory(line=line, customer=customer, subject="Marks", body="x")
    say(ticket, f"nginx {search.MARK_START}img src=x{search.MARK_END} down")

    hit = search.highlights(user=agent, text="nginx", tickets=[ticket])[ticket.id]
    assert hit.snippet == "<mark>nginx</mark> img src=x down"


def test_a_customer_gets_no_snippet_of_an_internal_note(agent, line, customer):
    ticket = TicketFactory(line=line, customer=customer, subject="Disk", body="disk slow")
    say(ticket, "disk of a noisy neighbour", author=agent, kind=Message.Kind.NOTE)

    assert "neighbour" in search.highlights(user=agent, text="disk", tickets=[ticket])[ticket.id].snippet
    assert "neighbour" not in search.highlights(user=customer, text="disk", tickets=[ticket])[ticket.id].snippet


def test_the_match_in_the_customer_is_shown(agent, line):
    customer = CustomerFactory(username="olga", first_name="Olga", last_name="Petrova", email="olga@example.com")
    ticket = TicketFactory(line=line, customer=customer, subject="Question", body="hello")

    hit = search.highlights(user=agent, text="petrova", tickets=[ticket])[ticket.id]
    assert hit.about == "Olga <mark>Petrova</mark> · olga@example.com"
    assert hit.snippet is None


# --- pages and the API ------------------------------------------------------------------


def _tickets(count, *, line, customer, word):
    for index in range(count):
        ticket = TicketFactory(line=line, customer=customer, subject=f"{word} {index}", body=f"{word} <i>{index}</i>")
        say(ticket, f"{word} again")


def test_the_workspace_search_shows_highlighted_results(client, agent, line, other_line, customer):
    TicketFactory(line=line, customer=customer, subject="Сервер <упал>", body="серверов много")
    TicketFactory(line=other_line, customer=customer, subject="Сервер finance", body="сервер")
    client.force_login(agent)

    response = client.get(reverse("desk-tickets"), {"q": "сервера", "open": "0"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<mark>Сервер</mark> &lt;упал&gt;" in html
    assert 'data-testid="search-snippet"><mark>серверов</mark> много' in html
    assert "finance" not in html.split('data-testid="ticket-list"')[1]


def test_the_panel_search_finds_only_the_customers_own_tickets(client, line, customer):
    TicketFactory(line=line, customer=customer, subject="Mine", body="ssl certificate expired")
    TicketFactory(line=line, customer=CustomerFactory(username="b"), subject="Not mine", body="ssl certificate")
    client.force_login(customer)

    response = client.get(reverse("panel-tickets"), {"q": "certificates"})

    html = response.content.decode()
    assert "<mark>certificate</mark> expired" in html
    assert "Not mine" not in html


def test_the_api_search_and_the_lists_q(client, agent, line, other_line, customer):
    ticket = TicketFactory(line=line, customer=customer, subject="Kernel panic", body="panic on boot")
    say(ticket, "see 10.0.0.7", author=agent)
    TicketFactory(line=other_line, customer=customer, subject="Kernel finance", body="10.0.0.7")
    client.force_login(agent)

    response = client.get("/api/v1/tickets/search/", {"q": "10.0.0.7"})
    listed = client.get("/api/v1/tickets/", {"q": "10.0.0.7"})

    assert response.status_code == 200
    assert [item["number"] for item in response.json()["results"]] == [ticket.number]
    assert response.json()["results"][0]["highlight"] == {
        "subject": "Kernel panic",
        "snippet": "see <mark>10.0.0.7</mark>",
        "about": None,
    }
    assert [item["number"] for item in listed.json()["results"]] == [ticket.number]
    assert client.get("/api/v1/tickets/search/").status_code == 400
    assert client.get("/api/v1/tickets/search/", {"q": "x" * 201}).json()["field"] == "q"


def test_the_api_search_of_a_customer(client, agent, line, customer):
    own = TicketFactory(line=line, customer=customer, subject="Own", body="mail lands in spam")
    say(own, "spam filter of the neighbour", author=agent, kind=Message.Kind.NOTE)
    TicketFactory(line=line, customer=CustomerFactory(username="c2"), subject="Other", body="spam")
    client.force_login(customer)

    results = client.get("/api/v1/tickets/search/", {"q": "spam"}).json()["results"]

    assert [item["subject"] for item in results] == ["Own"]
    assert "neighbour" not in results[0]["highlight"]["snippet"]


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("agent", "/desk/tickets/?open=0&q=nginx"),
        ("customer", "/panel/tickets/?q=nginx"),
        ("agent", "/api/v1/tickets/search/?q=nginx"),
        ("customer", "/api/v1/tickets/search/?q=nginx"),
    ],
)
def test_the_query_count_of_a_search_does_not_grow_with_the_results(client, agent, customer, line, who, path):
    client.force_login({"agent": agent, "customer": customer}[who])
    _tickets(1, line=line, customer=customer, word="nginx")
    client.get(path)  # the first request fills caches (sessions, content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(path).status_code == 200
    _tickets(6, line=line, customer=customer, word="nginx")
    with CaptureQueriesContext(connection) as seven:
        response = client.get(path)

    assert response.content.decode().count("<mark>nginx</mark>") >= 7
    assert len(seven) == len(one), [query["sql"][:120] for query in seven]


# --- the plans: few matches from the index, many by reading the list in order ----------------


def _ordered(user, text, **filters) -> list[str]:
    return [ticket.subject for ticket in search.ticket_search(user=user, text=text, **filters)]


def _stamped(line, customer, subjects_and_bodies, *, start_hours=1):
    """Tickets whose last activity is an hour apart, the first the newest."""
    now = timezone.now()
    made = []
    for index, (subject, body) in enumerate(subjects_and_bodies):
        ticket = TicketFactory(line=line, customer=customer, subject=subject, body=body)
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=now - dt.timedelta(hours=start_hours + index))
        made.append(ticket)
    return made


def test_words_that_come_together_past_the_cap_are_found_by_reading_the_list(agent, line, customer, monkeypatch):
    """`14:30` is two words that always come together: the planner takes them for independent and
    expects few matches. The ids are read from the index only up to the cap; past it, the list
    is read in its order instead, with the same results in the same order."""
    _stamped(line, customer, [(f"Backup {i}", "the backup starts at 14:30 every night") for i in range(4)])
    _stamped(line, customer, [("Other", "the backup starts at 15:45")], start_hours=10)
    expected = ["Backup 0", "Backup 1", "Backup 2", "Backup 3"]
    assert _ordered(agent, "14:30") == expected

    monkeypatch.setattr(search, "FEW_MATCHES", 3)
    with CaptureQueriesContext(connection) as captured:
        assert _ordered(agent, "14:30") == expected
    probes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT s.ticket_id")]
    # One read of the index, stopped at the cap plus one; then the list itself, read in order.
    assert len(probes) == 1 and probes[0].endswith("LIMIT 4")
    assert "ANY(" not in captured.captured_queries[-1]["sql"]
    assert '"tickets_ticketsearch"."document" @@' in captured.captured_queries[-1]["sql"]

    monkeypatch.setattr(search, "FEW_MATCHES", 4)
    with CaptureQueriesContext(connection) as captured:
        assert _ordered(agent, "14:30") == expected
    # Within the cap the list takes those tickets alone.
    assert "ANY(" in captured.captured_queries[-1]["sql"]


def test_common_words_never_ask_the_index_for_their_ids(agent, line, customer, monkeypatch):
    _stamped(line, customer, [("A", "nginx restarted"), ("B", "nginx reloaded")])
    monkeypatch.setattr(search, "COMMON_ESTIMATE", -1)
    with CaptureQueriesContext(connection) as captured:
        assert _ordered(agent, "nginx") == ["A", "B"]
    assert not [q for q in captured.captured_queries if q["sql"].startswith("SELECT s.ticket_id")]


def test_no_match_in_the_index_is_an_empty_list_that_still_compiles(client, agent, line, customer):
    _stamped(line, customer, [("A", "nginx restarted")])
    assert _ordered(agent, "postfix") == []
    # The workspace counts its views and the list in one statement: the empty list is SQL too.
    sql, params = search.ticket_search(user=agent, text="postfix").query.sql_with_params()
    assert "ANY(" in sql and [] in params
    client.force_login(agent)
    response = client.get("/desk/tickets/", {"open": "0", "q": "postfix"})
    assert response.status_code == 200


@pytest.mark.parametrize("cap", [0, 1, 2_000])
@pytest.mark.parametrize("common", [True, False])
def test_a_customer_finds_the_same_whichever_plan(agent, line, customer, monkeypatch, cap, common):
    """Common words: the customer's own rows read one by one (their words without the notes);
    rare ones: the index; past the cap: their list read in order. Always the same tickets,
    newest activity first, never by an internal note, never another customer's."""
    first, second, _third = _stamped(
        line, customer, [("First", "mail lands in spam"), ("Second", "spam in the mailbox"), ("Third", "dns records")]
    )
    say(first, "the spam filter of the neighbour", author=agent, kind=Message.Kind.NOTE)
    say(second, "still in spam", author=agent)
    TicketFactory(line=line, customer=CustomerFactory(username="c2"), subject="Other", body="spam and neighbour")
    monkeypatch.setattr(search, "FEW_MATCHES", cap)
    monkeypatch.setattr(search, "FEW_MATCHES_FOR_CUSTOMER", -1 if common else 10_000)

    assert _ordered(customer, "spam") == ["First", "Second"]
    assert _ordered(customer, "neighbour") == []
    assert _ordered(customer, "spam -mailbox") == ["First"]
    assert _ordered(customer, "dns or neighbour") == ["Third"]
