"""More than one process: two uvicorn web processes behind a real nginx, and two Celery workers,
on one PostgreSQL and one Redis, as a deployment past one machine runs them.

Each test addresses nginx (which spreads requests over both, round robin, and names the one it
used in `X-Upstream`) and each web process directly, so that "the other process" is forced, not
left to the balancer. The stack is started once for the module (`tests.stack.two_process_stack`,
which other tests reuse for what runs across processes, such as chats between sockets)."""

import asyncio
import datetime as dt
import http.client
import json
import re
import threading
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from django.utils.html import escape

from accounts.services import api_token_issue
from accounts.tests.factories import AgentFactory, CustomerFactory
from sla.tasks import sweep
from tests.faults.helpers import SWEPT, sla_state, still_due, tickets_due
from tests.stack import HOST, NGINX, two_process_stack
from tickets.models import EventKind, Status, Ticket, TicketEvent
from tickets.tests.helpers import make_ticket

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not NGINX.exists(), reason=f"no nginx at {NGINX} (Debian's `nginx` package)"),
]
PASSWORD = "secret-password"  # accounts.tests.factories
# Two batches of the sweep: it runs long enough for the second sweep to find it running.
SWEEP_TICKETS = 250
SWEEP_DONE = re.compile(r"Task sla\.tasks\.sweep\[[^\]]+\] succeeded")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_setup, django_db_blocker):
    with two_process_stack(tmp_path_factory.mktemp("two-processes"), workers=2) as stack:
        yield stack


def request(port, method, path, *, headers=None, body=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        conn.close()


def cookies(headers) -> dict[str, str]:
    found = {}
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def log_in(port: int, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form as a browser does; the Cookie header of the session."""
    status, headers, page = request(port, "GET", "/accounts/login/")
    assert status == 200, page[:500]
    csrf = cookies(headers)["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, headers, page = request(
        port,
        "POST",
        "/accounts/login/",
        body=urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"},
    )
    assert status == 302, (status, page[:1000])
    return f"sessionid={cookies(headers)['sessionid']}; csrftoken={csrf}"


def test_a_session_made_on_one_process_is_valid_on_the_other_and_through_nginx(stack, line):
    agent = AgentFactory(username="agent-two")
    line.memberships.create(user=agent)
    one, two = stack.webs
    session = log_in(one.port, "agent-two")
    for web in (one, two):
        status, _headers, page = request(web.port, "GET", "/desk/", headers={"Cookie": session})
        assert status == 200, (web.name, status)
        assert f"{escape(agent.display_name)} · Agent" in page
    upstreams = set()
    for _ in range(6):
        status, headers, _page = request(stack.proxy.port, "GET", "/desk/", headers={"Cookie": session})
        assert status == 200
        upstreams.add(headers["X-Upstream"])
    assert upstreams == {f"{HOST}:{one.port}", f"{HOST}:{two.port}"}
    # Signed out on the second, the session is gone on the first too.
    csrf = session.split("csrftoken=")[1]
    status, _headers, _page = request(
        two.port,
        "POST",
        "/accounts/logout/",
        body=urlencode({"csrfmiddlewaretoken": csrf}),
        headers={"Cookie": session, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status in (200, 302)
    status, headers, _page = request(one.port, "GET", "/desk/", headers={"Cookie": session})
    assert status == 302 and "/accounts/login/" in headers["Location"]


def test_take_next_from_both_processes_at_once_never_gives_a_ticket_twice(stack, line, customer):
    tickets = [make_ticket(customer, subject=f"Waiting {n}") for n in range(40)]
    agents = []
    for n in range(4):
        agent = AgentFactory(username=f"taker-{n}")
        line.memberships.create(user=agent)
        agents.append(api_token_issue(user=agent, name="two")[1])
    ports = [web.port for web in stack.webs] + [stack.proxy.port]
    taken: list[tuple[str, int]] = []
    errors: list = []
    start = threading.Barrier(len(agents) * 2)

    def take(token: str, first_port: int) -> None:
        try:
            start.wait(timeout=30)
            n = ports.index(first_port)
            while True:
                status, _headers, body = request(
                    ports[n % len(ports)],
                    "POST",
                    "/api/v1/queue/take-next/",
                    body="{}",
                    headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
                )
                n += 1
                if status == 204:
                    return
                assert status == 200, (status, body[:500])
                taken.append((token, json.loads(body)["number"]))
        except BaseException as exc:  # reported below
            errors.append(exc)

    # Each agent takes from two clients at once, one on each web process (and then nginx).
    threads = [threading.Thread(target=take, args=(token, port)) for token in agents for port in ports[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    numbers = [number for _token, number in taken]
    assert len(numbers) == len(set(numbers)) == len(tickets)
    assert set(numbers) == {ticket.number for ticket in tickets}
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert ticket.status == Status.IN_PROGRESS and ticket.assignee_id is not None
        assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGN).count() == 1, ticket.number


def test_one_sla_sweep_at_a_time_across_workers_and_beats(stack, line):
    """Two sweeps sent at the same moment reach the two workers: one sweeps, the other finds the
    sweep's lock held and returns. Then two beat processes each send the sweep every second:
    every due action is still done once."""
    customer = CustomerFactory(username="due-a")
    ids = tickets_due(customer, SWEEP_TICKETS, timezone.now() - dt.timedelta(minutes=1))
    for worker in stack.workers:
        worker.log.write_text("")  # what follows in the logs is this test's

    def sweeps_done() -> int:
        return sum(len(SWEEP_DONE.findall(worker.log.read_text())) for worker in stack.workers)

    sweep.delay()
    sweep.delay()
    stack.wait_for(lambda: sweeps_done() == 2, 240, "both sweep tasks to end", every=0.5)
    logs = [worker.log.read_text() for worker in stack.workers]
    assert sum(log.count("sla sweep handled") for log in logs) == 1, logs
    assert sum(log.count("sla sweep skipped: another sweep is running") for log in logs) == 1, logs

    def all_swept() -> bool:
        # A sweep stops after its time budget; beat's next one goes on (sent here as beat would).
        if still_due(ids, timezone.now()):
            sweep.delay()
            return False
        return True

    stack.wait_for(all_swept, 240, "the sweeps to finish", every=2.0)
    assert sla_state(ids) == {ticket_id: SWEPT for ticket_id in ids}

    stack.env["HELPDESK_SLA_SWEEP_SECONDS"] = "1"
    beats = [stack.celery_beat(f"beat-{n}") for n in (1, 2)]
    for beat in beats:
        stack.wait_log(beat, "beat: Starting...")
    later = CustomerFactory(username="due-b")
    more = tickets_due(later, 100, timezone.now() - dt.timedelta(minutes=1))
    stack.wait_for(lambda: not still_due(more, timezone.now()), 240, "the beats' sweeps", every=0.5)
    # A few more ticks of both beats over the swept tickets.
    ran = sweeps_done()
    stack.wait_for(lambda: sweeps_done() >= ran + 6, 60, "more sweeps")
    for beat in beats:
        beat.stop()
    stack.env.pop("HELPDESK_SLA_SWEEP_SECONDS")
    assert sla_state(ids + more) == {ticket_id: SWEPT for ticket_id in ids + more}


def test_nothing_is_kept_in_a_process(stack, line, customer, settings):
    """What one process writes the other reads at once: a ticket filed through one is on the
    other's list; wrong passwords counted on one lock the account on the other (the lockout
    lives in the database, not in a process's memory)."""
    token = api_token_issue(user=customer, name="two")[1]
    auth = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    one, two = stack.webs
    status, _headers, body = request(
        one.port, "POST", "/api/v1/tickets/", body=json.dumps({"subject": "Seen on both", "body": "B"}), headers=auth
    )
    assert status == 201, body
    number = json.loads(body)["number"]
    status, _headers, body = request(two.port, "GET", f"/api/v1/tickets/{number}/", headers=auth)
    assert status == 200 and json.loads(body)["subject"] == "Seen on both"

    CustomerFactory(username="locked-out")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        web = stack.webs[attempt % 2]
        status, _headers, _body = request(
            web.port,
            "POST",
            "/api/v1/auth/token/",
            body=json.dumps({"username": "locked-out", "password": "wrong"}),
            headers={"Content-Type": "application/json"},
        )
        assert status in (400, 401, 403, 429), status
    for web in stack.webs:
        status, _headers, body = request(
            web.port,
            "POST",
            "/api/v1/auth/token/",
            body=json.dumps({"username": "locked-out", "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        assert status == 429, (web.name, status, body[:300])
        assert json.loads(body)["error"] == "locked_out"


async def _chat_socket(port: int, chat_id: int, *, token: str | None = None, cookie: str | None = None):
    import websockets

    socket = await websockets.connect(
        f"ws://{HOST}:{port}/ws/chat/",
        origin=f"http://{HOST}:{port}",
        additional_headers={"Cookie": cookie} if cookie else {},
        open_timeout=60,
    )
    assert json.loads(await socket.recv())["type"] == "hello"
    await socket.send(
        json.dumps({"type": "join", "chat": chat_id, "last_seq": 0, **({"token": token} if token else {})})
    )
    while (frame := json.loads(await asyncio.wait_for(socket.recv(), 60)))["type"] != "joined":
        assert frame["type"] != "error", frame
    return socket


async def _next_message(socket, client_id: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if frame["type"] == "message" and frame["message"]["client_id"] == client_id:
            return frame["message"]


def test_a_chat_between_sockets_on_different_processes(stack, line):
    """The visitor's socket is on one web process, the agent's on the other: each message is
    stored once and reaches the other side through the Redis channel layer; so does a third
    socket opened through nginx."""
    from chat import services as chat_services
    from chat.models import ChatMessage, ChatSettings
    from chat.policy import Participant, sign_visitor

    ChatSettings.objects.create(line=line, bot_enabled=False)
    agent = AgentFactory(username="chat-agent-two")
    line.memberships.create(user=agent)
    started = chat_services.chat_start(user=None, name="Visitor", email="visitor@example.com")
    visitor = Participant(visitor_chat=started.chat.pk, visitor_key=started.chat.visitor_key)
    chat_services.chat_handoff(chat_id=started.chat.pk, who=visitor)
    chat = chat_services.chat_accept(chat_id=started.chat.pk, who=Participant(user=agent))
    one, two = stack.webs
    session = log_in(two.port, "chat-agent-two")

    async def converse():
        widget = await _chat_socket(one.port, chat.pk, token=sign_visitor(chat))
        console = await _chat_socket(two.port, chat.pk, cookie=session)
        watcher = await _chat_socket(stack.proxy.port, chat.pk, cookie=session)
        try:
            send = {"type": "send", "chat": chat.pk, "client_id": "visitor-1", "body": "Hello from process one"}
            await widget.send(json.dumps(send))
            seen = await _next_message(console, "visitor-1")
            assert seen["body"] == "Hello from process one"
            assert (await _next_message(watcher, "visitor-1"))["seq"] == seen["seq"]
            send = {"type": "send", "chat": chat.pk, "client_id": "agent-1", "body": "Hello from process two"}
            await console.send(json.dumps(send))
            assert (await _next_message(widget, "agent-1"))["body"] == "Hello from process two"
        finally:
            for socket in (widget, console, watcher):
                await socket.close()

    asyncio.run(converse())
    stored = list(
        ChatMessage.objects.filter(chat=chat, client_id__in=["visitor-1", "agent-1"]).values_list(
            "client_id", flat=True
        )
    )
    assert sorted(stored) == ["agent-1", "visitor-1"]
