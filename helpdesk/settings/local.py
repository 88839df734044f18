"""Development on a workstation: `make run`."""

# First: the embedded servers' addresses (`make run`, `make test`) join the environment.
from . import services_env  # noqa: F401
from .base import *  # noqa: F403
from .base import env

# `make run` shows the product as people will see it: its own error pages, not Django's
# debug pages with the URL list. DJANGO_DEBUG=true brings the debug pages back.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")
EMAIL_DELIVERY_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Serve static files straight from the apps, no collectstatic needed while developing.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A fixed key for development only; production has no default.
SECRET_ENCRYPTION_KEYS = env.list(
    "HELPDESK_SECRET_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="]
)
