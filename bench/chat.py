"""`chat`: 1,000 WebSocket clients on one uvicorn process, 100 chat messages a second among them.

Half the clients are visitors' widgets and half agents' consoles (signed-in sessions), one of
each per chat, every chat accepted by an agent. For a bounded run the visitors write at a
steady 100 messages a second in all, each message stamped when it is sent; the agent's socket
of the chat stamps it when it arrives. Reported: send-to-delivery p50 and p99, messages lost
(acknowledged by the server, so stored, but never delivered to the other side, and stored rows
counted against what was sent), and the server's memory per connection (its RSS once all the
sockets are open and joined, less its RSS with none, divided by the sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
import websockets
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.models import Role, User
from bench.fixtures import migrate
from bench.registry import BenchmarkError, Result, register
from chat import services
from chat.models import Chat, ChatMessage, ChatSettings
from chat.policy import Participant, sign_visitor
from queues.models import Line

HOST = "127.0.0.1"
BASE_DIR = Path(__file__).resolve().parent.parent
LINE_CODE = "bench-chat"
AGENTS = 50
GOAL_P99_MS = 100.0
START_TIMEOUT_SECONDS = 60
GRACE_QUIET_SECONDS = 20
GRACE_MAX_SECONDS = 600


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat-clients", type=int, default=1000, help="WebSocket clients (default 1000: 500 chats)")
    parser.add_argument("--chat-rate", type=float, default=100.0, help="messages a second in all (default 100)")
    parser.add_argument("--chat-duration", type=int, default=30, help="seconds of measured load (default 30)")
    parser.add_argument(
        "--chat-ws",
        default="websockets-sansio",
        choices=["websockets-sansio", "websockets", "wsproto"],
        help="uvicorn's WebSocket implementation (default websockets-sansio, what `--ws auto` picks in production)",
    )


@dataclass
class Client:
    chat: int
    token: str = ""
    cookie: str = ""
    last_seq: int = 0
    ws: object = None
    acked: dict[str, float] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)  # sent, not yet acknowledged: resent after a reconnect


@dataclass
class Tally:
    sent: dict[str, float] = field(default_factory=dict)  # client id -> send time
    acked: set[str] = field(default_factory=set)
    delivered: dict[str, float] = field(default_factory=dict)  # client id -> latency (s)
    own_copies: set[str] = field(default_factory=set)  # the sender's page got its own message
    last_progress: float = 0.0  # when the latest ack or delivery arrived
    closed: list[int | None] = field(default_factory=list)  # close codes of sockets the server ended
    stopping: bool = False
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise BenchmarkError("no VmRSS for the server process")


def _cpu_seconds(pid: int) -> float:
    """User and system time of a process so far (from /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _session_for(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # The backend that loads users (the first one is axes', which only guards logins).
    store[BACKEND_SESSION_KEY] = next(b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def prepare(chats: int) -> tuple[list[Client], list[Client], int, tuple]:
    """`chats` chats, each accepted by one of the benchmark's agents; a visitor and an agent client each.
    The open chats of an earlier run are used again (a fresh token each), and only the missing ones made."""
    line, _created = Line.objects.get_or_create(
        code=LINE_CODE, defaults={"name": "Chat benchmark", "name_ru": "Чат (замер)", "kind": Line.Kind.DEPARTMENT}
    )
    config = ChatSettings.current()
    previous = (config.line_id, config.bot_enabled, config.messages_per_minute)
    config.line, config.bot_enabled, config.messages_per_minute = line, False, 600
    config.save()
    sessions = {}
    for index in range(AGENTS):
        agent, created = User.objects.get_or_create(
            username=f"bench-chat-agent-{index}", defaults={"role": Role.AGENT, "first_name": f"Agent {index}"}
        )
        if created:
            agent.set_unusable_password()
            agent.save()
        line.memberships.get_or_create(user=agent)
        sessions[agent.pk] = (agent, _session_for(agent))
    agents = list(sessions.values())
    reused = list(
        Chat.objects.filter(line=line, status="active", agent_id__in=list(sessions)).exclude(visitor_key="")[:chats]
    )
    for index in range(len(reused), chats):
        started = services.chat_start(user=None, name=f"Visitor {index}", email=f"bench-visitor-{index}@example.com")
        who = Participant(visitor_chat=started.chat.pk, visitor_key=started.chat.visitor_key)
        services.chat_handoff(chat_id=started.chat.pk, who=who)
        agent, _session = agents[index % AGENTS]
        reused.append(services.chat_accept(chat_id=started.chat.pk, who=Participant(user=agent)))
    visitors, consoles = [], []
    for chat in reused:
        _agent, session = sessions[chat.agent_id]
        visitors.append(Client(chat=chat.pk, token=sign_visitor(chat), last_seq=chat.last_seq))
        consoles.append(
            Client(chat=chat.pk, cookie=f"{settings.SESSION_COOKIE_NAME}={session}", last_seq=chat.last_seq)
        )
    return visitors, consoles, line.pk, previous


def restore_settings(previous: tuple) -> None:
    config = ChatSettings.current()
    config.line_id, config.bot_enabled, config.messages_per_minute = previous
    config.save()


def start_server(port: int, log: Path, ws: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", HOST, "--port", str(port),
        "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--ws", ws,
        "--no-access-log", "--log-level", "warning", "--lifespan", "off",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own fixed command
            command, cwd=BASE_DIR, env={**os.environ}, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"uvicorn exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return process
        time.sleep(0.2)
    process.kill()
    raise BenchmarkError("uvicorn did not start")


async def _open(client: Client, url: str, origin: str) -> None:
    headers = {"Cookie": client.cookie} if client.cookie else {}
    client.ws = await websockets.connect(url, origin=origin, additional_headers=headers, max_queue=None,
                                         open_timeout=60, ping_interval=None)  # fmt: skip
    await client.ws.recv()  # hello
    join = {
        "type": "join",
        "chat": client.chat,
        "last_seq": client.last_seq,
        **({"token": client.token} if client.token else {}),
    }
    await client.ws.send(json.dumps(join))
    while True:
        frame = json.loads(await client.ws.recv())
        if frame["type"] == "joined":
            break
        if frame["type"] == "error":
            raise BenchmarkError(f"join refused: {frame}")


async def _keep_listening(client: Client, url: str, origin: str, tally: Tally, handle) -> None:
    """As a page does: when the server closes the socket, reconnect (after 0.5 s), rejoin with the
    last number seen and resend what was not acknowledged."""
    while True:
        with contextlib.suppress(Exception):
            async for raw in client.ws:
                handle(client, raw)
        if tally.stopping:
            return
        tally.closed.append(getattr(client.ws, "close_code", None))
        while not tally.stopping:
            await asyncio.sleep(0.5)
            try:
                await _open(client, url, origin)
                for frame in list(client.pending.values()):
                    await client.ws.send(frame)
                break
            except Exception:  # noqa: S112 - the server is still away: try again
                continue


async def drive(visitors, consoles, url, origin, rate, duration, server_pid, tag) -> dict:
    tally = Tally()
    rss_before = _rss_kb(server_pid)

    def visitor_frame(client: Client, raw) -> None:
        frame = json.loads(raw)
        if frame["type"] == "ack":
            tally.acked.add(frame["client_id"])
            client.pending.pop(frame["client_id"], None)
            tally.last_progress = time.perf_counter()
        elif frame["type"] == "message":
            tally.own_copies.add(frame["message"]["client_id"])
            client.last_seq = max(client.last_seq, frame["message"]["seq"])
        elif frame["type"] == "error":
            tally.errors.append(frame.get("code", "?"))

    def console_frame(client: Client, raw) -> None:
        arrived = time.perf_counter()
        frame = json.loads(raw)
        if frame["type"] != "message":
            return
        client.last_seq = max(client.last_seq, frame["message"]["seq"])
        client_id = frame["message"]["client_id"]
        if client_id in tally.delivered:
            tally.duplicates += 1
        elif client_id in tally.sent:
            tally.delivered[client_id] = arrived - tally.sent[client_id]
            tally.last_progress = arrived

    opened = time.perf_counter()
    # Open the sockets a batch at a time, as pages arrive, not all in one instant.
    everyone = [(c, console_frame) for c in consoles] + [(c, visitor_frame) for c in visitors]
    listeners = []
    for start in range(0, len(everyone), 50):
        batch = everyone[start : start + 50]
        await asyncio.gather(*(_open(c, url, origin) for c, _handle in batch))
        listeners += [asyncio.create_task(_keep_listening(c, url, origin, tally, h)) for c, h in batch]
    open_seconds = time.perf_counter() - opened
    await asyncio.sleep(2)
    rss_after = _rss_kb(server_pid)

    total = int(rate * duration)
    interval = 1.0 / rate
    server_cpu, client_cpu = _cpu_seconds(server_pid), _own_cpu_seconds()
    began = time.perf_counter()
    for index in range(total):
        due = began + index * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = visitors[secrets.randbelow(len(visitors))]
        client_id = f"{tag}{index}"
        tally.sent[client_id] = time.perf_counter()
        frame = json.dumps({"type": "send", "chat": client.chat, "client_id": client_id, "body": f"m{index}"})
        client.pending[client_id] = frame
        with contextlib.suppress(Exception):  # a socket the server closed: resent once it is back
            await client.ws.send(frame)
    send_seconds = time.perf_counter() - began
    # Wait for the stragglers: late is reported as late, not as lost. A message counts as lost only
    # when the server has fallen quiet (nothing acknowledged or delivered for GRACE_QUIET_SECONDS)
    # and it is still missing, or after GRACE_MAX_SECONDS.
    tally.last_progress = time.perf_counter()
    deadline = time.perf_counter() + GRACE_MAX_SECONDS
    while len(tally.delivered) < len(tally.sent) and time.perf_counter() < deadline:
        if time.perf_counter() - tally.last_progress > GRACE_QUIET_SECONDS:
            break
        await asyncio.sleep(0.1)
    deliveries_seconds = time.perf_counter() - began
    server_cpu, client_cpu = _cpu_seconds(server_pid) - server_cpu, _own_cpu_seconds() - client_cpu

    async def close(client: Client) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.ws.close(), timeout=5)

    tally.stopping = True
    await asyncio.gather(*(close(client) for client in visitors + consoles))
    for listener in listeners:
        listener.cancel()
    return {
        "tally": tally,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "open_seconds": open_seconds,
        "send_seconds": send_seconds,
        "deliveries_seconds": deliveries_seconds,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


@register("chat", title="Live chat over WebSockets", add_arguments=add_arguments)
def run(args: argparse.Namespace) -> Result:
    """1,000 WebSocket clients on one uvicorn process, 100 messages a second: latency, losses, memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.chat_clients * 2 + 512
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
    migrate()
    chats = args.chat_clients // 2
    prepared = time.perf_counter()
    visitors, consoles, line_id, previous = prepare(chats)
    prepare_seconds = time.perf_counter() - prepared
    tag = f"bench-{secrets.token_hex(4)}-"
    port = _free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-chat-uvicorn-{port}.log"  # noqa: S108
    server = start_server(port, log, args.chat_ws)
    try:
        load = os.getloadavg()
        outcome = uvloop.run(
            drive(
                visitors,
                consoles,
                f"ws://{HOST}:{port}/ws/chat/",
                f"http://{HOST}:{port}",
                args.chat_rate,
                args.chat_duration,
                server.pid,
                tag,
            )
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        restore_settings(previous)
    tally: Tally = outcome["tally"]
    stored_ids = set(
        ChatMessage.objects.filter(chat__line_id=line_id, client_id__startswith=tag).values_list("client_id", flat=True)
    )
    stored = len(stored_ids)
    # Lost: stored, yet never at the other side once the server had fallen quiet (or after
    # GRACE_MAX_SECONDS); not stored at all counts as lost too. Late is only late.
    latencies = [value * 1000 for value in tally.delivered.values()]
    if not latencies:
        raise BenchmarkError(f"no message was delivered; server log: {log}")
    lost = len(stored_ids - set(tally.delivered)) + len(set(tally.sent) - stored_ids)
    unacked = len(set(tally.sent) - tally.acked)
    own = len(set(tally.sent) & tally.own_copies)
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    within_goal = sum(1 for value in latencies if value < GOAL_P99_MS)
    per_connection_kb = (outcome["rss_after_kb"] - outcome["rss_before_kb"]) / args.chat_clients
    sent = max(1, len(tally.sent))
    met = p99 < GOAL_P99_MS and lost == 0 and unacked == 0 and stored == len(tally.sent)
    rows = [
        ["clients (sockets)", f"{args.chat_clients:,}", f"{chats} chats: a visitor's widget, an agent's console", ""],
        ["messages sent", f"{len(tally.sent):,}", f"{args.chat_rate:.0f}/s for {outcome['send_seconds']:.1f} s", ""],
        ["stored (rows)", f"{stored:,}", f"acknowledged {len(tally.acked):,}, refused {len(tally.errors)}", "= sent"],
        ["delivered to the other side", f"{len(tally.delivered):,}",
         f"duplicates {tally.duplicates}; the sender's own page got {own:,}", "= sent"],
        ["messages lost", f"{lost}", "stored but never at the other side, or never stored "
         f"(waited until nothing arrived for {GRACE_QUIET_SECONDS} s)", "0"],
        ["send to delivery, p50", f"{p50:.1f} ms", f"mean {statistics.fmean(latencies):.1f} ms", ""],
        ["send to delivery, p99", f"{p99:.1f} ms",
         f"max {max(latencies):.1f} ms; {within_goal / len(latencies):.0%} under {GOAL_P99_MS:.0f} ms",
         f"< {GOAL_P99_MS:.0f} ms"],
        ["all delivered after the first send", f"{outcome['deliveries_seconds']:.1f} s",
         f"sending took {outcome['send_seconds']:.1f} s", ""],
        ["server CPU per message", f"{outcome['server_cpu'] / sent * 1000:.1f} ms",
         f"{outcome['server_cpu']:.1f} s in all; the clients' process {outcome['client_cpu']:.1f} s", ""],
        ["server memory per connection", f"{per_connection_kb:.0f} KB",
         f"RSS {outcome['rss_before_kb'] / 1024:.0f} MB idle, {outcome['rss_after_kb'] / 1024:.0f} MB all joined",
         ""],
        ["opening every socket", f"{outcome['open_seconds']:.1f} s", "connect, hello, join (50 at a time)", ""],
        ["sockets the server closed during the run", f"{len(tally.closed)}",
         f"close codes {dict(Counter(tally.closed))}; each reconnected, rejoined and resent as a page does"
         if tally.closed else "", ""],
    ]  # fmt: skip
    return Result(
        columns=["what", "result", "detail", "goal"],
        rows=rows,
        notes=[
            f"One uvicorn process (one worker, uvloop, `--ws {args.chat_ws}`) on {HOST} serving `helpdesk.asgi` with "
            f"`{os.environ.get('DJANGO_SETTINGS_MODULE', '')}`, the Redis channel layer and PostgreSQL; the clients "
            "run in one asyncio process (the `websockets` package) on the same machine. Each message goes through "
            "`chat.services.chat_post` (a transaction that locks the chat row, numbers the message and stores it) "
            "and is broadcast through Redis after the commit; latency is measured from the visitor's send to the "
            f"agent's socket receiving it. Setting up {chats} chats through the services took "
            f"{prepare_seconds:.0f} s. Load average (1, 5, 15 min) at the start: "
            f"{', '.join(f'{value:.1f}' for value in load)} on {os.cpu_count()} cores, shared with other work.",
        ],
        summary=[f"Goal (p99 < {GOAL_P99_MS:.0f} ms, nothing lost): {'met' if met else 'MISSED'}."],
    )
