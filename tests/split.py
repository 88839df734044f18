"""`python -m tests.split [pytest args]`: the whole suite as two pytest runs side by side.

`make test` runs this. The tests marked `slow` (servers, workers, a browser, fresh interpreters)
spend most of their time waiting on the processes they start, the others on the database and
the interpreter; run one after the other they take twice as long as either. Here they run at
the same time, each in a database and a Redis database of its own (the second run's names get a
suffix), so neither sees the other's rows, cache keys, channel-layer groups or Celery queue.
The `slow` run prints as it goes; the other one writes to a file and its output is printed when
it ends. The exit status is the first non-zero of the two.

With arguments (`make test PYTEST_ARGS="chat -x"`) there is nothing to split: pytest runs once
with them, as it would by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

SLOW = "slow"


def with_database_suffix(url: str, suffix: str) -> str:
    """The same server, a database of another name: `.../helpdesk` -> `.../helpdesk_b`.

    A socket URL keeps its query (`postgres://u@/db?host=/run/...`)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "helpdesk"
    return urlunsplit(parts._replace(path=f"/{name}{suffix}"))


def with_next_redis_db(url: str) -> str:
    """The same Redis server, the next database number: `redis://h:6379/1` -> `redis://h:6379/2`."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    number = int(path) if path.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{(number + 1) % 16}"))


def second_env(environ: dict[str, str]) -> dict[str, str]:
    env = dict(environ)
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = with_database_suffix(env["DATABASE_URL"], "_b")
    if env.get("REDIS_URL"):
        env["REDIS_URL"] = with_next_redis_db(env["REDIS_URL"])
    return env


def commands(python: str) -> tuple[list[str], list[str]]:
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider"]
    return [*pytest, "-m", SLOW], [*pytest, "-m", f"not {SLOW}"]


def main(argv: list[str]) -> int:
    if argv:
        return subprocess.run([sys.executable, "-m", "pytest", *argv]).returncode
    slow, fast = commands(sys.executable)
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as fast_log:
        print(f"tests.split: the tests not marked {SLOW} run beside these; their output follows", flush=True)
        fast_run = subprocess.Popen(fast, stdout=fast_log, stderr=subprocess.STDOUT, env=second_env(dict(os.environ)))
        slow_code = subprocess.run(slow).returncode
        fast_code = fast_run.wait()
        fast_log.seek(0)
        print(f"\n{'=' * 30} tests not marked {SLOW} {'=' * 30}", flush=True)
        sys.stdout.write(fast_log.read())
    minutes = (time.monotonic() - started) / 60
    print(f"tests.split: {SLOW} exit {slow_code}, the others exit {fast_code}, {minutes:.1f} min in all", flush=True)
    # pytest's 5 means "no tests collected": a filter that leaves one side empty is not a failure.
    codes = [code for code in (slow_code, fast_code) if code not in (0, 5)]
    return codes[0] if codes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
