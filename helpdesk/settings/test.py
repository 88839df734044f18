"""The test suite: `make test`."""

# First: the embedded servers' addresses (`make run`, `make test`) join the environment.
from . import services_env  # noqa: F401
from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-suite-only-not-a-secret")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES["default"]["KEY_PREFIX"] = "helpdesk-test"  # noqa: F405
# A fixed key for the tests only; production has no default.
SECRET_ENCRYPTION_KEYS = env.list(
    "HELPDESK_SECRET_ENCRYPTION_KEYS", default=["dGVzdC1zdWl0ZS1rZXktbm90LWEtc2VjcmV0LTAwMDA="]
)
# No connections kept between tests' requests by default: the pool's own tests turn it on.
DB_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=0)
