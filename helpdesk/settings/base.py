"""Settings shared by every environment; values come from the environment.

The one place the environment is read: every tunable is a setting here (named without the
`HELPDESK_` prefix of its variable), with its default, and the code reads
`django.conf.settings.NAME`, never `os.environ` nor `getattr` with a default of its own
(docs/configuration.md).
"""

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from helpdesk.net import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

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
    # Failed logins and lockouts (web, admin and the API token endpoint), see AXES_* below.
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
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
    "reports",
    "status",
    "quality",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # What a request reads several times, read once for it (the user's lines...).
    "helpdesk.request_cache.RequestCacheMiddleware",
    "helpdesk.security.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before any view or middleware that looks text up: refuses NUL, lone surrogates, over-long values.
    "helpdesk.middleware.RequestInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The reader's time zone (User.time_zone, else the browser's): helpdesk.timezones.
    "helpdesk.timezones.TimeZoneMiddleware",
    "helpdesk.security.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
# psycopg2 with connections kept per process and handed from request to request (ASGI runs
# each request in a thread of its own, so CONN_MAX_AGE cannot reuse them): docs/architecture.md.
DATABASES["default"]["ENGINE"] = "helpdesk.db"
DB_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=8)
# Sent with the connection's start-up packet, so they cost no round trip: the session already
# runs in UTC, as Django wants with USE_TZ (otherwise it sends SET TIME ZONE on every new
# connection), and without JIT, whose compilation cost a large count two seconds for
# nothing (an OLTP workload's queries never run long enough to win it back).
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c TimeZone=UTC -c jit=off")
# Hot statements (take-next) are prepared once per connection. Turn off behind a connection
# pooler in transaction mode (PgBouncer), where a connection's prepared statements get lost.
PREPARED_STATEMENTS = env.bool("HELPDESK_PREPARED_STATEMENTS", default=True)
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
        # Redis pub/sub (helpdesk.channel_layer): a group message is one PUBLISH and reaches every
        # socket of a process at once. channels-redis's list-based layer took one message at a
        # time through four round trips for all the sockets of a process (seconds behind with
        # 1,000 sockets) and silently dropped messages over its `capacity` or past its `expiry`.
        # A subscriber that lost its connection has its sockets catch up from the database.
        # redis-py gives up reading after 5 s by default: a longer read timeout; and a pool that
        # does not refuse when many sockets of one process broadcast at once.
        "BACKEND": "helpdesk.channel_layer.ChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 1000}],
        },
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
# django-axes refuses a locked-out client before any password is checked; it needs a request,
# which the login views, the admin and the API token endpoint all pass.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, as addresses or networks
# (comma-separated; never "*"). The deployment hands the same variable to uvicorn as
# --forwarded-allow-ips; Django itself reads only REMOTE_ADDR (helpdesk.net.client_ip).
TRUSTED_PROXIES = parse_trusted_proxies(env.list("HELPDESK_TRUSTED_PROXIES", default=["127.0.0.1"]))

# Login lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is refused until the cool-off has passed since the last failure
# (each further try starts it again) or an administrator unlocks it (admin, `manage.py
# axes_reset_username`). The pair, not the username alone, so nobody can lock a person out
# from everywhere by typing their name; not the address alone, so an office behind one NAT
# is not locked out by one person's typos.
AXES_FAILURE_LIMIT = env.int("HELPDESK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HELPDESK_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "helpdesk.net.client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_RESET_ON_SUCCESS = True
# The lockout page (HTML in the reader's language) and the API's JSON answer.
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Failed attempts are kept (that is the lockout); successful logins go to the log, not a table
# that grows with every login.
AXES_DISABLE_ACCESS_LOG = True

# API tokens (accounts.ApiToken): lifetime, and how many live tokens one user may hold (the
# least recently used goes when a new one would pass the limit).
API_TOKEN_TTL_DAYS = env.int("HELPDESK_API_TOKEN_TTL_DAYS", default=30)
API_TOKENS_PER_USER = env.int("HELPDESK_API_TOKENS_PER_USER", default=20)
# How long a ticket filed under an Idempotency-Key (or the new-ticket form's token) is given back
# for the same key instead of filing another (tickets.idempotency).
IDEMPOTENCY_KEY_HOURS = env.int("HELPDESK_IDEMPOTENCY_KEY_HOURS", default=24)

# Password-reset e-mails per hour, per address asked for and per client address. Over either
# limit the page answers as always and no e-mail goes out.
PASSWORD_RESET_PER_ADDRESS_PER_HOUR = env.int("HELPDESK_PASSWORD_RESET_PER_ADDRESS_PER_HOUR", default=3)
PASSWORD_RESET_PER_IP_PER_HOUR = env.int("HELPDESK_PASSWORD_RESET_PER_IP_PER_HOUR", default=10)

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
# Every e-mail the helpdesk sends passes helpdesk.mail.StampingBackend, which marks it as the
# helpdesk's own automatic mail (Message-ID in MESSAGE_ID_DOMAIN, Auto-Submitted, X-Loop) and
# hands it to the backend EMAIL_URL chose (docs/mail.md).
EMAIL_DELIVERY_BACKEND = EMAIL_BACKEND  # noqa: F821 - set from EMAIL_CONFIG just above
EMAIL_BACKEND = "helpdesk.mail.StampingBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="support@helpdesk.localhost")
# Where people reach the helpdesk, for links in e-mails (e.g. https://support.example.net).
SITE_URL = env("HELPDESK_SITE_URL", default="http://127.0.0.1:8000")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10
# The Reply-To of the helpdesk's e-mails is <this>+<ticket number>@<DEFAULT_FROM_EMAIL's domain>:
# a reply finds its ticket by the address alone, and mail from such an address is our own.
REPLY_ADDRESS_LOCAL_PART = env("HELPDESK_REPLY_ADDRESS_LOCAL_PART", default="support")

# Inbound e-mail (mailin): the endpoint's bearer token (empty: the endpoint answers 503); larger
# messages are kept but not filed; larger raw messages are kept as files under
# MEDIA_ROOT/inbound/ rather than in the database; the domain of the Message-IDs the helpdesk
# gives its own e-mails (mail loops are recognised by it); messages fetched per mailbox and poll.
INBOUND_TOKEN = env("HELPDESK_INBOUND_TOKEN", default="")
INBOUND_MAX_BYTES = env.int("HELPDESK_INBOUND_MAX_BYTES", default=25 * 1024 * 1024)
INBOUND_INLINE_BYTES = env.int("HELPDESK_INBOUND_INLINE_BYTES", default=1024 * 1024)
# Empty: the domain of DEFAULT_FROM_EMAIL.
MESSAGE_ID_DOMAIN = (
    env("HELPDESK_MESSAGE_ID_DOMAIN", default="").strip().lower().lstrip(".")
    or parseaddr(DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].lower()
    or "localhost"
)
INBOUND_POLL_BATCH = env.int("HELPDESK_INBOUND_POLL_BATCH", default=50)
# The authentication server id (RFC 8601) of the receiving MTA whose Authentication-Results are
# believed; empty: the topmost such header, the one the last server added.
INBOUND_AUTHSERV_ID = env("HELPDESK_INBOUND_AUTHSERV_ID", default="").strip().lower()
# Automatic answers to inbound mail (the access-data reminder) per address a day: two
# helpdesks answering each other's automatic mail stop after this many.
AUTO_REPLIES_PER_ADDRESS_PER_DAY = env.int("HELPDESK_AUTO_REPLIES_PER_ADDRESS_PER_DAY", default=3)
# Hard bounces (5.x.x) after which an address is no longer mailed until staff clear it.
BOUNCES_BEFORE_SUPPRESSION = env.int("HELPDESK_BOUNCES_BEFORE_SUPPRESSION", default=3)

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
# The help centre's answering engine says "don't know" below this confidence (docs/knowledge.md).
ANSWER_THRESHOLD = env.float("HELPDESK_ANSWER_THRESHOLD", default=0.5)

# The weighted queue: a dotted path to `hook(balance_entry)` in the provider's billing.
BILLING_HOOK = env("HELPDESK_BILLING_HOOK", default="")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from hx-headers in the base template
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Scripts and styles only from our own files: no inline <script>, no on*= handlers, no style
# attributes (htmx's own indicator styles are off, see base.html). /api/docs/ is loosened in
# helpdesk.security.LOOSER_POLICIES; downloads set a stricter policy of their own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers with the request-text rules of helpdesk.middleware and a JSON depth limit.
    "DEFAULT_PARSER_CLASSES": [
        "helpdesk.parsers.JSONParser",
        "helpdesk.parsers.FormParser",
        "helpdesk.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    # drf-spectacular's, plus the error answers every operation can give.
    "DEFAULT_SCHEMA_CLASS": "helpdesk.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "10/min"},
    # The throttles key on REMOTE_ADDR as the server fixed it, never on X-Forwarded-For.
    "NUM_PROXIES": 0,
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
        "IncidentStateEnum": "status.models.IncidentState",
        "OpenIncidentStateEnum": "status.models.ACTIVE_STATE_CHOICES",
        "ChatStatusEnum": "chat.models.ChatStatus",
        "StatusEnum": "tickets.models.Status",
        "ChatRatingEnum": "chat.models.Rating",
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
# An event the drain fails on waits OUTBOX_RETRY_SECONDS, then twice as long each time (at most
# an hour); after OUTBOX_MAX_ATTEMPTS failures it is parked until retried from the admin.
OUTBOX_MAX_ATTEMPTS = env.int("HELPDESK_OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_RETRY_SECONDS = env.float("HELPDESK_OUTBOX_RETRY_SECONDS", default=10.0)
# The status (status/): how many passes share an incident's resolution over its linked tickets
# (each its own Celery task; give the worker at least as much concurrency), and how long one
# server process answers the public status page from its memory before asking Django again.
STATUS_ANSWER_PASSES = env.int("HELPDESK_STATUS_ANSWER_PASSES", default=4)
STATUS_EDGE_SECONDS = env.float("HELPDESK_STATUS_EDGE_SECONDS", default=2.0)
# How often the reports' daily rows take in what changed (reports.tasks.refresh).
REPORTS_REFRESH_SECONDS = env.float("HELPDESK_REPORTS_REFRESH_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "helpdesk.tasks.heartbeat", "schedule": HEARTBEAT_SECONDS},
    "sla-sweep": {"task": "sla.tasks.sweep", "schedule": SLA_SWEEP_SECONDS},
    "mailin-poll": {"task": "mailin.tasks.poll_mailboxes", "schedule": 60.0},
    # The reports' daily rows: only the days that changed are recomputed (today is computed live).
    "reports-refresh": {
        "task": "reports.tasks.refresh",
        "schedule": REPORTS_REFRESH_SECONDS,
        "options": {"expires": REPORTS_REFRESH_SECONDS},
    },
    # A drain queued while no worker runs is dropped after one interval: the next one does its work.
    "notifications-outbox": {
        "task": "notifications.tasks.drain_outbox",
        "schedule": NOTIFY_SECONDS,
        "options": {"expires": NOTIFY_SECONDS},
    },
    # The incidents' updates to their subscribers (status.tasks), at the same pace.
    "status-outbox": {
        "task": "status.tasks.drain_update_outbox",
        "schedule": NOTIFY_SECONDS,
        "options": {"expires": NOTIFY_SECONDS},
    },
    # An incident's pass over its linked tickets that stopped (a worker killed) starts again.
    "status-resume": {"task": "status.tasks.resume_answering", "schedule": 60.0, "options": {"expires": 60.0}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
