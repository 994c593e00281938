"""Yeongye settings: one module, configured only through environment variables (see .env.example)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)
_DEV_SECRET = "dev-only-insecure-secret-key-never-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("DJANGO_SECRET_KEY", default=_DEV_SECRET if DEBUG else None)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "core",
    "centers",
    "cases",
    "referral",
    "jobs",
    "stats",
    "privacy",
    "demo",
]

MIDDLEWARE = [
    # Operations (see "Operations" below): first, so the timing and the request id cover everything else.
    "core.metrics.RequestMetricsMiddleware",
    "core.requestid.RequestIdMiddleware",
    # The screen and address a service's access record names (core.http).
    "core.http.AccessContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, except that a live section's background poll is not activity (core.sessions).
    "core.sessions.SessionMiddleware",
    # An htmx request sent to the login page takes the whole page there (core.sessions).
    "core.sessions.HtmxLoginRedirectMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Outside CommonMiddleware: sees its 404s after the trailing-slash redirect was considered.
    "config.middleware.ApiNotFoundJsonMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.RejectNulBytesMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "centers.middleware.OTPRequiredMiddleware",
    # Names the request's user as the actor of permission changes (centers.permission_history).
    "centers.permission_history.PermissionActorMiddleware",
    # A user who just wrote reads the primary for a few seconds (core.replica); needs the user.
    "core.replica.ReplicaPinMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: a repeated page form is answered with one ("already sent").
    "core.idempotency.IdempotencyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "centers.context_processors.staff",
                "referral.context_processors.notifications",
                "jobs.context_processors.jobs_nav",
            ],
            # `{{ user|staff_name }}` on every page without a {% load %}.
            "builtins": ["centers.templatetags.staff"],
        },
    },
]

# --- Database: SQLite file by default, PostgreSQL through psycopg 3 with DATABASE_URL. ---
_database_url = env_str("DATABASE_URL", default="")
if _database_url:
    if not _database_url.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// or sqlite:// URL, not {_database_url.split(':')[0]}://"
        )
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / env_str("SQLITE_PATH", default="db.sqlite3")),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
        }
    }
# A read replica (PostgreSQL streaming replication): statistics, dashboards and exports read from it when it
# answers and is within REPLICA_MAX_LAG_SECONDS; everything else reads and writes the primary (core.replica).
_replica_url = env_str("DATABASE_REPLICA_URL", default="")
if _replica_url:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not _replica_url.startswith(
        ("postgres://", "postgresql://")
    ):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL, for the primary and the replica")
    DATABASES["replica"] = dj_database_url.parse(_replica_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A stopped replica costs a request at most this long before it reads the primary.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("REPLICA_CONNECT_TIMEOUT", 2)
    # Under test the alias is the primary itself (core/tests/test_replica.py starts a real replica).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 30)
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)  # a user who wrote reads the primary this long
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 5)  # how often each process measures the replica
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with the staff profile and center joined when a session's user is read.
    "centers.auth.StaffModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# JSON with `detail` for /api/, the template above for pages.
AXES_LOCKOUT_CALLABLE = "centers.middleware.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)

# Sessions live in PostgreSQL and are read through the cache (one round trip fewer a request); with Redis
# down the fail-soft cache misses and the session is read from the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # the age above is an inactivity timeout
# ...pushed on by real activity at most this often (core.sessions.SessionMiddleware): not a write per request.
SESSION_TOUCH_SECONDS = env_int("SESSION_TOUCH_SECONDS", 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
OTP_TOTP_ISSUER = "Yeongye"

# --- Internationalization: Korean first, English available, Seoul time. ---
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from npm (package.json, `npm ci`), served from 'self' (no CDN under the CSP):
# Chart.js as /static/chart.umd.min.js, htmx as /static/htmx/htmx.min.js.
STATICFILES_DIRS: list[Any] = [BASE_DIR / "static"]
if (BASE_DIR / "node_modules" / "chart.js" / "dist").is_dir():
    STATICFILES_DIRS.append(BASE_DIR / "node_modules" / "chart.js" / "dist")
if (BASE_DIR / "node_modules" / "htmx.org" / "dist").is_dir():
    STATICFILES_DIRS.append(("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic` first; tests and the demo serve files as they are.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Tests and the embedded default serve static files without running collectstatic first.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security (production defaults; DEBUG relaxes only what a local http server needs). ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Personal data encryption (RRN). Keys are urlsafe base64 of 32 bytes; the first encrypts,
# all decrypt, so a key can be rotated by prepending a new one. ---
PII_ENCRYPTION_KEYS = env_list(
    "PII_ENCRYPTION_KEYS", default=["ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="] if DEBUG else None
)
PII_HASH_KEY = env_str("PII_HASH_KEY", default="dev-only-blind-index-key" if DEBUG else None)
# The safeguard notice (§8①) asks for at least 2 years: the period may be raised, never lowered.
PII_ACCESS_LOG_MIN_RETENTION_DAYS = 730
PII_ACCESS_LOG_RETENTION_DAYS = env_int("PII_ACCESS_LOG_RETENTION_DAYS", PII_ACCESS_LOG_MIN_RETENTION_DAYS)
if PII_ACCESS_LOG_RETENTION_DAYS < PII_ACCESS_LOG_MIN_RETENTION_DAYS:
    raise ImproperlyConfigured(
        f"PII_ACCESS_LOG_RETENTION_DAYS must be {PII_ACCESS_LOG_MIN_RETENTION_DAYS} or more (safeguard notice §8①)."
    )
# --- Retention and destruction (docs/privacy.md, Act §21, Decree §16): years each record type is kept after
# the client's last closed case or the end (expiry or withdrawal) of the collection consent, whichever is
# later. A withdrawn collection consent makes everything no law requires to keep due at once.
RETENTION_YEARS = {
    "identity": env_int("RETENTION_IDENTITY_YEARS", 5),
    "rrn": env_int("RETENTION_RRN_YEARS", 3),
    "case_notes": env_int("RETENTION_CASE_NOTES_YEARS", 5),
    "needs": env_int("RETENTION_NEEDS_YEARS", 5),
    "consents": env_int("RETENTION_CONSENTS_YEARS", 5),
}
for _kind, _years in RETENTION_YEARS.items():
    if not 0 <= _years <= 50:
        raise ImproperlyConfigured(f"RETENTION_{_kind.upper()}_YEARS must be between 0 and 50.")
# Monthly access review (safeguard notice §8②): the flags' thresholds, and the day of the month by which
# the previous month must be signed off before the privacy officer is alerted.
ACCESS_REVIEW_OFFICE_HOURS = (env_int("ACCESS_REVIEW_OFFICE_START", 8), env_int("ACCESS_REVIEW_OFFICE_END", 20))
ACCESS_REVIEW_READS_FACTOR = env_int("ACCESS_REVIEW_READS_FACTOR", 3)
ACCESS_REVIEW_READS_MIN = env_int("ACCESS_REVIEW_READS_MIN", 50)
ACCESS_REVIEW_BURST_CLIENTS = env_int("ACCESS_REVIEW_BURST_CLIENTS", 20)
ACCESS_REVIEW_BURST_MINUTES = env_int("ACCESS_REVIEW_BURST_MINUTES", 60)
ACCESS_REVIEW_DUE_DAY = env_int("ACCESS_REVIEW_DUE_DAY", 10)
# The person's requests (Act §35-§37): answered within this many days of receipt; the center's managers and
# the privacy officers are alerted this many days before the due date.
PRIVACY_REQUEST_DAYS = env_int("PRIVACY_REQUEST_DAYS", 10)
PRIVACY_REQUEST_ALERT_DAYS = env_int("PRIVACY_REQUEST_ALERT_DAYS", 3)
# How long an API POST's Idempotency-Key is remembered (API.md: 24 hours).
IDEMPOTENCY_RETENTION_HOURS = env_int("IDEMPOTENCY_RETENTION_HOURS", 24)

# --- Safe job market: Work24 Open API (an organization key; without one the import is off) ---
WORK24_API_KEY = env_str("WORK24_API_KEY", default="")
WORK24_BASE_URL = env_str(
    "WORK24_BASE_URL", default="https://www.work24.go.kr/cm/openApi/call/wk/callOpenApiSvcInfo210L01.do"
)
WORK24_DETAIL_URL = env_str(
    "WORK24_DETAIL_URL", default="https://www.work24.go.kr/cm/openApi/call/wk/callOpenApiSvcInfo210D01.do"
)
WORK24_PAGES_PER_RUN = env_int("WORK24_PAGES_PER_RUN", 5)
WORK24_TIMEOUT_SECONDS = env_int("WORK24_TIMEOUT_SECONDS", 20)
# Days a received Work24 answer is kept with its posting before the nightly purge drops it.
JOBS_RAW_PAYLOAD_DAYS = env_int("JOBS_RAW_PAYLOAD_DAYS", 7)
if JOBS_RAW_PAYLOAD_DAYS < 0:
    raise ImproperlyConfigured("JOBS_RAW_PAYLOAD_DAYS must be 0 or more.")
# Largest import file accepted (bytes); larger files are refused before parsing.
JOBS_IMPORT_MAX_BYTES = env_int("JOBS_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
# The learned second stage of screening (jobs/classifier.py): trained from reviewers' decisions once there are
# this many (each of the two outcomes at least JOBS_CLASSIFIER_FOLDS times), cross-validated in that many
# stratified folds; a posting is flagged by it at this probability (in percent). Each process asks which
# model is active at most every JOBS_CLASSIFIER_CACHE_SECONDS.
JOBS_CLASSIFIER_MIN_DECISIONS = env_int("JOBS_CLASSIFIER_MIN_DECISIONS", 40)
JOBS_CLASSIFIER_FOLDS = env_int("JOBS_CLASSIFIER_FOLDS", 5)
JOBS_CLASSIFIER_THRESHOLD_PERCENT = env_int("JOBS_CLASSIFIER_THRESHOLD_PERCENT", 50)
JOBS_CLASSIFIER_CACHE_SECONDS = env_int("JOBS_CLASSIFIER_CACHE_SECONDS", 30)
if JOBS_CLASSIFIER_FOLDS < 2 or JOBS_CLASSIFIER_MIN_DECISIONS < 2 * JOBS_CLASSIFIER_FOLDS:
    raise ImproperlyConfigured("JOBS_CLASSIFIER_FOLDS must be 2 or more and JOBS_CLASSIFIER_MIN_DECISIONS twice that.")
if not 1 <= JOBS_CLASSIFIER_THRESHOLD_PERCENT <= 99:
    raise ImproperlyConfigured("JOBS_CLASSIFIER_THRESHOLD_PERCENT must be between 1 and 99.")

# --- Partner import batches: the largest file and the most rows one batch may hold. ---
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 10 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20_000)

# --- REST framework ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.TokenAuthentication",  # DRF's, with the staff profile joined
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # DRF's own classes freeze the rates at import; these read them per request (settings overrides work).
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.UserRateThrottle",
        "core.throttling.AnonRateThrottle",
        "core.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_USER", default="6000/min"),
        "anon": env_str("API_THROTTLE_ANON", default="120/min"),
        "login": env_str("API_THROTTLE_LOGIN", default="30/min"),
    },
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yeongye (연계) API",
    "DESCRIPTION": "Referral case management between employment, welfare and microfinance centers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The `….json` twins of plain paths (format_suffix_patterns) are the same operations: not listed twice.
    "PREPROCESSING_HOOKS": ["drf_spectacular.hooks.preprocess_exclude_path_format"],
    # Center kind and desk operator kind share one choice set: one enum name, no check --deploy warning.
    "ENUM_NAME_OVERRIDES": {
        "CenterKindEnum": "centers.models.CenterKind",
        "ReferralStatusEnum": "referral.models.Status",
        "CaseStatusEnum": "cases.models.CaseStatus",
        # A request of the person's decision, apart from a job-posting review's.
        "SubjectRequestDecisionEnum": "privacy.requests_models.Decision",
        "ReviewDecisionEnum": "jobs.models.Decision",
    },
    # Every operation documents the 4xx answers it can give (schemathesis checks responses against this).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.document_error_responses",
    ],
}

# --- Cache (DRF throttles only: sessions and axes lockouts are in the database). Redis when configured,
# else process memory. A Redis outage degrades to process memory, it never fails a request (core/cache.py).
_cache_url = env_str("CACHE_URL", default="")
CACHES = {
    "default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Celery: without a broker, tasks run in-process (eager). ---
_BROKER = env_str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not _BROKER
# In-process tasks publish nothing; the in-memory transport keeps kombu from looking for a broker on localhost
# (and printing so on every `make run`).
CELERY_BROKER_URL = _BROKER or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_TASK_DEFAULT_QUEUE = "routing"
CELERY_TASK_ROUTES = {
    # Partner import batches are checked by the worker that routes (the stats worker runs long rebuilds).
    "cases.tasks.validate_import_batch": {"queue": "routing"},
    "referral.tasks.*": {"queue": "routing"},
    "referral.notifications.*": {"queue": "notifications"},
    "stats.tasks.*": {"queue": "stats"},
    "cases.tasks.*": {"queue": "stats"},
    "jobs.tasks.*": {"queue": "stats"},
    "privacy.retention_tasks.*": {"queue": "stats"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish must not hang a request when Redis is down: fail fast, the sweeper re-enqueues.
# Redelivery (kombu's Redis transport): a message taken by a worker that dies (SIGKILL, OOM, power) stays
# "unacked" and is put back on its queue only once it is older than `visibility_timeout` (kombu's default:
# 1 hour). It must exceed the longest task (stats rebuilds: 660 s hard limit) and the longest retry
# countdown (routing backs off up to 60 s), or a running task would be delivered twice. Workers scan for
# such messages at start and every `unacked_restore_interval` seconds. Unrouted referrals are also
# re-enqueued by the beat sweeper after a minute, so routing never waits for the full timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = TIME_ZONE

# --- E-mail ---
# In development mail is written to files under EMAIL_FILE_PATH (one file per message), not the terminal.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="noreply@yeongye.local")

# --- Operations: logs, /healthz, /metrics (docs/operations.md). ---
# LOG_FORMAT=json: one JSON object a line (python-json-logger) for a log shipper; text for a terminal.
# Every line carries the request id (X-Request-ID or generated), in the web process and in the Celery
# tasks a request enqueued (core/requestid.py).
LOG_FORMAT = env_str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be json or text.")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.requestid.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
    # Django's own console handlers (DEBUG only, plain text) would print each line a second time.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
# The worker logs through LOGGING above too (config/celery.py takes over Celery's logging set-up).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /metrics answers scrapers from these networks, or anyone sending `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network.") from None
METRICS_TOKEN = env_str("METRICS_TOKEN", default="")
# Probes and scrapers talk plain HTTP to a node, behind the TLS-terminating proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# /healthz: how long the Celery worker heartbeat (a broadcast ping) may take.
HEALTH_CELERY_TIMEOUT_SECONDS = env_int("HEALTH_CELERY_TIMEOUT_SECONDS", 2)

if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks would log every success into the dev server's console.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
