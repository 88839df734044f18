"""What one request reads several times, read once: a store that lives for the request alone.

A page asks the same question in several places: the workspace's ticket page asks which lines
the agent belongs to to find the ticket, to know whether they may work it, for the customer's
card, for the related tickets and for the access data; each asked the database again.
`RequestCacheMiddleware` opens an empty store for each request (in a context variable, so
each request, in whatever thread ASGI runs it, has its own) and `memo` keeps an answer in it
under a key. Outside a request (tests calling a selector, Celery, commands) there is no
store and `memo` computes every time, as before.

Only answers that do not change under the request belong here. Whatever could change them
clears the store (`forget`): a line membership written or deleted does
(`queues.apps.QueuesConfig.ready`), so a request that changes one reads the new answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_store: ContextVar[dict[Hashable, object] | None] = ContextVar("helpdesk_request_cache", default=None)


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, read once per request under `key`; computed every time outside a request."""
    store = _store.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]  # type: ignore[return-value]


def forget() -> None:
    """Empty the current request's store (nothing outside a request)."""
    store = _store.get()
    if store is not None:
        store.clear()


class RequestCacheMiddleware:
    """Opens the store for the request and drops it afterwards."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _store.set({})
        try:
            return self.get_response(request)
        finally:
            _store.reset(token)
