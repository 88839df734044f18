"""Django's PostgreSQL backend (psycopg2) with database connections kept per process.

Under ASGI Django runs every request in a thread of its own, and its connections live per
thread, so `CONN_MAX_AGE` never reuses one: each request paid for a new connection (a TCP
and authentication handshake and a backend process forked by PostgreSQL, about 16 ms here).
This backend keeps the connection when Django closes it at the end of a request and hands it
to the next request of the same process, whatever thread that runs in. Django's own pool
needs psycopg 3; this one keeps the driver the rest of the code (COPY, the prepared
take-next) is written for. The measurements behind the choice are in docs/architecture.md.

What a connection carries from one request to the next is reset or harmless: an open
transaction is rolled back before the connection is kept (one in an unknown state is
closed), the time zone and role are those of the settings, and the session-level state the
code leaves behind is the prepared take-next statement, which is meant to stay.
`DATABASE_POOL_SIZE` (the `DB_POOL_SIZE` setting) idle connections are kept at most (0: none, every close closes);
past it, and when every kept one is in use, connections open and close as before, so
the pool never makes a request wait.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import psycopg2
from django.conf import settings
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base, creation
from psycopg2 import extensions

# A kept connection older than this is closed rather than handed out again, so that a
# PostgreSQL backend's caches (and a changed pg_hba or role) do not live for ever.
MAX_LIFETIME_SECONDS = 600.0


class ConnectionPool:
    """Idle psycopg2 connections of one process, per set of connection parameters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple, list[tuple[object, float]]] = {}
        # Connections a forked child inherited from its parent: they share its sockets, so the
        # child must neither use them nor close them (closing sends a Terminate message on the
        # parent's socket). Kept referenced so that collecting them never closes them either.
        self._inherited: list[object] = []

    def take(self, key: tuple) -> tuple[object, float] | None:
        """An idle connection opened with these parameters that still works, and when it was opened; or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                connection, opened = idle.pop()  # the most recently used: warmest caches
            if time.monotonic() - opened < MAX_LIFETIME_SECONDS and _alive(connection):
                return connection, opened
            _close_quietly(connection)

    def give_back(self, key: tuple, connection, opened: float, size: int) -> bool:
        """Keep `connection` for the next request if it is clean and there is room; False if not kept."""
        if size <= 0 or connection.closed or time.monotonic() - opened >= MAX_LIFETIME_SECONDS:
            return False
        status = connection.get_transaction_status()
        if status != extensions.TRANSACTION_STATUS_IDLE:
            if status not in (extensions.TRANSACTION_STATUS_INTRANS, extensions.TRANSACTION_STATUS_INERROR):
                return False  # busy or unknown: not to be trusted
            try:
                connection.rollback()
            except psycopg2.Error:
                return False
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) >= size:
                return False
            idle.append((connection, opened))
        return True

    def clear(self) -> int:
        """Close every idle connection (tests, and before dropping a database); returns how many."""
        with self._lock:
            idle = [connection for entries in self._idle.values() for connection, _opened in entries]
            self._idle.clear()
        for connection in idle:
            _close_quietly(connection)
        return len(idle)

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._idle.values())

    def forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._inherited.extend(connection for entries in self._idle.values() for connection, _opened in entries)
        self._idle.clear()


def _alive(connection) -> bool:
    """Whether the server still holds the connection, without a round trip.

    `poll()` reads whatever the server sent while the connection was idle. A connection the
    server ended (restart, pg_terminate_backend, an idle timeout) left a FATAL message, which
    the first poll reads as a notice, and then the end of the stream, which the second reads
    as an error.
    """
    if connection.closed:
        return False
    seen = len(connection.notices)
    try:
        connection.poll()
        connection.poll()
    except psycopg2.Error:
        return False
    if any(notice.startswith("FATAL") for notice in connection.notices[seen:]):
        return False
    return connection.get_transaction_status() == extensions.TRANSACTION_STATUS_IDLE


def _close_quietly(connection) -> None:
    with contextlib.suppress(psycopg2.Error):
        connection.close()


pool = ConnectionPool()
os.register_at_fork(after_in_child=pool.forget_after_fork)


class DatabaseCreation(creation.DatabaseCreation):
    """PostgreSQL refuses to drop or copy a database while anyone is connected to it: the kept
    connections go first."""

    def _destroy_test_db(self, test_database_name, verbosity):
        pool.clear()
        return super()._destroy_test_db(test_database_name, verbosity)

    def _clone_test_db(self, suffix, verbosity, keepdb=False):
        pool.clear()
        return super()._clone_test_db(suffix, verbosity, keepdb)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    _pooled_key: tuple | None = None
    _pooled_opened = 0.0

    def _pool_size(self) -> int:
        if self.alias == NO_DB_ALIAS:
            return 0
        return settings.DB_POOL_SIZE

    def get_new_connection(self, conn_params):
        self._pooled_key = None
        if self._pool_size() <= 0:
            return super().get_new_connection(conn_params)
        key = tuple(sorted((name, repr(value)) for name, value in conn_params.items()))
        kept = pool.take(key)
        if kept is None:
            connection, opened = super().get_new_connection(conn_params), time.monotonic()
        else:
            connection, opened = kept
            # What Django's get_new_connection sets before connecting; the connection keeps the rest.
            level = self.settings_dict["OPTIONS"].get("isolation_level")
            self.isolation_level = base.IsolationLevel.READ_COMMITTED if level is None else base.IsolationLevel(level)
        self._pooled_key, self._pooled_opened = key, opened
        return connection

    def _close(self):
        key, self._pooled_key = self._pooled_key, None
        # Closed inside an atomic block, Django keeps the connection object: it cannot go to another request.
        keep = self.connection is not None and key is not None and not self.in_atomic_block
        if keep and pool.give_back(key, self.connection, self._pooled_opened, self._pool_size()):
            return None
        return super()._close()
