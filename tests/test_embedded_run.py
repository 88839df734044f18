"""`make run` on a machine without servers: the embedded PostgreSQL and Redis start, the
project migrates, /healthz answers, beat schedules the heartbeat and a worker runs it,
and Ctrl-C stops everything.

CI sets DATABASE_URL / REDIS_URL for the rest of the suite; this test removes them so the
embedded path is exercised on every run and cannot rot.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own 127.0.0.1 server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(predicate, timeout: float, proc: subprocess.Popen, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the runner exited ({proc.returncode}) while waiting for {what}")
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_run_starts_embedded_servers_serves_health_runs_celery_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["HELPDESK_HEARTBEAT_SECONDS"] = "1"
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed in finally
    # A short path: PostgreSQL's socket path must stay under about 100 characters.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpdesk.embedded",
            "run",
            "--no-demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy():
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return None
            return json.loads(body) if status == 200 else None

        health = wait_for(healthy, 180, proc, "/healthz to answer 200")
        assert health["checks"] == {"postgres": "ok", "redis": "ok"}
        services = (tmp_path / "d" / "services.env").read_text()
        assert "DATABASE_URL=postgres://" in services and "REDIS_URL=redis://127.0.0.1:" in services

        # Beat schedules the heartbeat every second; only a worker running it sets the time.
        wait_for(lambda: healthy() and healthy().get("celery_heartbeat"), 60, proc, "the Celery heartbeat")

        assert get(f"http://127.0.0.1:{port}/accounts/login/")[0] == 200
        assert get(f"http://127.0.0.1:{port}/api/schema/")[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "stopping" in output
    assert not (tmp_path / "d" / "services.env").exists()
    # Nothing keeps listening on the web port once the runner has returned.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
