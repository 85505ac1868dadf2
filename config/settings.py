"""Quizfunnel settings: one file, every knob read from the environment.

The defaults are the embedded ones (`make run` on a laptop): production
behaviour (DEBUG off, a secret key generated once into `var/`) over plain HTTP
on 127.0.0.1, SQLite and an on-disk Celery broker in `var/`. `make dev` sets
DEBUG=true. Production sets DATABASE_URL, CELERY_BROKER_URL, CACHE_URL,
SECRET_KEY, ALLOWED_HOSTS and HTTPS=true.
"""

import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)


def _secret_key_from(path: Path) -> str:
    """The key kept in `path`, made once (mode 600) when there is none yet.

    The file is written aside and linked into place, so web, worker and beat
    starting together all end up with the same key.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {path} cannot be written ({error.strerror}): "
            "set SECRET_KEY in the environment."
        ) from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process was first: use its key
    finally:
        draft.unlink()
    return path.read_text().strip()


# One machine (make run) keeps its generated key in var/; several web servers
# must share one key, so production sets SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "") or _secret_key_from(VAR_DIR / "secret-key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Behind TLS (production: HTTPS=true) every cookie is Secure and HTTP is redirected.
# Off by default, so `make run` works at http://127.0.0.1:PORT on a laptop.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "template_partials",
    "nested_admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "quizzes",
    "leads",
    "tracking",
    "automations",
    "sales",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RejectUnreadableAddressMiddleware",
    # The visitor's language (?lang, Accept-Language); staff pages stay English.
    "quizzes.language.VisitorLanguageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tracking.middleware.TrackingMiddleware",
]

ROOT_URLCONF = "config.urls"

# A request's fields (query and form): the largest quiz the admin allows (30 questions of
# 10 choices, quizzes/admin.py) posts about 2,900; beyond this a request is a clear 400.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 5_000)
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]
# Form widgets render with the project's templates too (the picture input's thumbnail).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# Databases: PostgreSQL in production and CI, SQLite in var/ as the embedded default.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'quizfunnel.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer (web, worker and beat share
        # the file); IMMEDIATE takes the write lock at BEGIN, so two writers
        # queue instead of failing half-way with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # The events table's covering index is for PostgreSQL; SQLite keeps its key columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A read replica for the dashboard's reports (core.db.ReportsRouter): only reads made in
# the dashboard's views go there; without it, everything is `default`.
REPORTS_DATABASE_URL = env_str("REPORTS_DATABASE_URL", "")


if REPORTS_DATABASE_URL:
    DATABASES["reports"] = {
        **dj_database_url.parse(REPORTS_DATABASE_URL, conn_max_age=60),
        "CONN_HEALTH_CHECKS": True,
        # Under test the replica is the test database itself, as a replica would be.
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.db.ReportsRouter"]
# PgBouncer in transaction mode hands each transaction to any server connection: a
# server-side cursor (QuerySet.iterator() outside a transaction) would not survive it.
# Nothing else in the request path keeps session state (every SET is LOCAL to its
# transaction; prepared statements are off, Django's default with psycopg 3).
DISABLE_SERVER_SIDE_CURSORS = env_bool("DISABLE_SERVER_SIDE_CURSORS", False)
for _alias in DATABASES.values():
    _alias["DISABLE_SERVER_SIDE_CURSORS"] = DISABLE_SERVER_SIDE_CURSORS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages the product ships catalogues for (locale/), and a quiz may be offered in.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files browsers ask for at the site's root (/favicon.ico), served there by whitenoise.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Uploaded images: var/media by default (served by the app itself, see quizzes.urls);
# any S3-compatible storage through django-storages once MEDIA_S3_BUCKET is set.
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET", "")
if MEDIA_S3_BUCKET:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env_str("MEDIA_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("MEDIA_S3_REGION", "") or None,
            "access_key": env_str("MEDIA_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("MEDIA_S3_SECRET_ACCESS_KEY", "") or None,
            "custom_domain": env_str("MEDIA_S3_CUSTOM_DOMAIN", "") or None,
            "location": env_str("MEDIA_S3_PREFIX", "media"),
            # Images are public assets of a published quiz: plain URLs, no expiring signatures.
            "querystring_auth": False,
            "default_acl": None,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# The largest upload accepted, and the largest picture (in pixels) Pillow may decode.
QUIZ_IMAGE_MAX_BYTES = env_int("QUIZ_IMAGE_MAX_BYTES", 8 * 1024 * 1024)
QUIZ_IMAGE_MAX_PIXELS = env_int("QUIZ_IMAGE_MAX_PIXELS", 40_000_000)
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Caches: per process by default; Redis when CACHE_URL is set (shared rate limits).
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The integrator API takes an API key (Authorization: Bearer KEY), never a session, so
    # no logged-in browser can be made to call it; each view names the scope it needs.
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.HasScope"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.KeysetPagination",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_RATES": {"tracking": env_str("TRACKING_RATE", "240/min")},
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quizfunnel API",
    "DESCRIPTION": (
        "The integrator API v1: quizzes, leads, conversion events and deliveries, with an "
        "API key (admin → API keys) sent as `Authorization: Bearer KEY`. Lists are "
        "cursor-paginated: follow `next`. Errors are JSON: `{detail}` or `{field: [messages]}`. "
        "The `segment` operations are Segment's HTTP Tracking API at Segment's own paths "
        "(`/v1/track` …): a key with events:write as Basic auth's username."
    ),
    "VERSION": "1",
    # The schema and its reference are public (they hold no data); the reference's
    # scripts come from drf-spectacular-sidecar, served by whitenoise: no CDN.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "TAGS": [
        {"name": "leads", "description": "Scored leads, as the sales inbox shows them."},
        {"name": "events", "description": "Conversion events, for export."},
        {"name": "quizzes", "description": "Quiz definitions."},
        {"name": "deliveries", "description": "What the automations sent, and replay."},
        {"name": "segment", "description": "Events from other systems, as Segment sends them."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.Lead.Status",
        "QuizStatusEnum": "quizzes.models.Quiz.Status",
        "DeliveryStatusEnum": "automations.models.Delivery.Status",
    },
}
TRACKING_MAX_BODY = env_int("TRACKING_MAX_BODY", 64 * 1024)
TRACKING_MAX_BATCH = 50
# Calls from other systems (/v1/batch …) older than this many days are rejected.
TRACKING_INGEST_MAX_AGE_DAYS = env_int("TRACKING_INGEST_MAX_AGE_DAYS", 30)
# Views (quiz_viewed, question_viewed, result_viewed) commit without waiting for the
# disk flush on PostgreSQL; see tracking.plan.VIEW_COMMIT_NOTE.
TRACKING_VIEWS_ASYNC_COMMIT = env_bool("TRACKING_VIEWS_ASYNC_COMMIT", True)
# Memory each report query may use to aggregate (PostgreSQL work_mem, per query node).
TRACKING_REPORT_WORK_MEM = env_str("TRACKING_REPORT_WORK_MEM", "64MB")
if not re.fullmatch(r"[1-9][0-9]*(kB|MB|GB)", TRACKING_REPORT_WORK_MEM):
    raise ImproperlyConfigured(
        f"TRACKING_REPORT_WORK_MEM={TRACKING_REPORT_WORK_MEM!r} is not a size such as 64MB."
    )

# PostgreSQL: the events table range-partitioned by month (tracking.partitions). A new
# database is made so by its migrations; an existing one converts, online, with
# `manage.py partition_events`. A daily beat task makes the months ahead. SQLite: nothing.
TRACKING_EVENT_PARTITIONS = env_bool("TRACKING_EVENT_PARTITIONS", False)
# Months of events kept (0: forever); at least 13 (tracking.checks). A daily beat task drops
# the partitions wholly older than the first day of (this month − N months); the reports'
# rollups keep their counts (tracking.retention).
TRACKING_EVENT_RETENTION_MONTHS = env_int("TRACKING_EVENT_RETENTION_MONTHS", 0)

# Automations: HubSpot, webhooks, e-mail.
# Links in e-mails to sales; by default where `make run` listens (HOST, PORT).
_link_host = env_str("HOST", "127.0.0.1")
if _link_host in ("0.0.0.0", "::", "[::]"):  # listening everywhere: link to this machine
    _link_host = "127.0.0.1"
SITE_URL = env_str(
    "SITE_URL",
    f"{'https' if HTTPS else 'http'}://{_link_host}:{env_int('PORT', 8000)}",
).rstrip("/")
# HubSpot is connected by a marketer on the Connections page (admin); HUBSPOT_TOKEN, when
# set, overrides the token stored there (operators).
HUBSPOT_TOKEN = env_str("HUBSPOT_TOKEN", "")
HUBSPOT_BASE_URL = env_str("HUBSPOT_BASE_URL", "https://api.hubapi.com")
# The ad platforms' endpoints (automations' Meta and GA4 actions); tests point them at fakes.
META_GRAPH_BASE_URL = env_str("META_GRAPH_BASE_URL", "https://graph.facebook.com")
META_GRAPH_VERSION = env_str("META_GRAPH_VERSION", "v23.0")
GA4_BASE_URL = env_str("GA4_BASE_URL", "https://www.google-analytics.com")
# Requests per rolling 10 seconds to one HubSpot account, shared by every worker: 100 for
# Free and Starter accounts' private apps, 190 for Professional and Enterprise, 250 with
# the API limit increase. Counted in Redis (CACHE_URL redis://) or, on one machine
# without it, in a locked file in var/.
HUBSPOT_RATE_LIMIT_PER_10S = env_int("HUBSPOT_RATE_LIMIT_PER_10S", 100)
# A worker waits this long at most for a place under the limit before each call; a
# longer wait puts the delivery back in the queue, due when the place is free.
HUBSPOT_RATE_LIMIT_MAX_WAIT = float(env_str("HUBSPOT_RATE_LIMIT_MAX_WAIT", "2"))
# Contacts per batch upsert (HubSpot takes at most 100).
HUBSPOT_BATCH_SIZE = min(env_int("HUBSPOT_BATCH_SIZE", 100), 100)
# The hourly reconciliation reads back from HubSpot the contacts delivered in these days.
RECONCILE_REMOTE_DAYS = env_int("RECONCILE_REMOTE_DAYS", 30)
# Fernet keys for secrets stored in the database (the HubSpot token), comma-separated:
# the first encrypts, all decrypt (rotation: see automations/crypto.py). Empty: derived
# from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", "")
# Seconds for a whole call to HubSpot or a webhook, connect to last byte.
AUTOMATIONS_HTTP_TIMEOUT = float(env_str("AUTOMATIONS_HTTP_TIMEOUT", "10"))
AUTOMATIONS_ALLOW_PRIVATE_URLS = env_bool("AUTOMATIONS_ALLOW_PRIVATE_URLS", False)
AUTOMATIONS_BACKOFF_BASE = float(env_str("AUTOMATIONS_BACKOFF_BASE", "2"))
AUTOMATIONS_MAX_ATTEMPTS = env_int("AUTOMATIONS_MAX_ATTEMPTS", 8)
# The longest a live delivery can take: at most three calls (HubSpot's upsert, search and
# task; automations.senders.CALLS_PER_DELIVERY), each within the HTTP timeout after a
# wait for the rate limit, and a margin for its database writes. The sweeper hands a
# delivery to another worker only after AUTOMATIONS_CLAIM_TIMEOUT, so that must be
# longer: a live worker keeps its claim.
AUTOMATIONS_CALLS_PER_DELIVERY = 3
AUTOMATIONS_CLAIM_MARGIN = float(env_str("AUTOMATIONS_CLAIM_MARGIN", "5"))
AUTOMATIONS_LONGEST_DELIVERY = (
    AUTOMATIONS_CALLS_PER_DELIVERY * (AUTOMATIONS_HTTP_TIMEOUT + HUBSPOT_RATE_LIMIT_MAX_WAIT)
    + AUTOMATIONS_CLAIM_MARGIN
)
AUTOMATIONS_CLAIM_TIMEOUT = float(env_str("AUTOMATIONS_CLAIM_TIMEOUT", "120"))
if AUTOMATIONS_CLAIM_TIMEOUT < AUTOMATIONS_LONGEST_DELIVERY:
    raise ImproperlyConfigured(
        f"AUTOMATIONS_CLAIM_TIMEOUT={AUTOMATIONS_CLAIM_TIMEOUT:g} s is shorter than the longest "
        f"a delivery can take ({AUTOMATIONS_LONGEST_DELIVERY:g} s: "
        f"{AUTOMATIONS_CALLS_PER_DELIVERY} calls of AUTOMATIONS_HTTP_TIMEOUT="
        f"{AUTOMATIONS_HTTP_TIMEOUT:g} s, each after up to {HUBSPOT_RATE_LIMIT_MAX_WAIT:g} s "
        "for the rate limit, and AUTOMATIONS_CLAIM_MARGIN="
        f"{AUTOMATIONS_CLAIM_MARGIN:g} s); the sweeper would hand a delivery still being "
        "sent to a second worker."
    )
# HubSpot's search is eventually consistent: a task whose creation got no answer
# is looked for only this many seconds after the request.
AUTOMATIONS_HUBSPOT_SEARCH_SETTLE = float(env_str("AUTOMATIONS_HUBSPOT_SEARCH_SETTLE", "60"))
# Queue delivery tasks on the broker (the test suite turns it off and runs them itself).
AUTOMATIONS_QUEUE = env_bool("AUTOMATIONS_QUEUE", True)
# Printed in the terminal until an SMTP server is named (EMAIL_HOST), then sent. The
# terminal shows headers and the text part, an attachment as one line (core.mail).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "core.mail.ConsoleEmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds for each SMTP step (Django's default is to wait for ever).
EMAIL_TIMEOUT = float(env_str("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "quizfunnel@localhost")
# The visitor's PDF scorecard: A4, or Letter (US and Canada).
# auto: US Letter for a visitor whose browser names a Letter region (en-US, es-MX, fr-CA),
# A4 for everyone else (quizzes.language.paper_for); A4 or Letter: always that paper.
SCORECARD_PAPER = env_str("SCORECARD_PAPER", "auto").upper()
if SCORECARD_PAPER not in ("AUTO", "A4", "LETTER"):
    raise ImproperlyConfigured(f"SCORECARD_PAPER={SCORECARD_PAPER!r}: use auto, A4 or Letter.")

LOGIN_URL = "admin:login"
CSRF_FAILURE_VIEW = "django.views.csrf.csrf_failure"

# Celery: Redis in production, an on-disk broker in var/ by default.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's own, with each message renamed into the queue whole (core.broker).
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "store_processed": False,
        # kombu keeps its exchange tables here (in the working directory by default).
        "control_folder": str(VAR_DIR / "celery-control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "reconcile-events": {"task": "tracking.tasks.reconcile_events", "schedule": 3600.0},
    "sweep-deliveries": {
        "task": "automations.tasks.sweep_deliveries",
        "schedule": float(env_str("SWEEP_SECONDS", "15")),
    },
    "sweep-erasures": {
        "task": "automations.tasks.sweep_erasures",
        "schedule": float(env_str("SWEEP_SECONDS", "15")),
    },
}
CELERY_BEAT_SCHEDULE["event-partitions-ahead"] = {
    "task": "tracking.tasks.event_partitions_ahead",
    "schedule": 86400.0,
}
CELERY_BEAT_SCHEDULE["drop-old-events"] = {
    "task": "tracking.tasks.drop_old_events",
    "schedule": 86400.0,
}
CELERY_TIMEZONE = TIME_ZONE
# How often the worker rolls new events up for the reports (tracking.rollups), and how
# many pending events of a quiz a report adds up itself before saying it is catching up.
ROLLUP_TAIL_LIMIT = env_int("ROLLUP_TAIL_LIMIT", 50_000)
ROLLUP_SECONDS = float(env_str("ROLLUP_SECONDS", "5"))
CELERY_BEAT_SCHEDULE["flush-rollups"] = {
    "task": "tracking.tasks.flush_rollups",
    "schedule": ROLLUP_SECONDS,
}

# Lead-first quizzes: an unfinished run silent this long is recorded as `quiz_abandoned`
# (once per attempt) by the scheduler; the same window counts "runs in progress".
QUIZ_ABANDON_MINUTES = env_int("QUIZ_ABANDON_MINUTES", 30)
CELERY_BEAT_SCHEDULE["record-abandoned-runs"] = {
    "task": "tracking.tasks.record_abandoned_runs",
    "schedule": 60.0,
}

# The log says what happened: one line for an expected refusal (a 403 or 404, no
# traceback), nothing for an idle sweep (see config/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "one_line_for_refusals": {"()": "config.logging.OneLineForRefusals"},
        "quiet_housekeeping": {"()": "config.logging.QuietHousekeeping"},
    },
    # On the handler: django.request and every django.security.* logger reach it.
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["one_line_for_refusals"]}
    },
    "loggers": {
        # Django's own console handler (DEBUG only) would repeat what the root's writes.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "celery.worker.strategy": {"filters": ["quiet_housekeeping"]},
        "celery.app.trace": {"filters": ["quiet_housekeeping"]},
        # A PDF scorecard's every step and font would be some 25 lines at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
