"""The deployment's processes started from a test: uvicorn web processes, Celery workers and beat,
and nginx in front of the web processes, all pointed at the test's own database and Redis.

`Stack` starts and stops them and keeps their logs for the failure message. The fault tests
(tests/faults/) and the two-process test (tests/test_two_processes.py) build on it; a later
test (a chat between sockets on two web processes, say) starts the same deployment with
`two_process_stack(tmp_path)` and talks to `stack.proxy.url` or to each `stack.webs[i].url`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from tests.processes import live_database_url

BASE_DIR = Path(__file__).resolve().parents[1]
NGINX = Path("/usr/sbin/nginx")
HOST = "127.0.0.1"
# Django and Celery import the whole project in each process; a busy two-core machine is slow.
START_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a process of the deployment: this test's database, Redis and settings."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        # Connections kept per process, as in production (the test settings keep none).
        "DATABASE_POOL_SIZE": "8",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class PrivateRedis:
    """A redis-server of a test's own on a free port, without persistence: a restart empties it."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """SIGKILL: Redis gone at once, as a crash or an OOM kill leaves it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Proc:
    name: str
    process: subprocess.Popen
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no cleanup of any kind."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Stack:
    """Processes started by one test; stopped (each by its own process group) when it ends."""

    directory: Path
    procs: list[Proc] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Set by two_process_stack: the uvicorn processes, the Celery workers, nginx in front.
    webs: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    proxy: Proc | None = None

    def start(self, name: str, command: list[str], *, port: int | None = None, env: dict | None = None) -> Proc:
        log = self.directory / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env or process_env(**self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopping it reaches its children only
            )
        proc = Proc(name, process, log, port)
        self.procs.append(proc)
        return proc

    def celery_worker(self, name: str, *, pool: str = "solo", concurrency: int = 1, loglevel: str = "INFO") -> Proc:
        return self.start(
            name,
            [
                sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", pool,
                "--concurrency", str(concurrency), "--hostname", f"{name}-{os.getpid()}@%h",
                "--without-gossip", "--without-mingle", "--loglevel", loglevel,
            ],
        )  # fmt: skip

    def celery_beat(self, name: str = "beat") -> Proc:
        return self.start(
            name,
            [
                sys.executable, "-m", "celery", "-A", "helpdesk", "beat", "--loglevel", "INFO",
                "--schedule", str(self.directory / f"{name}-schedule"),
                "--pidfile", str(self.directory / f"{name}.pid"),
            ],
        )  # fmt: skip

    def web(self, name: str) -> Proc:
        """One uvicorn process serving the ASGI application (HTTP and WebSockets)."""
        port = free_port()
        proc = self.start(
            name,
            [
                sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", HOST, "--port", str(port),
                "--proxy-headers", "--forwarded-allow-ips", HOST, "--no-access-log",
            ],
            port=port,
        )  # fmt: skip
        return proc

    def nginx(self, upstreams: list[Proc], name: str = "nginx") -> Proc:
        """Debian's nginx in front of `upstreams`, run as this user from a directory of its own."""
        if not NGINX.exists():
            raise RuntimeError(f"no nginx at {NGINX}")
        root = self.directory / name
        root.mkdir()
        port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(nginx_conf(root, port, [f"{HOST}:{proc.port}" for proc in upstreams]))
        return self.start(
            name,
            [str(NGINX), "-p", str(root), "-c", str(conf), "-e", str(root / "error.log"),
             "-g", f"daemon off; pid {root / 'nginx.pid'};"],
            port=port,
            env={"PATH": os.environ.get("PATH", "")},
        )  # fmt: skip

    def logs(self) -> str:
        parts = []
        for path in sorted(self.directory.rglob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def check_alive(self, what: str) -> None:
        for proc in self.procs:
            if not proc.alive and proc.process.returncode not in (-signal.SIGKILL, -signal.SIGTERM):
                raise AssertionError(f"{proc.name} exited ({proc.process.returncode}) while {what}\n{self.logs()}")

    def wait_for(self, predicate: Callable[[], object], timeout: float, what: str, *, every: float = 0.1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive(what)
            result = predicate()
            if result:
                return result
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.logs()}")

    def wait_http(self, proc: Proc, path: str = "/healthz", timeout: float = START_TIMEOUT) -> None:
        def answers() -> bool:
            return http_status(proc.port, path) is not None

        self.wait_for(answers, timeout, f"{proc.name} to answer on {path}", every=0.3)

    def wait_log(self, proc: Proc, text: str, timeout: float = START_TIMEOUT) -> None:
        self.wait_for(lambda: text in proc.log.read_text(errors="replace"), timeout, f"{text!r} in {proc.name}'s log")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def http_status(port: int | None, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def nginx_conf(root: Path, port: int, upstreams: list[str]) -> str:
    """A reverse proxy as a deployment writes one: both upstreams, keep-alive to them, WebSocket
    upgrades passed through, the client's address forwarded; every path inside `root`."""
    servers = "\n".join(f"        server {address};" for address in upstreams)
    temp = {name: root / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    return f"""
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    client_max_body_size 60m;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    upstream helpdesk {{
{servers}
        keepalive 32;
    }}
    server {{
        listen {HOST}:{port};
        location / {{
            proxy_pass http://helpdesk;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 60s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def purge_broker() -> None:
    """Drop the tasks a previous run left in this test Redis (ready or unacknowledged), so that
    the processes started now run only this test's tasks."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")


@contextlib.contextmanager
def two_process_stack(directory: Path, *, workers: int = 2, beat: bool = False) -> Iterator[Stack]:
    """Two uvicorn web processes behind nginx and `workers` Celery workers, on the test's database
    and Redis: `stack.webs` (the uvicorn processes), `stack.proxy` (nginx), `stack.workers`."""
    stack = Stack(directory)
    try:
        purge_broker()
        stack.webs = [stack.web("web-1"), stack.web("web-2")]
        stack.workers = [stack.celery_worker(f"worker-{n}") for n in range(1, workers + 1)]
        if beat:
            stack.celery_beat()
        for proc in stack.webs:
            stack.wait_http(proc)
        stack.proxy = stack.nginx(stack.webs)
        stack.wait_http(stack.proxy)
        for proc in stack.workers:
            stack.wait_log(proc, "ready.")
        yield stack
    finally:
        stack.stop()
