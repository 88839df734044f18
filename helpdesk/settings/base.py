"""Settings shared by every environment; values come from the environment."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# `make run` writes the addresses of the embedded servers here, so that a second
# shell (`manage.py shell`, `dbshell`) finds them without exporting anything.
SERVICES_ENV_FILE = Path(env("HELPDESK_DATA_DIR", default=str(BASE_DIR / ".data"))) / "services.env"
if SERVICES_ENV_FILE.exists():
    env.read_env(str(SERVICES_ENV_FILE), overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "helpdesk",
    "accounts",
    "queues",
    "tickets",
    "sla",
    "knowledge",
    "chat",
    "notifications",
    "mailin",
    "shifts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "helpdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.context_processors.navigation",
            ],
        },
    },
]

# PostgreSQL only: the same engine in development, tests and production.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/helpdesk")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Hot statements (take-next) are prepared once per connection. Turn off behind a connection
# pooler in transaction mode (PgBouncer), where a connection's prepared statements get lost.
HELPDESK_PREPARED_STATEMENTS = env.bool("HELPDESK_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "helpdesk",
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("HELPDESK_TIME_ZONE", default="Europe/Moscow")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / ".data" / "static")))
# Uploaded files live outside the web root and are served only through views that
# check permissions; there is deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="support@helpdesk.localhost")
# Where people reach the helpdesk, for links in e-mails (e.g. https://support.example.net).
HELPDESK_SITE_URL = env("HELPDESK_SITE_URL", default="http://127.0.0.1:8000")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10

# Tickets: attachments and encrypted access data.
ATTACHMENT_MAX_BYTES = env.int("HELPDESK_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env.int("HELPDESK_ATTACHMENT_MAX_FILES", default=5)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES * ATTACHMENT_MAX_FILES + 1_048_576
# Fernet keys, newest first: the first encrypts, all decrypt (`manage.py rotate_secret_keys`).
SECRET_ENCRYPTION_KEYS = env.list("HELPDESK_SECRET_ENCRYPTION_KEYS", default=[])

# The public feedback form: submissions per hour per IP and per address; follow-link lifetime.
CONTACT_RATE_PER_HOUR = env.int("HELPDESK_CONTACT_RATE_PER_HOUR", default=5)
FOLLOW_LINK_MAX_AGE = env.int("HELPDESK_FOLLOW_LINK_MAX_AGE", default=30 * 24 * 3600)

# The weighted queue: a dotted path to `hook(balance_entry)` in the provider's billing.
BILLING_HOOK = env("HELPDESK_BILLING_HOOK", default="")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from hx-headers in the base template
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "10/min"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "Tickets, support lines, the weighted queue, help centre and chat.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a field called "kind"; name their enums after what they are.
    "ENUM_NAME_OVERRIDES": {
        "BoostKindEnum": "queues.models.BoostKind",
        "BalanceEntryKindEnum": "queues.models.BalanceEntry.Kind",
        "MessageKindEnum": "tickets.models.Message.Kind",
        "EventKindEnum": "tickets.models.EventKind",
        "LineKindEnum": "queues.models.Line.Kind",
    },
}

# Celery: Redis is the broker and the result backend; everything it holds can be rebuilt.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
HEARTBEAT_SECONDS = env.float("HELPDESK_HEARTBEAT_SECONDS", default=30.0)
SLA_SWEEP_SECONDS = env.float("HELPDESK_SLA_SWEEP_SECONDS", default=30.0)
# How often the ticket events waiting in the outbox become e-mails (notifications.tasks.drain_outbox).
NOTIFY_SECONDS = env.float("HELPDESK_NOTIFY_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "helpdesk.tasks.heartbeat", "schedule": HEARTBEAT_SECONDS},
    "sla-sweep": {"task": "sla.tasks.sweep", "schedule": SLA_SWEEP_SECONDS},
    "mailin-poll": {"task": "mailin.tasks.poll_mailboxes", "schedule": 60.0},
    # A drain queued while no worker runs is dropped after one interval: the next one does its work.
    "notifications-outbox": {
        "task": "notifications.tasks.drain_outbox",
        "schedule": NOTIFY_SECONDS,
        "options": {"expires": NOTIFY_SECONDS},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
