"""The client's address, the one way every part of the helpdesk reads it.

Forwarded headers (`X-Forwarded-For`, `X-Forwarded-Proto`) are believed in one place only:
uvicorn's proxy-headers middleware, and only when the connection comes from an address in
`HELPDESK_TRUSTED_PROXIES` (the deployment passes that setting as `--forwarded-allow-ips`).
uvicorn then writes the real client into the connection, which Django shows as
`REMOTE_ADDR`. Nothing on the Django side parses a forwarded header again: a header that a
client typed itself would otherwise reset every limit keyed on the address (login lockout,
the token throttle, password-reset and contact-form limits).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:  # settings import this module: keep it free of django.http at run time
    from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client as the server fixed it, or None where there is none.

    Accepts a Django request or anything with `META` (DRF's Request passes it through).
    """
    address = (request.META.get("REMOTE_ADDR") or "").strip()
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        # A Unix-socket peer or a test client's placeholder: no address to key limits on.
        return None


def parse_trusted_proxies(values: list[str]) -> list[str]:
    """Check `HELPDESK_TRUSTED_PROXIES`: addresses or networks, never a wildcard.

    Returns the entries unchanged (uvicorn reads the same comma-separated text).
    """
    checked = []
    for value in (item.strip() for item in values):
        if not value:
            continue
        if value == "*":
            raise ImproperlyConfigured(
                "HELPDESK_TRUSTED_PROXIES must list the proxies' addresses or networks, not '*': "
                "with '*' any client can set its own address in X-Forwarded-For."
            )
        try:
            if "/" in value:
                ipaddress.ip_network(value, strict=False)
            else:
                ipaddress.ip_address(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"HELPDESK_TRUSTED_PROXIES: {value!r} is no IP address or network.") from exc
        checked.append(value)
    return checked
