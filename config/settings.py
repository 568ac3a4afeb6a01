"""Settings for the micro-loan back office.

Everything comes from the environment (django-environ); a `.env` at the repository root is read
when present. `.env.example` lists every variable.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# The development key only works with DEBUG on; production must set its own.
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-insecure-key-change-me" if DEBUG else environ.Env.NOTSET
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "csp",
    "axes",
    "loans",
    "notifications",
    "debt_collection",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.NulQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.NoStoreMiddleware",
    "config.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "portal.context_processors.prices",
                "portal.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# SQLite is the embedded default for `make run`; production and CI use PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions and WAL let the web process and the cluster share the file
    # without "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Staff login throttling (django-axes; the portal's OTP login is not a Django login). The axes
# backend refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures count per username and per IP address: a username is locked after
# AXES_FAILURE_LIMIT of them, an address after AXES_IP_FAILURE_LIMIT (more, since a whole
# office shares one; loans/admin/login.py). Both unlock by themselves after the cool-off, or at
# once when a superuser deletes the access attempt in the admin.
AXES_FAILURE_LIMIT = 5
AXES_IP_FAILURE_LIMIT = 20
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_HANDLER = "loans.admin.login.StaffLoginHandler"
AXES_LOCKOUT_CALLABLE = "loans.admin.login.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a right password must not wipe the address's failures
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure stays visible in the admin
AXES_VERBOSE = False  # no start-up banner on every manage.py command's stderr

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
# `manage.py collectstatic` writes here; whitenoise serves it, hashed names cached for a year.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production) ------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The load balancer probes over plain HTTP behind the TLS proxy (config/health.py).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): our own scripts, styles and images only; no inline
# script or style anywhere (the portal and the admin both work under it), no framing, forms
# post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Personal data (PIPL) ---------------------------------------------------------------------
# Fernet keys for ID number, name and mobile, newest first: encryption uses the first, decryption
# tries them all, so a key is rotated by prepending a new one and running `rotate_pii_keys`.
# The blind-index key makes lookups by ID number or mobile possible without decrypting.
_DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1ub3QtZm9yLXByb2R1Y3Q="  # 32 bytes, DEBUG only
PII_ENCRYPTION_KEYS = env.list(
    "PII_ENCRYPTION_KEYS", default=[_DEV_PII_KEY] if DEBUG else environ.Env.NOTSET
)
PII_BLIND_INDEX_KEY = env.str(
    "PII_BLIND_INDEX_KEY", default="dev-only-blind-index-key" if DEBUG else environ.Env.NOTSET
)

# --- Credit bureau ---------------------------------------------------------------------------
CREDIT_BUREAU_BACKEND = env.str("CREDIT_BUREAU_BACKEND", default="loans.bureau.SandboxBureau")

# --- Portal registration ---------------------------------------------------------------------
# 公民身份信息核查: does the name belong to the ID number (loans/identity.py; the sandbox needs no
# network and refuses the test identities listed there).
IDENTITY_VERIFICATION_BACKEND = env.str(
    "IDENTITY_VERIFICATION_BACKEND", default="loans.identity.SandboxIdentityVerifier"
)
# Fixed windows counted in the cache (below). Over a limit the portal answers 429.
PORTAL_APPLICATIONS_PER_IP_PER_HOUR = env.int("PORTAL_APPLICATIONS_PER_IP_PER_HOUR", default=5)
PORTAL_APPLICATIONS_PER_MOBILE_PER_DAY = env.int(
    "PORTAL_APPLICATIONS_PER_MOBILE_PER_DAY", default=3
)
# One-time codes (login and registration) texted at the request of one IP address.
PORTAL_CODES_PER_IP_PER_HOUR = env.int("PORTAL_CODES_PER_IP_PER_HOUR", default=20)

# --- Payment gateway (auto-debit) --------------------------------------------------------------
# Charges go out through the backend; results come back only through the signed webhook
# (POST /gateway/webhook/), HMAC-SHA256 with this secret, timestamps within the tolerance.
PAYMENT_GATEWAY_BACKEND = env.str(
    "PAYMENT_GATEWAY_BACKEND", default="loans.gateway.sandbox.SandboxGateway"
)
PAYMENT_GATEWAY_WEBHOOK_SECRET = env.str(
    "PAYMENT_GATEWAY_WEBHOOK_SECRET",
    default="dev-only-gateway-webhook-secret" if DEBUG else environ.Env.NOTSET,
)
PAYMENT_GATEWAY_TOLERANCE_SECONDS = env.int("PAYMENT_GATEWAY_TOLERANCE_SECONDS", default=300)
# A payment entered by staff may exceed what settles the loan by at most this (yuan); more is
# refused as a typing mistake (loans/services/repayments.py). Gateway money is always booked.
MANUAL_POSTING_MARGIN = Decimal(env.str("MANUAL_POSTING_MARGIN", default="100.00"))
# Refunds of money paid beyond everything owed (loans/services/refunds.py): one above this
# amount (yuan) is sent only after a second person approves it (maker-checker).
REFUND_APPROVAL_THRESHOLD = Decimal(env.str("REFUND_APPROVAL_THRESHOLD", default="500.00"))
# A payment typed in by staff above this (yuan) waits for a second person (loans/approvals.py).
MANUAL_POSTING_APPROVAL_THRESHOLD = Decimal(
    env.str("MANUAL_POSTING_APPROVAL_THRESHOLD", default="20000.00")
)

# --- SMS -----------------------------------------------------------------------------------
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.console.SmsBackend")
SMS_SIGNATURE = env.str("SMS_SIGNATURE", default="【微众银行】")
# Reminders, overdue and collection SMS go out only inside this window (Asia/Shanghai).
SMS_SEND_WINDOW = (
    env.str("SMS_WINDOW_START", default="08:00"),
    env.str("SMS_WINDOW_END", default="21:00"),
)
SMS_COLLECTION_DAILY_CAP = env.int("SMS_COLLECTION_DAILY_CAP", default=3)
SMS_BATCH_SIZE = env.int("SMS_BATCH_SIZE", default=500)
# Provider requests in flight per batch (threads), and the provider's quota in numbers a second
# (0: none). Shared through Redis by every worker when REDIS_URL is set; without Redis it holds
# per worker process: then split the account's quota between the processes.
SMS_CONCURRENCY = env.int("SMS_CONCURRENCY", default=32)
SMS_RATE_LIMIT_PER_SECOND = env.float("SMS_RATE_LIMIT_PER_SECOND", default=0)
# Seconds a batch handed to a task stays its own: a task lost with its worker gives its messages
# back after this (longer than the longest wait in the queue, or batches are handed out twice).
SMS_DISPATCH_EXPIRY = env.int("SMS_DISPATCH_EXPIRY", default=3600)
# Seconds after which a message still "sending" belongs to a dead process (longer than a task's
# timeout, Q_CLUSTER["timeout"]): one the provider's receipts never mention by then is sent again.
SMS_IN_DOUBT_AFTER = env.int("SMS_IN_DOUBT_AFTER", default=1800)
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms.log"))
SERVICE_PHONE = env.str("SERVICE_PHONE", default="95384")
LENDER_NAME = env.str("LENDER_NAME", default="深圳前海微众银行股份有限公司")
# Tencent Cloud SMS (SMS_BACKEND=notifications.backends.tencent.SmsBackend). The sign name is the
# approved 【】 signature without brackets; one generic template whose only parameter {1} carries
# the text, unless TENCENT_SMS_TEMPLATE_IDS maps a template code to its own approved id.
TENCENT_SMS_SECRET_ID = env.str("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env.str("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env.str("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_SIGN_NAME = env.str("TENCENT_SMS_SIGN_NAME", default=SMS_SIGNATURE.strip("【】"))
TENCENT_SMS_TEMPLATE_ID = env.str("TENCENT_SMS_TEMPLATE_ID", default="")
TENCENT_SMS_TEMPLATE_IDS = env.json("TENCENT_SMS_TEMPLATE_IDS", default={})
TENCENT_SMS_REGION = env.str("TENCENT_SMS_REGION", default="ap-guangzhou")
TENCENT_SMS_ENDPOINT = env.str("TENCENT_SMS_ENDPOINT", default="sms.tencentcloudapi.com")
TENCENT_SMS_SCHEME = env.str("TENCENT_SMS_SCHEME", default="https")
TENCENT_SMS_TIMEOUT = env.int("TENCENT_SMS_TIMEOUT", default=10)

# --- Collections (催收) guard, debt_collection/guard.py ---------------------------------------
# Hours (Asia/Shanghai) in which a borrower may be called, texted or visited; a system check
# refuses anything wider than 08:00–22:00.
COLLECTION_CONTACT_WINDOW = (
    env.str("COLLECTION_CONTACT_START", default="08:00"),
    env.str("COLLECTION_CONTACT_END", default="21:00"),
)
# Contacts (allowed calls, SMS, visits, automated SMS included) per borrower in any 7 × 24 h.
COLLECTION_WEEKLY_CONTACTS = env.int("COLLECTION_WEEKLY_CONTACTS", default=7)

# --- Task queue (django-q2) -------------------------------------------------------------------
# The ORM broker is named explicitly: without it django-q2 silently expects Redis.
# Every cluster of one installation keeps the same name: it is the queue they share, and only
# clusters of the default name run the schedules (README "Several machines").
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "microloan",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 600,  # seconds a task may run
    "retry": 720,  # must exceed timeout, or a slow task is started twice
    "max_attempts": 3,
    "catch_up": False,  # missed business dates are caught up by end-of-day itself
    "queue_limit": 50,
    "bulk": 10,
    "label": "Django Q2",
    # Successful results kept (oldest pruned as new ones arrive); failures are always kept,
    # until loans.housekeeping deletes those older than TASK_FAILURE_RETENTION_DAYS.
    "save_limit": env.int("Q_SAVE_LIMIT", default=250),
}
TASK_FAILURE_RETENTION_DAYS = env.int("TASK_FAILURE_RETENTION_DAYS", default=30)
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache ----------------------------------------------------------------------------------
# Rate limits (e.g. the public /verify/ page) count here. Redis shares the counts between
# processes and servers; the in-memory default counts per process, fine for one-process runs.
# Give the cache its own Redis database: clearing a Redis cache empties its whole database,
# task queue included.
REDIS_CACHE_URL = env.str("REDIS_CACHE_URL", default=REDIS_URL)
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Without its own handler Django's records reach the console once, through root.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # not a line per successful staff login
    },
}
