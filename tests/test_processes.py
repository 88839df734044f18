"""The processes a test starts reach the same database as the test, embedded or not."""

import environ
import pytest

from tests.processes import live_database_url, server_address


@pytest.mark.parametrize(
    "url",
    [
        # The embedded server of `make test`: a Unix socket directory, no TCP port.
        "postgres://postgres:@/test_helpdesk?host=%2Fwork%2F.data%2Ftest%2Fpostgres",
        "postgres://postgres@/test_helpdesk?host=%2Ftmp%2Fpg+sock&port=5433",
        # CI's server on 127.0.0.1, and one with a password that needs quoting.
        "postgres://postgres@127.0.0.1:5432/test_helpdesk",
        "postgres://app:p%40ss%3Aw%2Frd@db.internal:6432/test_hd",
    ],
)
def test_the_url_given_to_a_worker_names_the_same_server_and_database(url):
    settings_dict = environ.Env.db_url_config(url)
    parsed = environ.Env.db_url_config(live_database_url(settings_dict))
    assert server_address(parsed) == server_address(settings_dict)
    for key in ("USER", "PASSWORD", "NAME"):
        assert (parsed.get(key) or "") == (settings_dict.get(key) or ""), key


@pytest.mark.django_db
def test_the_url_of_this_run_names_the_server_the_tests_use():
    from django.db import connection

    parsed = environ.Env.db_url_config(live_database_url())
    assert server_address(parsed)[0] == (server_address(connection.settings_dict)[0] or "127.0.0.1")
    assert parsed["NAME"] == connection.settings_dict["NAME"]
