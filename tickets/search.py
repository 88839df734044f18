"""Full-text search over tickets, scoped by who asks. Reads only (layer 1).

Each ticket's words live in one row of `tickets.models.TicketSearch`, kept by database
triggers (migration 0021): its number, subject, description and service, its customer's
name, login and e-mail, the organisation, and every message, each text stemmed in its own
language (Russian for a text with Cyrillic letters, English otherwise). Numbers, IP
addresses, host names and e-mail addresses are indexed whole, so `502` finds the ticket
numbered 502 and every ticket that mentions 502.

Who asks decides what is searched: `ticket_search` starts from the list of tickets the user
may see (`tickets.selectors.ticket_list`, scoped by `tickets_visible_to`), and `matching`
narrows it: an agent searches their lines' tickets only (the lines they are members of; the
tickets they hold or worked on in other lines stay on their list, unsearched), management
every ticket, a customer their own tickets (or their organisation's, when allowed) without
the internal notes (`TicketSearch.customer_document`). The query is the user's text as a web
search (`"a phrase"`, `or`, `-word`) in both languages at once.

Results keep the list's order (newest activity first). How many tickets the words match in
the user's scope picks the plan: up to a couple of thousand, and the GIN index (the line
beside the words) gives their ids, read once, then only they are sorted; more, and the list
is read in its order, each ticket's words checked, until the page is full (see `matching`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from tickets import selectors
from tickets.models import Message, Ticket

# The text search configurations a query is read in; the documents use one of them per text.
CONFIGS = ("russian", "english")
# The longest text searched for (the forms and the API refuse longer ones).
TEXT_MAX = 200
# Only the start of a long message is looked at for its snippet, and only a thread's latest messages.
SNIPPET_SOURCE_CHARS = 20_000
SNIPPET_MESSAGES = 50
# ts_headline marks matches with these characters (from Unicode's private use area, taken out
# of the text first); the text is escaped, then they become <mark> and </mark>.
MARK_START = "\ue000"
MARK_END = "\ue001"
SUBJECT_OPTIONS = f"HighlightAll=true, StartSel={MARK_START}, StopSel={MARK_END}"
SNIPPET_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


@dataclass(frozen=True)
class Hit:
    """What a ticket of the results shows of its match: HTML, escaped, matches in <mark>."""

    subject: SafeString
    # The latest text of the thread that matches (a message or the description), cut around the matches.
    snippet: SafeString | None
    # The customer, their organisation and the service, when the match is there.
    about: SafeString | None


def clean_text(text: str | None) -> str:
    return (text or "").strip()[:TEXT_MAX]


# The same query as search_query's, in SQL, with the text twice as its parameters.
_TSQUERY = "(websearch_to_tsquery('pg_catalog.russian', %s) || websearch_to_tsquery('pg_catalog.english', %s))"
# Up to this many matches in the user's scope, their ids are read from the index once (this
# many plus one at most) and only those tickets are sorted; more, and the list is read in its
# own order instead, each ticket's words checked, which stops at the page (see matching).
FEW_MATCHES = 2_000
# Above this many expected matches in a staff user's lines (the planner's estimate) the index is
# not asked at all: the word is common, and the list read in order finds its page at once.
COMMON_ESTIMATE = 20_000
# A customer's: only words the statistics hold for rare (not among the most common ones).
FEW_MATCHES_FOR_CUSTOMER = 10_000


def search_query(text: str) -> SearchQuery:
    """The user's text as a web search (phrases in quotes, `or`, `-word`) in both languages."""
    query = SearchQuery(text, config=CONFIGS[0], search_type="websearch")
    for config in CONFIGS[1:]:
        query |= SearchQuery(text, config=config, search_type="websearch")
    return query


@dataclass(frozen=True)
class _Scope:
    """Which rows of the GIN index a user's search reads: SQL on `s` and its parameters."""

    sql: str
    params: tuple[Any, ...]
    customer: bool


def _scope(user: User) -> _Scope:
    """An agent's lines; a customer's own tickets (and their organisation's, when allowed);
    management everything. Only ever narrower than `tickets_visible_to`, which the list that
    `matching` narrows applies as well."""
    if user.is_customer:
        profile = getattr(user, "customer_profile", None)
        if user.organisation_id and profile is not None and profile.can_see_organisation_tickets:
            return _Scope("(s.customer_id = %s OR s.organisation_id = %s)", (user.id, user.organisation_id), True)
        return _Scope("s.customer_id = %s", (user.id,), True)
    if user.is_management:
        return _Scope("true", (), False)
    return _Scope("s.line_id = ANY(%s::bigint[])", (selectors.member_line_ids(user),), False)


def _ids_sql(scope: _Scope) -> str:
    """The ids of the matching tickets in the scope, from the GIN index."""
    where = f"{scope.sql} AND s.document @@ {_TSQUERY}"
    if scope.customer:
        where += f" AND coalesce(s.customer_document, s.document) @@ {_TSQUERY}"
    return f"SELECT s.ticket_id FROM tickets_ticketsearch s WHERE {where}"  # noqa: S608 - constant parts


def _ids_params(scope: _Scope, text: str) -> list[Any]:
    return [*scope.params, *[text] * (4 if scope.customer else 2)]


def expected_matches(text: str, *, user: User | None, scope: _Scope | None = None) -> int:
    """How many tickets in the user's scope (every ticket for None) PostgreSQL expects to match
    `text`, from its statistics of the words and the lines: the planner's estimate, no ticket
    is read. `scope`: the user's, when the caller has it already."""
    if scope is None:
        scope = _scope(user) if user is not None else _Scope("true", (), False)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + _ids_sql(scope), _ids_params(scope, text))
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _capped_ids(sql: str, params: list[Any], cap: int) -> list[int] | None:
    """The ids `sql` selects, or None when there are more than `cap` of them (only `cap` + 1 are read)."""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT %s", [*params, cap + 1])
        ids = [row[0] for row in cursor.fetchall()]
    return None if len(ids) > cap else ids


def _customer_ids_sql(scope: _Scope) -> str:
    """The ids of the customer's tickets whose words the customer sees match: their own rows read
    one by one (`tickets_search_customer`, `tickets_search_organisation`), whatever the words."""
    return (
        f"SELECT s.ticket_id FROM tickets_ticketsearch s WHERE {scope.sql} "  # noqa: S608 - constant parts
        f"AND coalesce(s.customer_document, s.document) @@ {_TSQUERY}"
    )


def _among(tickets: QuerySet[Ticket], ids: list[int]) -> QuerySet[Ticket]:
    """The tickets of these ids (none: an empty array, so the query still compiles for the views'
    counts, which put every list's SQL in one statement)."""
    sql = '"tickets_ticket"."id" = ANY(%s::bigint[])'
    return tickets.filter(RawSQL(sql, (ids,), output_field=BooleanField()))  # noqa: S611 - constant SQL


def matching(tickets: QuerySet[Ticket], *, user: User, text: str) -> QuerySet[Ticket]:
    """`tickets` (already scoped to what `user` may see) narrowed to those whose words match
    `text`: an agent's in their lines only, a customer's without the internal notes.

    The GIN index holds each ticket's line, customer and organisation beside its words, so it
    gives the matches of the user's scope alone. Two plans, each bounded by what it reads:
    - few matches (rare words, numbers, addresses, hosts): their ids are read from the index
      once, at most FEW_MATCHES + 1 of them, and the list's query takes those tickets alone
      (`id = ANY(...)`), so the count and the page sort a few thousand tickets at most;
    - more: the list is read in its own order and each ticket's words checked, which stops at
      the page: a word in one ticket of a hundred finds twenty in two thousand.
    Which one is decided by reading, not guessed: the planner's estimate only keeps the index
    from being asked for common words (above COMMON_ESTIMATE); otherwise the ids are read, and
    more than FEW_MATCHES of them means the words are common after all. The planner takes the
    words of a query for independent, so words that come together (`14:30`, a customer's first
    and last name) look far rarer than they are, and sorting all their matches cost seconds.
    A customer's own tickets are read one by one when any word is common (their rows, by
    `tickets_search_customer`): a few hundred rows, where a common word's whole entry in the
    index is hundreds of thousands.
    """
    text = clean_text(text)
    if not text or not user.is_authenticated or not (user.is_customer or user.is_support_staff):
        return tickets.none()
    scope = _scope(user)
    if not (user.is_customer or user.is_management):
        tickets = tickets.filter(line_id__in=scope.params[0])
    params = _ids_params(scope, text)
    if user.is_customer:
        # Any of the words common: the customer's own tickets, read one by one, cost less than the
        # word's matches in the index. (Each word on its own: the planner takes words for
        # independent, and "kernel panic" would look rare.)
        words = [word.strip('"-') for word in text.split() if word.lower() != "or"]
        rare = expected_matches(" or ".join(word for word in words if word), user=None) <= FEW_MATCHES_FOR_CUSTOMER
        if rare:
            ids = _capped_ids(_ids_sql(scope), params, FEW_MATCHES)
        else:
            ids = _capped_ids(_customer_ids_sql(scope), [*scope.params, text, text], FEW_MATCHES)
        if ids is not None:
            return _among(tickets, ids)
        customer_words = Coalesce("search__customer_document", "search__document")
        return tickets.alias(search_words=customer_words).filter(search_words=search_query(text))
    if expected_matches(text, user=user, scope=scope) <= COMMON_ESTIMATE:
        ids = _capped_ids(_ids_sql(scope), params, FEW_MATCHES)
        if ids is not None:
            return _among(tickets, ids)
    return tickets.filter(search__document=search_query(text))


def ticket_search(*, user: User, text: str, **filters) -> QuerySet[Ticket]:
    """The tickets `user` may see that match `text`, with the list's filters (status, line,
    assignee, urgency, category, open_only) and in the list's order."""
    return selectors.ticket_list(user=user, search=clean_text(text) or None, **filters)


_HIGHLIGHTS_SQL = """
WITH q AS (
    SELECT websearch_to_tsquery('pg_catalog.russian', %(text)s)
        || websearch_to_tsquery('pg_catalog.english', %(text)s) AS query
)
SELECT t.id,
       ts_headline(tickets_search_config(t.subject), translate(t.subject, %(marks)s, ''), q.query,
                   %(subject_options)s),
       (SELECT ts_headline(tickets_search_config(x.text), x.text, q.query, %(snippet_options)s)
        FROM (SELECT translate(left(m.body, %(chars)s), %(marks)s, '') AS text, m.created_at, m.id
              FROM tickets_message m
              WHERE m.ticket_id = t.id AND (%(notes)s OR m.kind <> %(note)s)
              ORDER BY m.created_at DESC, m.id DESC
              LIMIT %(messages)s) x
        WHERE tickets_search_text(x.text) @@ q.query
        ORDER BY x.created_at DESC, x.id DESC
        LIMIT 1),
       (SELECT ts_headline(tickets_search_config(b.text), b.text, q.query, %(snippet_options)s)
        FROM (SELECT translate(left(t.body, %(chars)s), %(marks)s, '') AS text) b
        WHERE tickets_search_text(b.text) @@ q.query),
       (SELECT ts_headline(tickets_search_config(a.text), a.text, q.query, %(subject_options)s)
        FROM (SELECT translate(concat_ws(' · ', nullif(concat_ws(' ', u.first_name, u.last_name), ''),
                                         nullif(u.email, ''), o.name, nullif(t.service, '')),
                               %(marks)s, '') AS text) a
        WHERE tickets_search_text(concat_ws(' ', a.text, translate(a.text, '.@/:', '    '))) @@ q.query)
FROM tickets_ticket t
CROSS JOIN q
JOIN accounts_user u ON u.id = t.customer_id
LEFT JOIN accounts_organisation o ON o.id = coalesce(t.organisation_id, u.organisation_id)
WHERE t.id = ANY(%(ids)s)
"""


def _html(headline: str | None) -> SafeString | None:
    """ts_headline's text escaped, its marks made <mark> elements."""
    if headline is None:
        return None
    html = escape(headline).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own marks become tags


def highlights(*, user: User, text: str, tickets: list[Ticket]) -> dict[int, Hit]:
    """The matches of `text` in these tickets (a page of results), in one query, by ticket id.

    Only what `user` may read is shown: a customer never gets a snippet of an internal note.
    """
    text = clean_text(text)
    ids = [ticket.id for ticket in tickets]
    if not text or not ids:
        return {}
    params: dict[str, Any] = {
        "text": text,
        "ids": ids,
        "marks": MARK_START + MARK_END,
        "subject_options": SUBJECT_OPTIONS,
        "snippet_options": SNIPPET_OPTIONS,
        "chars": SNIPPET_SOURCE_CHARS,
        "messages": SNIPPET_MESSAGES,
        "notes": not user.is_customer,
        "note": Message.Kind.NOTE.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_HIGHLIGHTS_SQL, params)
        rows = cursor.fetchall()
    hits = {}
    for ticket_id, subject, message, description, about in rows:
        hits[ticket_id] = Hit(
            subject=_html(subject) or SafeString(""),
            snippet=_html(message if message is not None else description),
            about=_html(about),
        )
    return hits


def highlight_page(*, user: User, text: str, tickets) -> list[Ticket]:
    """The page's tickets as a list, each with `search_hit` (a `Hit`, or None without a search)."""
    tickets = list(tickets)
    hits = highlights(user=user, text=text, tickets=tickets)
    for ticket in tickets:
        # Read by the list templates (tickets/_search_hit.html); not a field of the model.
        setattr(ticket, "search_hit", hits.get(ticket.id))  # noqa: B010
    return tickets
