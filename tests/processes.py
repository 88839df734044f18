"""Starting the project's own processes (Celery worker and beat) from a test, pointed at the
database and Redis that the test itself uses, whichever they are: the embedded servers of
`make test` (PostgreSQL on a Unix socket, Redis on a random port) or CI's servers."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.db import connection


def server_address(settings_dict: dict) -> tuple[str, str]:
    """(host, port) of a database's settings, wherever django-environ put them: a socket
    directory given as `?host=` lands in OPTIONS, with HOST left empty."""
    options = settings_dict.get("OPTIONS") or {}
    host = settings_dict.get("HOST") or options.get("host") or ""
    port = settings_dict.get("PORT") or options.get("port") or ""
    return str(host), str(port)


def live_database_url(settings_dict: dict | None = None) -> str:
    """The URL of the database this test runs in, for the processes it starts.

    The embedded PostgreSQL listens on a Unix socket only: its host is a directory, which
    travels as `?host=` (the form `helpdesk.embedded` writes), never as a TCP address.
    """
    db = settings_dict or connection.settings_dict
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host, port = server_address(db)
    name = quote(db["NAME"], safe="")
    if host.startswith("/"):
        query = {"host": host, **({"port": port} if port else {})}
        return f"postgres://{credentials}@/{name}?{urlencode(query)}"
    return f"postgres://{credentials}@{host or '127.0.0.1'}:{port or 5432}/{name}"
