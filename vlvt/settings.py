"""Django settings, all from the environment (see .env.example)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from vlvt.dbpool import TrackedConnection
from vlvt.env import (
    APP_ENV,
    IS_PRODUCTION,
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_str,
    missing,
    query_options,
)
from vlvt.redis import quick_retry

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY", "dev-only-secret-key-not-for-production", required_in_production=True
)
DEBUG = env_bool("DEBUG", False)
# Production must name its hosts: Host decides the admin's absolute URLs and CSRF origin checks.
ALLOWED_HOSTS = [
    h.strip()
    for h in env_str("ALLOWED_HOSTS", "" if IS_PRODUCTION else "*", required_in_production=True).split(",")
    if h.strip()
]
if IS_PRODUCTION and (not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS):
    missing("ALLOWED_HOSTS (a list of host names, not '*')")

# --- VLVT service settings (names follow the original services) -----------------------------
JWT_SECRET = env_str(
    "JWT_SECRET", "" if IS_PRODUCTION else "dev-jwt-secret-not-for-production", required_in_production=True
)
_cors = env_str("CORS_ORIGIN", "http://localhost:19006", required_in_production=True)
if IS_PRODUCTION and _cors.strip() == "*":
    missing("CORS_ORIGIN (a list of origins, not '*')")
CORS_ORIGINS = [o.strip() for o in _cors.split(",") if o.strip()]
INTERNAL_SERVICE_SECRET = (
    env_str("INTERNAL_SERVICE_SECRET")
    or env_str("REQUEST_SIGNING_SECRET")
    or ("" if IS_PRODUCTION else "vlvt-dev-signing-secret-DO-NOT-USE-IN-PRODUCTION")
)
if IS_PRODUCTION and not INTERNAL_SERVICE_SECRET:
    missing("INTERNAL_SERVICE_SECRET")
ADMIN_API_KEY = env_str("ADMIN_API_KEY") or env_str("TEST_ENDPOINTS_API_KEY")
# One trusted proxy by default, as the original (`trust proxy = 1`): the last X-Forwarded-For hop.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 1)
SHUTDOWN_TIMEOUT = env_float("SHUTDOWN_TIMEOUT", 10.0)
SHUTDOWN_DRAIN_DELAY = env_float("SHUTDOWN_DRAIN_DELAY", 0.0)
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
JSON_BODY_LIMIT = 10 * 1024
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
SOCKET_PAYLOAD_LIMIT = 64 * 1024

# --- Realtime endpoint (chat/realtime/conf.py): Engine.IO timings (the original's), presence -----
SOCKET_PING_INTERVAL_MS = env_int("SOCKET_PING_INTERVAL_MS", 25_000)
SOCKET_PING_TIMEOUT_MS = env_int("SOCKET_PING_TIMEOUT_MS", 60_000)
SOCKET_CONNECT_TIMEOUT_MS = env_int("SOCKET_CONNECT_TIMEOUT_MS", 45_000)
SOCKET_REFRESH_MS = env_int("SOCKET_REFRESH_MS", 60_000)
SOCKET_QUEUE_MAX_EVENTS = env_int("SOCKET_QUEUE_MAX_EVENTS", 1024)
SOCKET_QUEUE_MAX_BYTES = env_int("SOCKET_QUEUE_MAX_BYTES", 1024 * 1024)
SOCKET_QUEUE_FLOOD_LIMIT = env_int("SOCKET_QUEUE_FLOOD_LIMIT", 1024)
# How long a publication for sockets on other processes waits for Redis before it becomes a push
# (chat.realtime.layer); channels_redis's own message expiry, 60 s, by default.
SOCKET_UNDELIVERED_PUSH_SECONDS = env_float("SOCKET_UNDELIVERED_PUSH_SECONDS", 60.0)
PRESENCE_PROCESS_TTL_MS = env_int("PRESENCE_PROCESS_TTL_MS", 90_000)
PRESENCE_SWEEP_SECONDS = env_float("PRESENCE_SWEEP_SECONDS", 60.0)  # beat: the presence sweep

# --- After Hours timings in seconds (profiles/after_hours/conf.py), the original's values ---------
# One session "minute": durations and extensions (15/30/60), the expiry warning (2 before the end)
# and the matching margin (2 left) are counted in these.
AFTER_HOURS_MINUTE_SECONDS = env_float("AFTER_HOURS_MINUTE_SECONDS", 60)
AFTER_HOURS_MATCH_TTL_SECONDS = env_float("AFTER_HOURS_MATCH_TTL_SECONDS", 10 * 60)  # a match's life
# An unanswered match expires after this.
AFTER_HOURS_AUTO_DECLINE_SECONDS = env_float("AFTER_HOURS_AUTO_DECLINE_SECONDS", 5 * 60)
AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS = env_float("AFTER_HOURS_MATCH_DELAY_AFTER_START_SECONDS", 15)
AFTER_HOURS_MATCH_DELAY_AFTER_DECLINE_SECONDS = env_float("AFTER_HOURS_MATCH_DELAY_AFTER_DECLINE_SECONDS", 30)
AFTER_HOURS_MATCH_DELAY_AFTER_AUTO_DECLINE_SECONDS = env_float(
    "AFTER_HOURS_MATCH_DELAY_AFTER_AUTO_DECLINE_SECONDS", 5
)
AFTER_HOURS_SWEEP_SECONDS = env_float("AFTER_HOURS_SWEEP_SECONDS", 30)  # beat: the matching sweep
# Beat: close what a lost delayed job left open.
AFTER_HOURS_OVERDUE_SWEEP_SECONDS = env_float("AFTER_HOURS_OVERDUE_SWEEP_SECONDS", 60)
AFTER_HOURS_DECLINE_RETENTION_DAYS = env_float("AFTER_HOURS_DECLINE_RETENTION_DAYS", 7)

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0", required_in_production=True)
AFTER_HOURS_EVENTS_CHANNEL = env_str("AFTER_HOURS_EVENTS_CHANNEL", "after_hours:events")

# Optional integrations: each is off (with an honest local default) unless configured.
R2_ACCOUNT_ID = env_str("R2_ACCOUNT_ID")
R2_ACCESS_KEY_ID = env_str("R2_ACCESS_KEY_ID")
R2_SECRET_ACCESS_KEY = env_str("R2_SECRET_ACCESS_KEY")
R2_BUCKET_NAME = env_str("R2_BUCKET_NAME", "vlvt-images")
R2_URL_EXPIRY_SECONDS = env_int("R2_URL_EXPIRY_SECONDS", 3600)
AWS_REGION = env_str("AWS_REGION", "us-east-1")
REKOGNITION_ENABLED = env_bool("REKOGNITION_ENABLED", False)
REKOGNITION_SIMILARITY_THRESHOLD = env_float("REKOGNITION_SIMILARITY_THRESHOLD", 90.0)
FIREBASE_PROJECT_ID = env_str("FIREBASE_PROJECT_ID")
FIREBASE_CLIENT_EMAIL = env_str("FIREBASE_CLIENT_EMAIL")
FIREBASE_PRIVATE_KEY = env_str("FIREBASE_PRIVATE_KEY").replace("\\n", "\n")
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:  # every process type loads settings: web, worker and beat all report (vlvt/sentry.py)
    from vlvt.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", APP_ENV),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

# --- Django -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "profiles",
    "chat",
    "vlvt.outbox",
]

MIDDLEWARE = [
    "vlvt.http.middleware.RequestContextMiddleware",
    "vlvt.http.middleware.CsrfDoubleSubmitMiddleware",
    "vlvt.http.middleware.ApiVersionMiddleware",
    "vlvt.http.middleware.AdminOnlyStackMiddleware",  # sessions, auth, messages: /admin/ only
]
# The admin's middleware is present, behind AdminOnlyStackMiddleware.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "vlvt.urls"
# The API descriptions /openapi.json merges, in this order (each module has PATHS and SCHEMAS).
OPENAPI_DESCRIPTIONS = [
    "vlvt.http.openapi.infra",
    "profiles.openapi",
    "chat.openapi",
    "profiles.after_hours.openapi",
    "chat.after_hours.openapi",
]
# `manage.py test` runs the pytest suite (as scripts/test does), not Django's unittest discovery.
TEST_RUNNER = "vlvt.test_runner.PytestRunner"
ASGI_APPLICATION = "vlvt.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "postgres://root@127.0.0.1:5432/vlvt", required_in_production=True)
# The application name identifies this process in pg_stat_activity (the shutdown tests use it, and
# the shutdown watchdog ends this process's sessions by it). The host name keeps it unique across
# containers, where every server may be PID 1; its tail, since PostgreSQL keeps 63 characters.
DB_APPLICATION_NAME = env_str("DB_APPLICATION_NAME", f"vlvt-{os.getpid()}-{socket.gethostname()[-40:]}")
_db_pool = env_bool("DATABASE_POOL", True)
DATABASE_CONNECTION_TIMEOUT_SECONDS = env_int("DATABASE_CONNECTION_TIMEOUT_MS", 5000) / 1000
DATABASE_IDLE_TIMEOUT_SECONDS = env_int("DATABASE_IDLE_TIMEOUT_MS", 30000) / 1000
# The event loop's own pool (vlvt/database.py: socket sends run their statement from the event
# loop), beside Django's DATABASE_POOL_MAX: a process holds at most the sum.
DATABASE_LOOP_POOL_MAX = env_int("DATABASE_LOOP_POOL_MAX", 4, minimum=1)
DATABASES = {
    "default": {
        # Django's, failing fast while the pool knows PostgreSQL is unreachable (vlvt/dbpool.py).
        "ENGINE": "vlvt.postgresql",
        **database_from_url(DATABASE_URL),
        # Django requires CONN_MAX_AGE=0 with its pool; the pool keeps connections instead.
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            **query_options(DATABASE_URL),
            "application_name": DB_APPLICATION_NAME,
            # A backend whose client has gone away aborts its query (even a lock wait), so a
            # request cut off by the shutdown deadline can never commit after the process died.
            "options": "-c client_connection_check_interval=1000",
            **(
                {
                    "pool": {
                        "min_size": 0,
                        "max_size": env_int("DATABASE_POOL_MAX", 20, minimum=1),
                        "timeout": DATABASE_CONNECTION_TIMEOUT_SECONDS,
                        "max_idle": DATABASE_IDLE_TIMEOUT_SECONDS,
                        "connection_class": TrackedConnection,
                    }
                }
                if _db_pool
                else {}
            ),
        },
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", "test_vlvt")},
    }
}

if _db_pool:  # retry PostgreSQL within a quarter of a second once it is gone (vlvt/dbpool.py)
    from vlvt.dbpool import bound_reconnect_backoff

    bound_reconnect_backoff()
# While the pool's last attempt to reach PostgreSQL failed less than this long ago, a request that
# would wait for a connection gets its 503 at once (vlvt/dbpool.py; 0: always wait the timeout).
DATABASE_FAIL_FAST_SECONDS = env_int("DATABASE_FAIL_FAST_MS", 1000) / 1000
# A request that waited this long on the event loop for a request thread is answered 503 with
# Retry-After without running (vlvt/server/handlers.py): after a stall its client has likely given
# up, and serving the queue in order would keep every new request waiting behind it. 0: no bound.
REQUEST_QUEUE_TIMEOUT_MS = env_int("REQUEST_QUEUE_TIMEOUT_MS", 3000)
# "auto": each Daphne process keeps its threads on one CPU, the processes of one socket spread over
# the CPUs (vlvt/server/affinity.py); "off": the kernel places every thread.
CPU_AFFINITY = env_choice("CPU_AFFINITY", "auto", ("auto", "off"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = env_str("MEDIA_URL", "/uploads/")

# Bodies: JSON is capped at 10 KB (413 past it); uploads stream to disk past 1 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = JSON_BODY_LIMIT
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100

CSRF_COOKIE_NAME = "django-csrftoken"  # the VLVT double-submit cookie is `csrf-token`
# The admin's session and CSRF cookies travel over HTTPS only in production.
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION


CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "chat.realtime.layer.ChannelLayer",
        "CONFIG": {
            # redis-py 8 caps a pool at 100 connections and fails past it; a burst of socket
            # connects (1,000 clients reconnecting after a deploy) needs more at once.
            # redis-py 8 reads with a 5 s socket timeout by default, the same as channels_redis's
            # 5 s BZPOPMIN: an idle consumer's read then fails ("Timeout reading"). Blocking
            # reads must not time out on the client side.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "client_name": DB_APPLICATION_NAME,
                    "max_connections": 4000,
                    "socket_timeout": None,
                    "health_check_interval": 30,
                    # Fail in a fraction of a second while Redis is down (vlvt.redis.quick_retry):
                    # the layer queues what it could not publish and retries it.
                    "socket_connect_timeout": 1.0,
                    "retry": quick_retry(),
                }
            ],
            "capacity": 1000,
            "expiry": 60,
            "group_expiry": 86400,
        },
    }
}

# --- Celery (every scheduler of the original) --------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# kombu's Redis transport without a new client per published message (vlvt/server/broker.py).
CELERY_BROKER_TRANSPORT = "vlvt.server.broker:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than the longest delayed job (a session expiry is at most 60 min + extensions); a task
# whose worker died is re-delivered once this has passed. Tests shorten it.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Look for abandoned messages every few seconds (one cheap ZRANGE), not every ~100 s.
    "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 3)),
    "unacked_restore_throttle": 1,
    # A publish to a hung Redis fails within 2 s (without it, it waited for Redis forever, holding
    # its thread) and the task goes to the outbox (vlvt.outbox); the worker's blocking reads wait
    # for at most 1 s (kombu's brpop_timeout), well within it.
    "socket_timeout": 2.0,
    "socket_connect_timeout": 1.0,
}
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "celerybeat-schedule")
)
CELERY_TIMEZONE = "UTC"
# How often beat has the worker publish the tasks a process stored in the outbox (vlvt.outbox) while
# the broker was down and did not publish itself (it stopped or died first).
OUTBOX_RELAY_SWEEP_SECONDS = 10.0

LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "vlvt.logs.TextFormatter"},
        "json": {"()": "vlvt.logs.JsonFormatter"},
    },
    "filters": {"context": {"()": "vlvt.logs.ContextFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
        # The shutdown steps, at LOG_LEVEL in every process: Celery replaces the root logger's
        # handlers and level with its own (--loglevel, WARNING by default) in workers and beat.
        "vlvt.shutdown": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
    },
}

VLVT_ENV = APP_ENV
