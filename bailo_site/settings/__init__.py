"""Settings for Bailo in Python.

With no environment variables the app runs embedded: SQLite, blobs on local disk, Celery tasks run
eagerly in the web process. Setting the stack variables (``DATABASE_URL``, ``REDIS_URL``,
``S3_*``, ``REGISTRY_*``, ``CLAMD_*``) switches the same code to PostgreSQL, Redis, S3, the Docker
registry and ClamAV. ``docs/administration/app-configuration.md`` lists every variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from bailo_site.settings.env import database_from_url, load_env
from core.federation.config import parse_peers, parse_state

# Lets ``admin.ModelAdmin[Model]`` and other generic annotations work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
env = load_env(BASE_DIR)

DEBUG = env.boolean("DEBUG", True)
_DEV_SECRET = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env.string("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must not be the development key when DEBUG is off")

_LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env.strings(
    "ALLOWED_HOSTS", [*_LOCAL_HOSTS, "testserver"] if DEBUG else _LOCAL_HOSTS
)
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS", [])
# The public address of this app, used in e-mails, docker commands and the registry token realm.
BAILO_PUBLIC_URL = env.string("BAILO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Whether an administrator set it; if not, pages show the address the browser used.
BAILO_PUBLIC_URL_SET = env.raw("BAILO_PUBLIC_URL") is not None

# --- Authentication -----------------------------------------------------------------------------
# "password": Django sign-in and personal access tokens. "dev": as Bailo's development connector,
# API requests without credentials act as the administrator "user". Never allowed without DEBUG.
BAILO_AUTH_MODE = env.string("BAILO_AUTH_MODE", "password")
if BAILO_AUTH_MODE not in {"password", "dev"}:
    raise ImproperlyConfigured(
        f"BAILO_AUTH_MODE must be 'password' or 'dev', got {BAILO_AUTH_MODE!r}"
    )
if BAILO_AUTH_MODE == "dev" and not DEBUG:
    raise ImproperlyConfigured("BAILO_AUTH_MODE=dev is refused when DEBUG is off")
BAILO_DEV_USER = "user"
BAILO_ADMIN_GROUP = env.string("BAILO_ADMIN_GROUP", "admin")

OIDC_RP_CLIENT_ID = env.string("OIDC_RP_CLIENT_ID")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)

INSTALLED_APPS = [
    "core.admin_site.BailoAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "core.apps.CoreConfig",
    "models_app",
    "releases",
    "reviews",
    "access",
    "webhooks",
    "inference",
    "mirroring",
    "deletion",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.EarlyRefusalMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the user read in the session's own query.
    "core.sessions.SessionUserMiddleware",
    # After authentication, so its error page shows who is signed in; its form check runs before
    # any view (and before the CSRF check reads the form in process_view).
    "core.middleware.BadInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.SignInThrottleMiddleware",
]

if not DEBUG:
    # runserver serves static files in development; WhiteNoise does it in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

# Sessions live in the database with the user they signed in (core.sessions): one query a
# request reads both, and signing out deletes the row.
SESSION_ENGINE = "core.sessions"

# Password sign-in checks the failed-attempt lockout before hashing anything (core/backends.py).
AUTHENTICATION_BACKENDS = ["core.backends.AdminGroupBackend"]
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(0, "core.oidc.BailoOIDCBackend")
    OIDC_RP_CLIENT_SECRET = env.string("OIDC_RP_CLIENT_SECRET")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env.string("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env.string("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env.string("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env.string("OIDC_OP_JWKS_ENDPOINT")
    OIDC_RP_SIGN_ALGO = env.string("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = env.string("OIDC_RP_SCOPES", "openid email profile")
    OIDC_GROUPS_CLAIM = env.string("OIDC_GROUPS_CLAIM", "groups")
    OIDC_USERNAME_CLAIM = env.string("OIDC_USERNAME_CLAIM", "preferred_username")
    # The provider's issuer identifier; when set, ID tokens naming another issuer are refused (a
    # provider that serves several tenants may sign all their tokens with the same keys).
    OIDC_OP_ISSUER = env.string("OIDC_OP_ISSUER")
    # PKCE binds the code to the browser that asked for it; providers that do not know it ignore
    # the extra parameters, so it is on unless a provider is known to choke on them.
    OIDC_USE_PKCE = env.boolean("OIDC_USE_PKCE", True)
    # Every call to the provider (token, userinfo, JWKS) gives up after this long, so a hung
    # provider cannot hold a web worker (the library waits for ever by default).
    OIDC_TIMEOUT = env.duration("OIDC_TIMEOUT", timedelta(seconds=10)).total_seconds()
    # Refused callbacks answer a page saying why (core/oidc.py), never a silent redirect.
    OIDC_CALLBACK_CLASS = "core.oidc.BailoOIDCCallbackView"
    _missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
        )
        if not env.string(name)
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"OIDC_RP_CLIENT_ID is set but these are not: {', '.join(_missing)}"
        )
    if OIDC_TIMEOUT <= 0:
        raise ImproperlyConfigured("OIDC_TIMEOUT must be longer than 0 seconds")
    if OIDC_RP_SIGN_ALGO.startswith("RS") and not OIDC_OP_JWKS_ENDPOINT:
        raise ImproperlyConfigured("OIDC_OP_JWKS_ENDPOINT must be set for RS* signing")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Failed-attempt lockouts (core/throttle.py) ---------------------------------------------------
# Failed sign-ins are counted per account name and per client address, failed HTTP Basic (token)
# checks per access key and per client address. FAILURES failures within WINDOW lock that subject
# for LOCKOUT: a 429 with Retry-After, even for the right secret. A limit of 0 switches it off.
# The counts live in the cache: Redis with the stack (shared by every process), else per process.
_SIGNIN_WINDOW = int(env.duration("SIGNIN_FAILURE_WINDOW", timedelta(minutes=15)).total_seconds())
_SIGNIN_LOCKOUT = int(env.duration("SIGNIN_LOCKOUT", timedelta(minutes=15)).total_seconds())
_TOKEN_WINDOW = int(env.duration("TOKEN_FAILURE_WINDOW", timedelta(minutes=5)).total_seconds())
_TOKEN_LOCKOUT = int(env.duration("TOKEN_LOCKOUT", timedelta(minutes=5)).total_seconds())
FAILURE_LIMITS: dict[str, tuple[int, int, int]] = {
    "signin-account": (
        env.integer("SIGNIN_FAILURES_PER_ACCOUNT", 10),
        _SIGNIN_WINDOW,
        _SIGNIN_LOCKOUT,
    ),
    "signin-address": (
        env.integer("SIGNIN_FAILURES_PER_ADDRESS", 50),
        _SIGNIN_WINDOW,
        _SIGNIN_LOCKOUT,
    ),
    "token-key": (env.integer("TOKEN_FAILURES_PER_KEY", 10), _TOKEN_WINDOW, _TOKEN_LOCKOUT),
    "token-address": (env.integer("TOKEN_FAILURES_PER_ADDRESS", 50), _TOKEN_WINDOW, _TOKEN_LOCKOUT),
}
for _name, (_failures, _window, _lockout) in FAILURE_LIMITS.items():
    if _failures < 0 or (_failures and (_window <= 0 or _lockout <= 0)):
        raise ImproperlyConfigured(
            f"Failed-attempt limit {_name}: the limit must be 0 (off) or more, with a window "
            "and a lockout longer than 0 seconds"
        )
# Personal access token secrets are stored as HMAC-SHA256 under a key derived from this value
# (access/tokens/credentials.py); empty: from SECRET_KEY. Values in the fallbacks still verify,
# and a token that matches one is rehashed under the current key on use.
TOKEN_HASH_KEY = env.string("TOKEN_HASH_KEY", "")
TOKEN_HASH_KEY_FALLBACKS = env.strings("TOKEN_HASH_KEY_FALLBACKS", [])
for _value in (TOKEN_HASH_KEY, *TOKEN_HASH_KEY_FALLBACKS):
    if _value and len(_value) < 32:
        raise ImproperlyConfigured(
            "TOKEN_HASH_KEY and TOKEN_HASH_KEY_FALLBACKS values must be at least 32 characters"
        )
# Empty: the client address is REMOTE_ADDR. Behind a reverse proxy, the header it sets (e.g.
# X-Forwarded-For), whose last value is used. Never set it without such a proxy in front.
CLIENT_ADDRESS_HEADER = env.string("CLIENT_ADDRESS_HEADER", "")
# Tests give each case its own namespace, so counters never carry over between them.
FAILURE_LIMIT_NAMESPACE = ""
# How long the marketplace keeps its popular tags and its counts of public entries in the cache
# (models_app/listing_cache.py); entry writes clear them sooner. 0 turns the cache off.
MARKETPLACE_CACHE_SECONDS = env.integer("MARKETPLACE_CACHE_SECONDS", 60)
# Tests give each case its own namespace, so one test never reads another's cached figures.
MARKETPLACE_CACHE_NAMESPACE = ""
# How long a person's Reviews badge count is kept in the cache (reviews/badge.py), at most: review,
# response and collaborator writes make it stale at once. 0 counts it on every page.
REVIEW_BADGE_CACHE_SECONDS = env.integer("REVIEW_BADGE_CACHE_SECONDS", 60)

ROOT_URLCONF = "bailo_site.urls"
WSGI_APPLICATION = "bailo_site.wsgi.application"

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
                "core.context_processors.ui",
                "reviews.context_processors.reviews",
            ],
            # {% when %} and |usertext on every page (core/templatetags/bailo_format.py);
            # {% person %} and {% display_name %} (core/templatetags/people.py).
            "builtins": ["core.templatetags.bailo_format", "core.templatetags.people"],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env.string("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES: dict[str, dict[str, Any]] = {
    "default": database_from_url(
        DATABASE_URL, prepare_threshold=env.integer("DATABASE_PREPARE_THRESHOLD", 2)
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Each test process gets its own test database, so concurrent runs on one server never
    # drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.string("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# JSON bodies are small (Bailo: 100 kB); file bytes are streamed and never read through this limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("DATA_UPLOAD_MAX_MEMORY_SIZE", 100 * 1024)

# --- Redis and Celery ---------------------------------------------------------------------------
REDIS_URL = env.string("REDIS_URL")
# pytest-xdist runs the test suite in several processes at once, each with its own test database
# but all on one Redis database: each keeps its cache entries and its Celery queues under its own
# key prefix, so no process reads another's cache or takes another's tasks. Empty otherwise.
# REDIS_KEY_PREFIX does the same for a second instance sharing one Redis database (the
# two-instance mirroring test).
_REDIS_KEY_PREFIX = env.string("REDIS_KEY_PREFIX", os.environ.get("PYTEST_XDIST_WORKER", ""))
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
if not CELERY_TASK_ALWAYS_EAGER and not REDIS_URL:
    raise ImproperlyConfigured(
        "CELERY_TASK_ALWAYS_EAGER=false needs REDIS_URL: without a broker no task would ever run"
    )
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if _REDIS_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{_REDIS_KEY_PREFIX}:"}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{_REDIS_KEY_PREFIX}:"}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",  # one client per pool, not per call
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": _REDIS_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Blob storage -------------------------------------------------------------------------------
S3_ENDPOINT = env.string("S3_ENDPOINT")
S3_ACCESS_KEY = env.string("S3_ACCESS_KEY")
S3_SECRET_KEY = env.string("S3_SECRET_KEY")
S3_REGION = env.string("S3_REGION", "us-east-1")
S3_BUCKET_UPLOADS = env.string("S3_BUCKET_UPLOADS", "uploads")
S3_BUCKET_REGISTRY = env.string("S3_BUCKET_REGISTRY", "registry")
S3_BUCKET_EXPORTS = env.string("S3_BUCKET_EXPORTS", "exports")
# true, false, or the path of a CA bundle for a private certificate authority.
_s3_verify = env.string("S3_VERIFY", "true")
S3_VERIFY: bool | str = (
    _s3_verify
    if _s3_verify.lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}
    else env.boolean("S3_VERIFY", True)
)
BLOB_STORAGE = "s3" if S3_ENDPOINT else "filesystem"
# How long to wait for the S3 server to accept a connection, and for the next bytes of an answer
# (a download stream included), before it counts as unavailable; and how many attempts a call
# gets (the first included) before a 503 "File storage is unavailable".
S3_CONNECT_TIMEOUT = env.duration("S3_CONNECT_TIMEOUT", timedelta(seconds=3)).total_seconds()
S3_READ_TIMEOUT = env.duration("S3_READ_TIMEOUT", timedelta(seconds=30)).total_seconds()
S3_MAX_ATTEMPTS = env.integer("S3_MAX_ATTEMPTS", 2)
if not (0 < S3_CONNECT_TIMEOUT <= 300 and 0 < S3_READ_TIMEOUT <= 3600):
    raise ImproperlyConfigured(
        "S3_CONNECT_TIMEOUT must be between 1 second and 5 minutes, S3_READ_TIMEOUT between "
        "1 second and 1 hour"
    )
if not 1 <= S3_MAX_ATTEMPTS <= 10:
    raise ImproperlyConfigured("S3_MAX_ATTEMPTS must be between 1 and 10")
BLOB_ROOT = Path(env.string("BLOB_ROOT", str(VAR_DIR / "blobs")))

# --- Docker registry ----------------------------------------------------------------------------
REGISTRY_URL = env.string("REGISTRY_URL").rstrip("/")
REGISTRY_HOST = env.string("REGISTRY_HOST")
REGISTRY_SERVICE = env.string("REGISTRY_SERVICE", "RegistryAuth")
REGISTRY_ISSUER = env.string("REGISTRY_ISSUER", "RegistryIssuer")
REGISTRY_TOKEN_KEY_FILE = env.string("REGISTRY_TOKEN_KEY_FILE")
REGISTRY_TOKEN_CERT_FILE = env.string("REGISTRY_TOKEN_CERT_FILE")
REGISTRY_TOKEN_LIFETIME = env.duration("REGISTRY_TOKEN_LIFETIME", timedelta(hours=1))
# For `manage.py registry_gc`: the registry's own configuration file and binary.
REGISTRY_CONFIG_FILE = env.string("REGISTRY_CONFIG_FILE")
REGISTRY_BINARY = env.string("REGISTRY_BINARY")

# --- File scanning ------------------------------------------------------------------------------
CLAMD_HOST = env.string("CLAMD_HOST")
CLAMD_PORT = env.integer("CLAMD_PORT", 3310)
FILE_SCANNERS = env.strings("FILE_SCANNERS", [*(["clamAV"] if CLAMD_HOST else []), "modelScan"])
MODELSCAN_BLOCKS_DOWNLOAD = env.boolean("MODELSCAN_BLOCKS_DOWNLOAD", False)
# A file may be downloaded only once its blocking scans (ClamAV; ModelScan too with
# MODELSCAN_BLOCKS_DOWNLOAD) have completed: not while they run, nor after they errored.
SCAN_BLOCK_UNTIL_CLEAN = env.boolean("SCAN_BLOCK_UNTIL_CLEAN", True)
FILE_SCAN_TIMEOUT = env.integer("FILE_SCAN_TIMEOUT", 900)
FILE_SCAN_RESCAN_DELAY_MINUTES = env.integer("FILE_SCAN_RESCAN_DELAY_MINUTES", 60)
FILE_SCAN_RETRY_AFTER_MINUTES = env.integer("FILE_SCAN_RETRY_AFTER_MINUTES", 15)
FILE_SCAN_MAX_ATTEMPTS = env.integer("FILE_SCAN_MAX_ATTEMPTS", 5)

# --- Uploads --------------------------------------------------------------------------------------
# A multipart upload with no activity for this long is aborted and its file row removed.
UPLOAD_ABANDON_AFTER = env.duration("UPLOAD_ABANDON_AFTER", timedelta(hours=24))

# --- Deletion -----------------------------------------------------------------------------------
DELETION_RETENTION = env.duration("DELETION_RETENTION", timedelta(days=30))
# A purge that has written no heartbeat for PURGE_STALE_AFTER is taken to be dead (its worker was
# killed); the sweep, every PURGE_SWEEP_EVERY, queues it again. So a killed purge resumes within
# about the sum of the two.
PURGE_STALE_AFTER = env.duration("PURGE_STALE_AFTER", timedelta(minutes=3))
PURGE_SWEEP_EVERY = env.duration("PURGE_SWEEP_EVERY", timedelta(minutes=1))
if not timedelta(minutes=1) <= PURGE_STALE_AFTER <= timedelta(days=1):
    raise ImproperlyConfigured("PURGE_STALE_AFTER must be between 1 minute and 1 day")
if not timedelta(seconds=10) <= PURGE_SWEEP_EVERY <= timedelta(hours=1):
    raise ImproperlyConfigured("PURGE_SWEEP_EVERY must be between 10 seconds and 1 hour")

# --- Lifecycle reviews of the model card ----------------------------------------------------------
# How far ahead an owner may set the next review (Bailo's ui.lifecycle.maxReviewInterval).
LIFECYCLE_MAX_REVIEW_INTERVAL = env.duration("LIFECYCLE_MAX_REVIEW_INTERVAL", timedelta(days=365))
# Reminders to the owners before a review is due (Bailo's smtp.lifecycle.preReminderIntervals:
# 1 day, 2 weeks and 10 weeks), then one every LIFECYCLE_POST_REMINDER_INTERVAL from the due date
# until they answer. A periodic sweep on the default queue sends what is due, every
# LIFECYCLE_REMINDER_SWEEP_EVERY.
LIFECYCLE_PRE_REMINDER_INTERVALS = env.durations(
    "LIFECYCLE_PRE_REMINDER_INTERVALS", [timedelta(days=1), timedelta(days=14), timedelta(days=70)]
)
LIFECYCLE_POST_REMINDER_INTERVAL = env.duration(
    "LIFECYCLE_POST_REMINDER_INTERVAL", timedelta(days=1)
)
LIFECYCLE_REMINDER_SWEEP_EVERY = env.duration("LIFECYCLE_REMINDER_SWEEP_EVERY", timedelta(hours=1))
if timedelta(days=1) > LIFECYCLE_MAX_REVIEW_INTERVAL:
    raise ImproperlyConfigured("LIFECYCLE_MAX_REVIEW_INTERVAL must be at least 1 day")
if timedelta(hours=1) > LIFECYCLE_POST_REMINDER_INTERVAL:
    raise ImproperlyConfigured("LIFECYCLE_POST_REMINDER_INTERVAL must be at least 1 hour")
if not timedelta(minutes=1) <= LIFECYCLE_REMINDER_SWEEP_EVERY <= timedelta(days=1):
    raise ImproperlyConfigured("LIFECYCLE_REMINDER_SWEEP_EVERY must be between 1 minute and 1 day")

# --- Webhooks -----------------------------------------------------------------------------------
# Webhooks may call only public addresses; these host names, addresses and networks (comma-
# separated, e.g. "hooks.internal,10.1.0.0/16") may be called although they are loopback,
# link-local or private (core/ports/webhooks.py).
WEBHOOK_ALLOWED_HOSTS = env.strings("WEBHOOK_ALLOWED_HOSTS", [])
_HOST_NAME = re.compile(r"(?i)[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*\.?")
for _entry in WEBHOOK_ALLOWED_HOSTS:
    try:
        ipaddress.ip_network(_entry.strip("[]"), strict=False)
    except ValueError:
        if not _HOST_NAME.fullmatch(_entry):
            raise ImproperlyConfigured(
                f"WEBHOOK_ALLOWED_HOSTS: {_entry!r} is not a host name, an IP address or a network"
            ) from None
# How long one delivery attempt may wait to connect, and between bytes of the answer.
WEBHOOK_TIMEOUT = env.duration("WEBHOOK_TIMEOUT", timedelta(seconds=10)).total_seconds()
if not 0 < WEBHOOK_TIMEOUT <= 120:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT must be between 1 second and 2 minutes")
# Finished delivery records older than this are removed by a periodic task.
WEBHOOK_DELIVERY_RETENTION = env.duration("WEBHOOK_DELIVERY_RETENTION", timedelta(days=30))

# --- Inference services -------------------------------------------------------------------------
# Off by default, as in Bailo: the Inferencing tab and the inference API exist only when on.
INFERENCE_ENABLED = env.boolean("INFERENCE_ENABLED", False)
# The external deploy service (core/ports/inference.py). Empty: deployments are only recorded,
# for administrators who run them by hand.
INFERENCE_HOST = env.string("INFERENCE_HOST").rstrip("/")
if INFERENCE_HOST and not re.match(r"(?i)https?://[^/\s]+", INFERENCE_HOST):
    raise ImproperlyConfigured("INFERENCE_HOST must be an http:// or https:// URL")
# Sent to the deploy service as "Authorization: Basic <token>" (never shown to users).
INFERENCE_AUTH_TOKEN = env.string("INFERENCE_AUTH_TOKEN")
INFERENCE_TIMEOUT = env.duration("INFERENCE_TIMEOUT", timedelta(seconds=10)).total_seconds()
if not 0 < INFERENCE_TIMEOUT <= 120:
    raise ImproperlyConfigured("INFERENCE_TIMEOUT must be between 1 second and 2 minutes")
# Processor types a service may ask for besides "cpu" (comma-separated, e.g. "nvidia-t4,a100").
INFERENCE_GPUS = env.strings("INFERENCE_GPUS", [])
if "cpu" in INFERENCE_GPUS:
    raise ImproperlyConfigured("INFERENCE_GPUS lists GPU types; cpu is always offered")
# Bailo's ui.inference.authorizationTokenName: the description of the token a deploy service's
# sign-in uses.
INFERENCE_TOKEN_NAME = env.string("INFERENCE_TOKEN_NAME", "inferencing-token")

# --- Model mirroring (Bailo's modelMirror.* and ui.modelMirror.*) ---------------------------------
# Off by default, as in Bailo. Export: the "Mirrored models" settings section and
# POST /model/{id}/export/s3. Import: POST /model/import/s3 and the transfers of mirrored models.
MIRROR_EXPORT_ENABLED = env.boolean("MIRROR_EXPORT_ENABLED", False)
MIRROR_IMPORT_ENABLED = env.boolean("MIRROR_IMPORT_ENABLED", False)
# Markdown the exporter must agree to before an export starts.
MIRROR_EXPORT_DISCLAIMER = env.string(
    "MIRROR_EXPORT_DISCLAIMER",
    "## Exporting uploaded files\n\nModel files and images are exported to another instance. "
    "Check that the destination may hold them before you agree.",
)
# The most bytes one export may ship (each file, and the files of its releases together).
MIRROR_EXPORT_MAX_SIZE = env.integer("MIRROR_EXPORT_MAX_SIZE", 100 * 1024**3)
if MIRROR_EXPORT_MAX_SIZE < 1:
    raise ImproperlyConfigured("MIRROR_EXPORT_MAX_SIZE must be a positive number of bytes")
# Hosts (host or host:port) a payloadUrl may name besides our own S3 endpoint's exports bucket.
MIRROR_IMPORT_ALLOWED_HOSTS = [h.lower() for h in env.strings("MIRROR_IMPORT_ALLOWED_HOSTS", [])]
# The largest documents tarball (uncompressed card revisions, releases and file records) read.
MIRROR_IMPORT_DOCUMENTS_MAX_SIZE = env.integer("MIRROR_IMPORT_DOCUMENTS_MAX_SIZE", 64 * 1024**2)
# Signing exports: a PEM ECDSA P-256 private key file, or an AWS KMS key (MIRROR_KMS_KEY_ID,
# which wins when both are set). Neither: exports are unsigned.
MIRROR_SIGNING_KEY_FILE = env.string("MIRROR_SIGNING_KEY_FILE")
MIRROR_KMS_KEY_ID = env.string("MIRROR_KMS_KEY_ID")
MIRROR_KMS_REGION = env.string("MIRROR_KMS_REGION", S3_REGION)
MIRROR_KMS_ENDPOINT = env.string("MIRROR_KMS_ENDPOINT")
# Verifying imports: PEM public keys (comma-separated paths); a tarball must be signed by one.
MIRROR_VERIFY_PUBLIC_KEYS = env.strings("MIRROR_VERIFY_PUBLIC_KEYS", [])
MIRROR_REQUIRE_SIGNATURE = env.boolean("MIRROR_REQUIRE_SIGNATURE", bool(MIRROR_VERIFY_PUBLIC_KEYS))
if MIRROR_REQUIRE_SIGNATURE and not MIRROR_VERIFY_PUBLIC_KEYS:
    raise ImproperlyConfigured("MIRROR_REQUIRE_SIGNATURE needs MIRROR_VERIFY_PUBLIC_KEYS")
# The headings over a mirrored card's answers (ui.modelMirror.import.originalAnswerHeading and
# additionalInfoHeading): the source's answer, then what people here added.
MIRROR_ORIGINAL_ANSWER_HEADING = env.string("MIRROR_ORIGINAL_ANSWER_HEADING", "Original answer")
MIRROR_ADDITIONAL_INFO_HEADING = env.string(
    "MIRROR_ADDITIONAL_INFO_HEADING", "Additional information"
)

# --- Importing a card from text ----------------------------------------------------------------
# An OpenAI-compatible chat completions URL (e.g. https://llm.example/v1/chat/completions). Unset,
# "Import from text" maps Markdown headings and "Question: answer" lines onto the card's questions
# without a language model (core/ports/card_import.py).
CARD_IMPORT_LLM_URL = env.string("CARD_IMPORT_LLM_URL")
if CARD_IMPORT_LLM_URL and not re.match(r"(?i)https?://[^/\s]+", CARD_IMPORT_LLM_URL):
    raise ImproperlyConfigured("CARD_IMPORT_LLM_URL must be an http:// or https:// URL")
CARD_IMPORT_LLM_MODEL = env.string("CARD_IMPORT_LLM_MODEL")
if CARD_IMPORT_LLM_URL and not CARD_IMPORT_LLM_MODEL:
    raise ImproperlyConfigured(
        "CARD_IMPORT_LLM_MODEL must name a model when CARD_IMPORT_LLM_URL is set"
    )
CARD_IMPORT_LLM_API_KEY = env.string("CARD_IMPORT_LLM_API_KEY")
CARD_IMPORT_LLM_TIMEOUT = env.duration(
    "CARD_IMPORT_LLM_TIMEOUT", timedelta(seconds=60)
).total_seconds()
if not 0 < CARD_IMPORT_LLM_TIMEOUT <= 600:
    raise ImproperlyConfigured("CARD_IMPORT_LLM_TIMEOUT must be between 1 second and 10 minutes")
CARD_IMPORT_LLM_MAX_TOKENS = env.integer("CARD_IMPORT_LLM_MAX_TOKENS", 4096)
if CARD_IMPORT_LLM_MAX_TOKENS < 1:
    raise ImproperlyConfigured("CARD_IMPORT_LLM_MAX_TOKENS must be 1 or more")
# The most text one import may send (Bailo limits the request to 500 kB).
CARD_IMPORT_MAX_CHARS = env.integer("CARD_IMPORT_MAX_CHARS", 200_000)

# --- E-mail -------------------------------------------------------------------------------------
EMAIL_HOST = env.string("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env.integer("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "bailo@localhost")

# --- Federation (docs/administration/federation.md) --------------------------------------------
# disabled (default: no peers are loaded), readOnly or enabled (alike here; Bailo only reports the
# difference in GET /api/v2/system/status).
BAILO_FEDERATION_STATE = parse_state(env.string("BAILO_FEDERATION_STATE", "disabled")).value
# The id this instance gives itself: sent to peers as x-bailo-id, shown in /system/status.
BAILO_FEDERATION_ID = env.string("BAILO_FEDERATION_ID", "")
# Send x-user to peers, and honour it from the system users each peer lists.
BAILO_FEDERATION_ESCALATION = env.boolean("BAILO_FEDERATION_ESCALATION", False)
# The peers, a JSON object keyed by peer id (core/federation/config.py), checked at start-up.
BAILO_FEDERATION_PEERS = parse_peers(env.string("BAILO_FEDERATION_PEERS", "{}"))
if BAILO_FEDERATION_STATE != "disabled" and BAILO_FEDERATION_PEERS and not BAILO_FEDERATION_ID:
    raise ImproperlyConfigured(
        "BAILO_FEDERATION_ID must be set when federation is on and peers are configured"
    )

# --- What the UI shows (Bailo's ui.* configuration) ---------------------------------------------
BAILO_UI: dict[str, Any] = {
    "banner": {
        "enabled": env.boolean("BAILO_BANNER_ENABLED", False),
        "text": env.string("BAILO_BANNER_TEXT", ""),
        "colour": env.string("BAILO_BANNER_COLOUR", "#1f4e79"),
        "textColor": env.string("BAILO_BANNER_TEXT_COLOUR", "#ffffff"),
    },
    "announcement": {
        "enabled": env.boolean("BAILO_ANNOUNCEMENT_ENABLED", False),
        "text": env.string("BAILO_ANNOUNCEMENT_TEXT", ""),
        "startTimestamp": env.string("BAILO_ANNOUNCEMENT_START", ""),
    },
    "issues": {
        "label": env.string("BAILO_ISSUES_LABEL", "Bailo support"),
        "supportHref": env.string("BAILO_SUPPORT_HREF", ""),
        "contactHref": env.string("BAILO_CONTACT_HREF", ""),
    },
    "registry": {"host": REGISTRY_HOST},
    "modelDetails": {
        "organisations": env.strings("BAILO_ORGANISATIONS", ["Example Organisation"]),
        "states": env.strings("BAILO_STATES", ["Development", "Review", "Production"]),
    },
    "roleDisplayNames": {"owner": "Owner", "contributor": "Contributor", "consumer": "Consumer"},
    "inference": {
        "enabled": INFERENCE_ENABLED,
        "connection": {"host": INFERENCE_HOST},
        "authorizationTokenName": INFERENCE_TOKEN_NAME,
        "gpus": {name: name for name in INFERENCE_GPUS},
    },
    "modelMirror": {
        "import": {
            "enabled": MIRROR_IMPORT_ENABLED,
            "originalAnswerHeading": MIRROR_ORIGINAL_ANSWER_HEADING,
            "additionalInfoHeading": MIRROR_ADDITIONAL_INFO_HEADING,
        },
        "export": {"enabled": MIRROR_EXPORT_ENABLED, "disclaimer": MIRROR_EXPORT_DISCLAIMER},
    },
    # Bailo gives a human interval ("1 year"); this is its length in days, as a string too.
    "lifecycle": {"maxReviewInterval": f"{LIFECYCLE_MAX_REVIEW_INTERVAL.days} days"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Security headers -----------------------------------------------------------------------------
# Scripts and styles come only from this site, never inline; nothing may frame the pages. data:
# images are Swagger UI's icons.
CONTENT_SECURITY_POLICY = env.string(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; base-uri 'self'; frame-ancestors 'none'; object-src 'none'; "
    "img-src 'self' data:",
)
# Off by default: the embedded mode and development run on plain HTTP. In production behind
# HTTPS, set SECURE_SSL_REDIRECT and SECURE_HSTS_SECONDS (see docs/administration).
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", False)
# Paths (regular expressions, no leading /) still served over plain HTTP, e.g. a health check.
SECURE_REDIRECT_EXEMPT = env.strings("SECURE_REDIRECT_EXEMPT", [])
SECURE_HSTS_SECONDS = int(env.duration("SECURE_HSTS_SECONDS", timedelta(0)).total_seconds())
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", False)

if not DEBUG:
    SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", True)
    # Only behind a proxy that sets it: otherwise any client could claim to be on HTTPS.
    if env.boolean("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
