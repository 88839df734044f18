"""A task queued through Celery runs in a real worker process over Redis (not eager mode)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.tasks import ping

BASE_DIR = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def worker(settings):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_queued_task_runs_in_the_worker(worker):
    result = ping.delay()
    assert result.get(timeout=60) == "pong"
    assert worker.poll() is None
