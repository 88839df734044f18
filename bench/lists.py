"""`lists`: the ticket list pages of the control panel and the agent workspace on a loaded database.

Each page is rendered by Django in this process through `django.test.Client`, signed in
with `force_login`, with DEBUG off: the whole request (middleware, session, the list's
queries, the template) without a server or a network in front. Requests are sequential,
after a few unmeasured warm-up requests whose SQL is captured for the query count. A case
whose p95 misses the target has its slowest queries run again under
EXPLAIN (ANALYZE, BUFFERS), and the plans go into the report.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import AgentProfile, Role, User
from bench.fixtures import ensure_lines, migrate
from bench.registry import BenchmarkError, Result, register
from queues.models import LineMembership
from tickets import selectors, views_saved
from tickets import views as ticket_views
from tickets.models import SavedView, Ticket, TicketEvent

TARGET_P95_MS = 100.0
PAGE_SIZE = 20
AGENT_LINE = "first-line"
AGENT_USERNAME = "bench-agent"
MANAGER_USERNAME = "bench-manager"
# Queries of a slow case taking at least this long (median of the warm-up requests) are explained.
SLOW_QUERY_MS = 10.0
EXPLAINED_PER_CASE = 2
# A ticket row of either list: the number links to the ticket.
ROW_PATTERN = re.compile(r'<tr><td><a href="/(?:panel|desk)/tickets/\d+/">|<tr class="ws-row ')
# The view shared with the first line that the benchmark saves (tickets.models.SavedView).
SHARED_VIEW_NAME = "bench: urgent, by deadline"
SHARED_VIEW_FILTERS = {"urgency": ["critical", "high"], "open": True}


@dataclass(frozen=True)
class Case:
    name: str
    who: str  # "customer", "agent" or "manager"
    path: str
    # The `selectors.ticket_list` arguments the view derives from the query string, to count
    # the tickets the list pages through.
    filters: dict = field(default_factory=dict)
    page: int = 1
    # The workspace's views and sorts: the view's clean filters (tickets.views_saved), counted
    # with `workspace_tickets` instead; `{shared}` in the path is the saved view's id.
    view_filters: dict | None = None


CASES = (
    Case("panel: default", "customer", "/panel/tickets/"),
    Case("panel: page 5", "customer", "/panel/tickets/?page=5", page=5),
    Case("panel: search", "customer", "/panel/tickets/?q=nginx", {"search": "nginx"}),
    Case("desk agent: default (open)", "agent", "/desk/tickets/", {"open_only": True}),
    Case("desk agent: closed", "agent", "/desk/tickets/?status=closed", {"status": "closed"}),
    Case("desk agent: all, page 50", "agent", "/desk/tickets/?open=0&page=50", page=50),
    Case("desk manager: default (open)", "manager", "/desk/tickets/", {"open_only": True}),
    Case(
        "desk agent: view my open",
        "agent",
        "/desk/tickets/?view=my-open",
        view_filters={"assignee": "me", "open": True},
    ),
    Case(
        "desk agent: view breaching today",
        "agent",
        "/desk/tickets/?view=breaching-today",
        view_filters={"sla": "due_today"},
    ),
    Case(
        "desk agent: view waiting for the customer over 3 days",
        "agent",
        "/desk/tickets/?view=waiting-customer",
        view_filters={"status": ["waiting_customer"], "waiting_days": 3},
    ),
    Case(
        "desk agent: view shared with the line",
        "agent",
        "/desk/tickets/?view={shared}",
        view_filters=SHARED_VIEW_FILTERS,
    ),
    Case("desk agent: open, by urgency", "agent", "/desk/tickets/?sort=urgency", view_filters={"open": True}),
    Case("desk agent: open, by deadline", "agent", "/desk/tickets/?sort=due", view_filters={"open": True}),
    Case(
        "desk manager: view breaching today",
        "manager",
        "/desk/tickets/?view=breaching-today",
        view_filters={"sla": "due_today"},
    ),
)


@dataclass
class Measurement:
    case: Case
    user: User
    matching: int
    latencies_ms: list[float]
    queries: int
    sql_ms: float
    # (median ms over the captured requests, SQL) of every query of one request, in order.
    query_times: list[tuple[float, str]]
    explained: list[tuple[float, str, str]] = field(default_factory=list)

    def quantile(self, q: int) -> float:
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    @property
    def p95(self) -> float:
        return self.quantile(95)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=200, help="measured requests per list case (default 200)")
    parser.add_argument(
        "--min-requests",
        type=int,
        default=50,
        help="fewest measured requests of a slow list case (default 50)",
    )
    parser.add_argument(
        "--case-budget",
        type=float,
        default=60.0,
        help="seconds a list case should take: slower cases run fewer requests, down to --min-requests (default 60)",
    )
    parser.add_argument(
        "--warmup-requests",
        type=int,
        default=5,
        help="unmeasured requests per list case before measuring; their SQL is captured (default 5)",
    )
    parser.add_argument(
        "--no-explain", action="store_true", help="do not run EXPLAIN (ANALYZE, BUFFERS) on slow list queries"
    )
    parser.add_argument(
        "--only", default="", help="measure only the list cases whose names contain one of these comma-separated words"
    )


# --- who asks ------------------------------------------------------------------------------


def busiest_customer() -> User:
    """The customer with the most tickets: the longest list of the control panel."""
    row = (
        Ticket.objects.filter(customer__role=Role.CUSTOMER, customer__is_active=True)
        .values("customer_id")
        .annotate(tickets=Count("id"))
        .order_by("-tickets", "customer_id")
        .first()
    )
    if row is None:
        raise BenchmarkError("no customer has tickets: fill the database first (python -m bench load)")
    return User.objects.get(pk=row["customer_id"])


def _staff_user(username: str, role: str) -> User:
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=username, defaults={"role": role, "email": f"{username}@bench.invalid"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        elif user.role != role or not user.is_active:
            user.role = role
            user.is_active = True
            user.save(update_fields=["role", "is_active"])
        AgentProfile.objects.get_or_create(user=user, defaults={"display_name": username, "languages": ["ru", "en"]})
    return user


def first_line_agent(lines: dict) -> User:
    """An agent of the first line (the first by login), or `bench-agent` made one."""
    membership = (
        LineMembership.objects.filter(line=lines[AGENT_LINE], user__role=Role.AGENT, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    if membership is not None:
        return membership.user
    user = _staff_user(AGENT_USERNAME, Role.AGENT)
    LineMembership.objects.get_or_create(line=lines[AGENT_LINE], user=user)
    return user


def manager() -> User:
    """A manager (the first by login), or `bench-manager`."""
    user = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("username").first()
    return user if user is not None else _staff_user(MANAGER_USERNAME, Role.MANAGER)


def shared_view(lines: dict, author: User) -> SavedView:
    """The first line's shared view the benchmark measures, saved once."""
    view, _created = SavedView.objects.get_or_create(
        line=lines[AGENT_LINE],
        name=SHARED_VIEW_NAME,
        defaults={"created_by": author, "filters": SHARED_VIEW_FILTERS, "sort": "due"},
    )
    return view


# --- measuring -----------------------------------------------------------------------------


def get(client: Client, path: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.get(path)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchmarkError(f"GET {path} answered {response.status_code}, not 200")
    return elapsed_ms, response.content.decode()


def expected_rows(matching: int, page: int) -> int:
    return max(0, min(PAGE_SIZE, matching - (page - 1) * PAGE_SIZE))


def within_the_list(case: Case, matching: int) -> Case:
    """The case's page, or the last page when the list is shorter: a page past the last is a 404."""
    last = max(1, math.ceil(matching / PAGE_SIZE))
    if case.page <= last:
        return case
    return replace(case, path=case.path.replace(f"page={case.page}", f"page={last}"), page=last)


def measure(case: Case, user: User, args: argparse.Namespace) -> Measurement:
    if case.view_filters is not None:
        matching = views_saved.workspace_tickets(user=user, filters=case.view_filters).count()
    else:
        matching = selectors.ticket_list(user=user, **case.filters).count()
    case = within_the_list(case, matching)
    client = Client()
    client.force_login(user)
    try:
        captures = []
        warmup_ms = []
        for _ in range(max(1, args.warmup_requests)):
            with CaptureQueriesContext(connection) as captured:
                elapsed_ms, html = get(client, case.path)
            captures.append(captured.captured_queries)
            warmup_ms.append(elapsed_ms)
        rows = len(ROW_PATTERN.findall(html))
        if rows != expected_rows(matching, case.page):
            raise BenchmarkError(
                f"GET {case.path} as {user.username} listed {rows} tickets, expected "
                f"{expected_rows(matching, case.page)} of {matching:,}"
            )
        # The first request fills caches (templates, translations, the database's buffers).
        steady = captures[1:] or captures
        counts = {len(queries) for queries in steady}
        if len(counts) != 1:
            raise BenchmarkError(f"GET {case.path} made a varying number of queries: {sorted(counts)}")
        query_times = [
            (statistics.median(float(queries[i]["time"]) * 1000 for queries in steady), steady[-1][i]["sql"])
            for i in range(counts.pop())
        ]
        sql_ms = statistics.median(sum(float(query["time"]) * 1000 for query in queries) for queries in steady)

        typical_ms = statistics.median(warmup_ms[1:] or warmup_ms)
        requests = args.requests
        if typical_ms * requests > args.case_budget * 1000:
            requests = max(args.min_requests, int(args.case_budget * 1000 / typical_ms))
        print(
            f"  {case.name}: {matching:,} tickets, {len(query_times)} queries, ~{typical_ms:.0f} ms a request, "
            f"{requests} requests",
            flush=True,
        )
        latencies = [get(client, case.path)[0] for _ in range(requests)]
    finally:
        client.logout()
    return Measurement(case, user, matching, latencies, len(query_times), sql_ms, query_times)


def load_average() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def slow_queries(measurement: Measurement) -> list[tuple[float, str]]:
    slow = [(ms, sql) for ms, sql in measurement.query_times if ms >= SLOW_QUERY_MS]
    return sorted(slow, key=lambda item: -item[0])[:EXPLAINED_PER_CASE]


# --- reporting -----------------------------------------------------------------------------


def query_kind(sql: str) -> str:
    if sql.startswith("SELECT COUNT(*)"):
        return "the paginator's COUNT(*)"
    offset = re.search(r"LIMIT (\d+)(?: OFFSET (\d+))?$", sql)
    if offset:
        return f"the page (LIMIT {offset.group(1)} OFFSET {offset.group(2) or 0})"
    return "a query"


def plan_digest(plan: str) -> str:
    """What the plan spends its time on, in one sentence: scans of the tickets table, sorts, time."""
    parts = []
    scans = re.findall(r"((?:Parallel )?(?:Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)"
                       r"(?: Backward)?(?: using \w+)? on tickets_ticket)", plan)  # fmt: skip
    if scans:
        parts.append(", ".join(dict.fromkeys(scans)))
    removed = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan)]
    if removed:
        parts.append(f"{sum(removed):,} rows read and thrown away by the filter")
    for method in dict.fromkeys(re.findall(r"Sort Method: ([^\n]+?)\s+(?:Memory|Disk): (\d+kB)", plan)):
        parts.append(f"sort: {method[0]} ({method[1]})")
    jit = re.search(r"Timing: .*Total ([\d.]+) ms", plan)
    if jit:
        parts.append(f"JIT compilation {float(jit.group(1)):,.0f} ms")
    buffers = re.search(r"Buffers: ([^\n]+)", plan)
    if buffers:
        parts.append(f"buffers {buffers.group(1)}")
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    if execution:
        parts.append(f"executed in {float(execution.group(1)):,.1f} ms")
    return "; ".join(parts)


def user_label(measurement: Measurement, lines_of: Callable[[User], list[str]]) -> str:
    user = measurement.user
    if measurement.case.who == "customer":
        return f"{user.username} (customer)"
    if user.is_management:
        return f"{user.username} ({user.role})"
    return f"{user.username} ({', '.join(lines_of(user))})"


def verdict(measurements: list[Measurement]) -> str:
    slow = [m for m in measurements if m.p95 > TARGET_P95_MS]
    if not slow:
        return f"Every case answers under {TARGET_P95_MS:.0f} ms at p95."
    fast = [m.case.name for m in measurements if m.p95 <= TARGET_P95_MS]
    text = f"{len(slow)} of {len(measurements)} cases miss the {TARGET_P95_MS:.0f} ms p95 target: " + ", ".join(
        f"{m.case.name} ({m.p95:,.0f} ms)" for m in slow
    )
    if fast:
        text += f". Under the target: {', '.join(fast)}"
    return text + "."


def explain_sections(measurements: list[Measurement]) -> list[str]:
    parts = []
    for measurement in measurements:
        if not measurement.explained:
            continue
        lines = [
            f"**{measurement.case.name}** (`GET {measurement.case.path}`, p95 {measurement.p95:,.0f} ms, "
            f"SQL {measurement.sql_ms:,.0f} ms of the request):"
        ]
        for ms, sql, plan in measurement.explained:
            lines.append(f"- {query_kind(sql)}, {ms:,.0f} ms: {plan_digest(plan)}.")
        # The whole plan of the slowest query; the others are summed up above.
        ms, sql, plan = measurement.explained[0]
        lines.append(f"\n`EXPLAIN (ANALYZE, BUFFERS)` of {query_kind(sql)} ({ms:,.0f} ms):\n\n```\n{plan}\n```")
        parts.append("\n".join(lines))
    if parts:
        where = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", measurements_sql_example(measurements), count=1)
        parts.insert(
            0,
            "### Plans of the slow queries\n\nThe SQL is captured from the requests with "
            "`CaptureQueriesContext` and run again under `EXPLAIN (ANALYZE, BUFFERS)` (warm cache). "
            f"The list query of the agent's default view, for reference:\n\n```sql\n{where}\n```",
        )
    return parts


def measurements_sql_example(measurements: list[Measurement]) -> str:
    for measurement in measurements:
        if measurement.case.who == "agent":
            for _ms, sql in measurement.query_times:
                if "ORDER BY" in sql and "tickets_ticket" in sql:
                    return sql
    return ""


@register("lists", title="Ticket list pages on a loaded database", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """The ticket lists of /panel/tickets/ and /desk/tickets/, rendered in-process: p50/p95/p99 and queries."""
    if args.requests < 1 or args.min_requests < 1 or args.case_budget <= 0:
        raise BenchmarkError("--requests and --min-requests must be at least 1, --case-budget above 0")
    migrate()
    lines = ensure_lines()
    total = Ticket.objects.count()
    if total == 0:
        raise BenchmarkError("the database holds no tickets: fill it first (python -m bench load)")
    users = {"customer": busiest_customer(), "agent": first_line_agent(lines), "manager": manager()}
    print(f"{total:,} tickets; " + ", ".join(f"{who}: {user.username}" for who, user in users.items()), flush=True)

    load_before = load_average()
    measurements = []
    # testserver is the host django.test.Client sends; DEBUG off as in production.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        shared = shared_view(lines, users["agent"])
        wanted = [word.strip() for word in args.only.split(",") if word.strip()]
        for case in CASES:
            if wanted and not any(word in case.name for word in wanted):
                continue
            measurements.append(
                measure(replace(case, path=case.path.replace("{shared}", str(shared.pk))), users[case.who], args)
            )
    load_after = load_average()
    if not args.no_explain:
        for measurement in measurements:
            if measurement.p95 > TARGET_P95_MS:
                for ms, sql in slow_queries(measurement):
                    print(f"  EXPLAIN {measurement.case.name}: {query_kind(sql)} ({ms:.0f} ms)", flush=True)
                    measurement.explained.append((ms, sql, explain(sql)))

    def lines_of(user: User) -> list[str]:
        memberships = LineMembership.objects.filter(user=user).order_by("line__position")
        return list(memberships.values_list("line__code", flat=True))

    lookahead = getattr(ticket_views, "LOOKAHEAD_PAGES", None)
    customer_tickets = Ticket.objects.filter(customer=users["customer"]).count()
    events = TicketEvent.objects.count()
    agent_events = TicketEvent.objects.filter(actor=users["agent"]).count()
    conn_max_age = connection.settings_dict.get("CONN_MAX_AGE", 0)
    notes = [
        f"{total:,} tickets in the database. Each page is rendered in-process by `django.test.Client` "
        f"(signed in with `force_login`, settings `{settings.SETTINGS_MODULE}` with DEBUG off), "
        f"requests one after another: {args.warmup_requests} unmeasured warm-up requests per case, then "
        f"{args.requests} measured ones, fewer (at least {args.min_requests}) when a case would take "
        f"more than {args.case_budget:.0f} s. The time covers the whole request — middleware, session and "
        "user lookups, the list's queries, the template — without an HTTP server in front. "
        f"`DATABASE_CONN_MAX_AGE={conn_max_age}`"
        + (": every request opens its own database connection, as in production." if not conn_max_age else "."),
        "The lists count the matching tickets only up to "
        + (f"{lookahead} pages" if lookahead else "some pages")
        + " past the page shown, so a list of hundreds of thousands of tickets never counts them all; "
        '"tickets listed" below is the benchmark\'s own exact count.',
        f"Who asks: the customer with the most tickets ({users['customer'].username}, {customer_tickets:,} "
        f"tickets); an agent of the `{AGENT_LINE}` line ({users['agent'].username}); a manager, who sees every "
        f"ticket ({users['manager'].username}). The query count and the SQL time are those of the warm-up "
        'requests (captured with `CaptureQueriesContext`, median of all but the first); "slowest query" is '
        f"the slowest of them. The target: both list pages under {TARGET_P95_MS:.0f} ms at p95.",
        f"The database holds {events:,} ticket events, {agent_events:,} of them by the agent: an agent also sees "
        "the tickets they worked on, found through their ticket events, so that part of the list costs more as "
        "the agent's events grow. "
        f"Load average of the machine before and after: {load_before} and {load_after}; other processes "
        "sharing the cores show up in the tail latencies.",
    ]
    columns = (
        "case", "request", "user", "tickets listed", "requests", "p50 ms", "p95 ms", "p99 ms",
        "queries", "SQL ms", "slowest query ms", f"p95 ≤ {TARGET_P95_MS:.0f} ms",
    )  # fmt: skip
    rows = [
        (
            m.case.name,
            f"`GET {m.case.path}`",
            user_label(m, lines_of),
            f"{m.matching:,}",
            len(m.latencies_ms),
            f"{m.quantile(50):,.1f}",
            f"{m.p95:,.1f}",
            f"{m.quantile(99):,.1f}",
            m.queries,
            f"{m.sql_ms:,.0f}",
            f"{max(ms for ms, _sql in m.query_times):,.0f}",
            "yes" if m.p95 <= TARGET_P95_MS else "**no**",
        )
        for m in measurements
    ]
    summary = [verdict(measurements), *explain_sections(measurements)]
    return Result(columns=columns, rows=rows, notes=notes, summary=summary)
