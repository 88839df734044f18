"""Database connections kept per process (helpdesk.db) and the connection's start-up options."""

import threading
import time

import pytest
from django.db import connection, connections
from django.test import override_settings

from helpdesk.db import base as pooled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pool_on():
    pooled.pool.clear()
    with override_settings(DB_POOL_SIZE=2):
        yield pooled.pool
    pooled.pool.clear()


def in_thread(work):
    """Run `work` in a thread of its own, as ASGI runs each request; closes its connection after."""
    result = {}

    def run():
        try:
            result["value"] = work(connections["default"])
        finally:
            connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result.get("value")


def backend_pid(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_request_in_another_thread_gets_the_connection_the_last_one_closed(pool_on):
    first = in_thread(backend_pid)
    assert pool_on.idle_count() == 1
    assert in_thread(backend_pid) == first
    assert pool_on.idle_count() == 1


def test_without_a_pool_every_thread_opens_its_own_connection():
    pooled.pool.clear()
    with override_settings(DB_POOL_SIZE=0):
        first = in_thread(backend_pid)
        assert pooled.pool.idle_count() == 0
        assert in_thread(backend_pid) != first


def test_no_more_idle_connections_are_kept_than_the_pool_size(pool_on):
    opened = threading.Barrier(4)  # three requests and the test
    release = threading.Event()

    def hold(db):
        backend_pid(db)
        opened.wait()
        release.wait()

    threads = [threading.Thread(target=in_thread, args=(hold,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    opened.wait()
    release.set()
    for thread in threads:
        thread.join()
    assert pool_on.idle_count() == 2


def test_an_open_transaction_is_rolled_back_before_the_connection_is_kept(pool_on):
    def leave_a_transaction_open(db):
        db.ensure_connection()
        raw = db.connection
        raw.autocommit = False
        with raw.cursor() as cursor:
            cursor.execute("CREATE TABLE pool_leftover (id int)")
        return backend_pid(db)

    pid = in_thread(leave_a_transaction_open)

    def table_exists(db):
        with db.cursor() as cursor:
            cursor.execute("SELECT to_regclass('pool_leftover') IS NOT NULL, pg_backend_pid()")
            return cursor.fetchone()

    assert in_thread(table_exists) == (False, pid)


def test_a_connection_the_server_ended_is_not_handed_out_again(pool_on):
    connection.ensure_connection()  # the test's own, before the request's goes to the pool
    pid = in_thread(backend_pid)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The signal is asynchronous: wait until the backend has gone (and said so on its socket).
        for _ in range(200):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.01)
    # The next request gets a working connection of its own.
    assert in_thread(backend_pid) not in (pid, None)


def test_a_connection_closed_inside_an_atomic_block_is_not_kept(pool_on):
    def close_in_atomic(db):
        from django.db import transaction  # the thread's own connection, not the module-level proxy

        with transaction.atomic(using="default"):
            backend_pid(db)
            db.close()

    in_thread(close_in_atomic)
    assert pool_on.idle_count() == 0


def test_connections_start_in_utc_without_jit():
    """Django sends SET TIME ZONE on a connection whose time zone is not its own; the start-up
    options make that round trip unnecessary, and turn JIT compilation off."""
    connection.ensure_connection()
    assert connection.connection.info.parameter_status("TimeZone") == "UTC"
    assert connection.timezone_name == "UTC"
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
