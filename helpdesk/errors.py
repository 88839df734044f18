"""Domain errors raised by services and turned into HTTP answers in one place.

Services raise these; the API exception handler (helpdesk.api) and the web views map
them to 400/403/404/409 with the message shown to the user.
"""


class DomainError(Exception):
    """Bad input or a rule of the domain that the request breaks (400)."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class PermissionDenied(DomainError):
    """The caller is known but may not do this (403)."""

    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    """The object does not exist or is not visible to the caller (404)."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The object is not in a state that allows this (409), e.g. an illegal transition."""

    status_code = 409
    code = "conflict"


class TooManyRequests(DomainError):
    """Too many attempts from this client or for this account; try again later (429)."""

    status_code = 429
    code = "too_many_requests"


class Unavailable(DomainError):
    """Something the request needs is out of order for a moment (the database, the disk for
    uploads): nothing was changed, and the same request may be sent again later (503)."""

    status_code = 503
    code = "unavailable"
