"""The client's address: REMOTE_ADDR as the server fixed it, never a forwarded header."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from helpdesk.net import client_ip, parse_trusted_proxies


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"REMOTE_ADDR": "198.51.100.7"}, "198.51.100.7"),
        ({"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}, "198.51.100.7"),
        ({"REMOTE_ADDR": "2001:db8::1", "HTTP_X_REAL_IP": "203.0.113.1"}, "2001:db8::1"),
        ({"REMOTE_ADDR": ""}, None),
        ({"REMOTE_ADDR": "not-an-address"}, None),
    ],
)
def test_client_ip_is_the_servers_remote_addr(meta, expected):
    request = RequestFactory().get("/")
    request.META.pop("REMOTE_ADDR", None)
    request.META.update(meta)
    assert client_ip(request) == expected


def test_trusted_proxies_take_addresses_and_networks():
    assert parse_trusted_proxies(["10.0.0.2", " 192.0.2.0/24 ", "", "::1"]) == ["10.0.0.2", "192.0.2.0/24", "::1"]


@pytest.mark.parametrize("value", ["*", "proxy.example.net", "10.0.0.300"])
def test_trusted_proxies_refuse_wildcards_and_names(value):
    with pytest.raises(ImproperlyConfigured, match="HELPDESK_TRUSTED_PROXIES"):
        parse_trusted_proxies(["127.0.0.1", value])
