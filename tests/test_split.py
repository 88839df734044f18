"""The suite's two side-by-side runs never share a database or a Redis database."""

from tests.split import commands, second_env, with_database_suffix, with_next_redis_db


def test_the_second_run_gets_a_database_of_its_own_on_the_same_server():
    assert with_database_suffix("postgres://postgres@127.0.0.1:5432/helpdesk", "_b") == (
        "postgres://postgres@127.0.0.1:5432/helpdesk_b"
    )
    socket = "postgres://postgres:@/helpdesk?host=%2Ftmp%2Fpg"
    assert with_database_suffix(socket, "_b") == "postgres://postgres:@/helpdesk_b?host=%2Ftmp%2Fpg"


def test_the_second_run_gets_the_next_redis_database():
    assert with_next_redis_db("redis://127.0.0.1:6379/1") == "redis://127.0.0.1:6379/2"
    assert with_next_redis_db("redis://127.0.0.1:41234/0") == "redis://127.0.0.1:41234/1"
    assert with_next_redis_db("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379/1"


def test_only_the_service_addresses_change():
    env = {"DATABASE_URL": "postgres://p@h/db", "REDIS_URL": "redis://h:1/3", "PATH": "/bin"}
    assert second_env(env) == {"DATABASE_URL": "postgres://p@h/db_b", "REDIS_URL": "redis://h:1/4", "PATH": "/bin"}
    assert second_env({"PATH": "/bin"}) == {"PATH": "/bin"}


def test_the_two_runs_split_the_suite_by_the_slow_marker():
    slow, rest = commands("python")
    assert slow[-2:] == ["-m", "slow"]
    assert rest[-2:] == ["-m", "not slow"]
