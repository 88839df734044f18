"""The ASGI application under uvicorn, in a subprocess, for browser tests that need WebSockets.

pytest-django's `live_server` is a WSGI server: it answers pages but no WebSocket. The
fixtures here start `uvicorn helpdesk.asgi:application` (the production command, one worker)
on a free port of 127.0.0.1, pointed at this test's database and Redis, and open browser
pages on it. What a test writes must be committed to be seen by the server, so the fixture
runs with `transactional_db`, like `live_server`.

Use from a test module or a conftest.py:

    from tests.e2e.asgi_live import asgi_live_server, asgi_page  # noqa: F401

`asgi_live_server.url` is the server's address; `asgi_page(locale=...)` opens a page in a
browser context of its own (its own cookies: one person each) with that address as base URL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.conftest import TIMEOUT_MS
from tests.processes import live_database_url

BASE_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60


@dataclass
class AsgiLiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        """What the server wrote so far (for a failing test's message)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(server: AsgiLiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.process.returncode}:\n{server.output()}")
        try:
            # An http:// address of our own making.
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not answer within {START_TIMEOUT_SECONDS} s:\n{server.output()}")


@pytest.fixture
def asgi_live_server(transactional_db, tmp_path):
    """uvicorn serving helpdesk.asgi against the test database; stopped after the test."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "DATABASE_URL": live_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "helpdesk.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--log-level",
                "warning",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AsgiLiveServer(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def asgi_page(browser, asgi_live_server):
    """Open a page on the uvicorn server in a new browser context (its own cookies)."""
    contexts = []

    def open_page(*, locale: str = "en-US", viewport: dict | None = None):
        options = {"base_url": asgi_live_server.url, "locale": locale}
        if viewport:
            options["viewport"] = viewport
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
