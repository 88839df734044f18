"""A real deployment: no defaults for secrets, no DEBUG."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 32 characters long.")
if env.bool("DJANGO_DEBUG", default=False):
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")
DEBUG = False
if not SECRET_ENCRYPTION_KEYS:  # noqa: F405
    raise ImproperlyConfigured("HELPDESK_SECRET_ENCRYPTION_KEYS must be set in production (Fernet keys).")

# No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone. uvicorn
# takes the scheme from it only when the proxy is in HELPDESK_TRUSTED_PROXIES, and Django
# reads the scheme uvicorn fixed (see helpdesk.net).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
# A year: browsers then refuse plain HTTP for the whole period, the length that HSTS
# preload lists ask for. Lower it for a first roll-out while HTTPS is still being checked.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# No persistent connections: under ASGI every request runs in a thread of its own, so a kept
# connection is never reused and PostgreSQL soon runs out of clients (measured, see
# docs/benchmarks.md). Connections are kept per process by the pool of helpdesk.db instead
# (DATABASE_POOL_SIZE), which needs this at 0: Django's close at the end of a request hands
# the connection to the pool.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)  # noqa: F405
