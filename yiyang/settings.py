"""Django settings for Yiyang. Everything that differs between machines comes from the environment."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from yiyang.conf import env, env_bool, env_int, is_production, secret, var_dir

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = var_dir()
PRODUCTION = is_production()

SECRET_KEY = secret("YIYANG_SECRET_KEY", "change-me-0f6c1b0e8d5e4c1f9a7b")
DEBUG = env_bool("YIYANG_DEBUG", default=False)
ALLOWED_HOSTS = [h.strip() for h in env("YIYANG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("YIYANG_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Field encryption for ID numbers and phones (see yiyang/people/crypto.py).
# YIYANG_FIELD_KEYS: "version:base64key,..."; the current version encrypts, all versions decrypt.
FIELD_KEYS = secret("YIYANG_FIELD_KEYS", "1")
FIELD_KEY_VERSION = env_int("YIYANG_FIELD_KEY_VERSION", 1)
FIELD_CIPHER = env("YIYANG_FIELD_CIPHER", "aes-gcm")
BLIND_INDEX_KEY = secret("YIYANG_BLIND_INDEX_KEY", "blind-index-5d2a")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "axes",
    "django_tasks_db",
    "crontask",
    "yiyang.core",
    "yiyang.regions",
    "yiyang.accounts",
    "yiyang.audit",
    "yiyang.people",
    "yiyang.homecare",
    "yiyang.eldermode",
    "yiyang.plan",
    "yiyang.assessments",
    "yiyang.visits",
    "yiyang.institutions",
    "yiyang.guardian",
    "yiyang.subsidies",
    "yiyang.timebank",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yiyang.core.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yiyang.core.middleware.ElderModeMiddleware",
    # Axes must come last: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "yiyang.urls"
WSGI_APPLICATION = "yiyang.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yiyang.core.context_processors.frame",
            ],
        },
    },
]

# Databases ---------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'yiyang.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL", DEFAULT_SQLITE), conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE: writers take the lock at BEGIN, so select_for_update (a no-op on SQLite)
    # is replaced by whole-database write serialisation instead of deadlock-prone upgrades.
    # Writers queue for their turn instead of sleeping in SQLite's busy handler (core/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "yiyang.core.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    # Health checks only for connections idle for a few seconds (core/postgresql/base.py).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "yiyang.core.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameter binding lets psycopg prepare a statement the fifth time a connection runs
    # it: PostgreSQL then stops parsing and planning the order lifecycle's reads on every request
    # (bench/README-homecare.md). YIYANG_PG_SERVER_SIDE_BINDING=0 turns it off, e.g. behind a
    # transaction-pooling PgBouncer without prepared-statement support.
    if env("YIYANG_PG_SERVER_SIDE_BINDING", "1") != "0":
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
# Persistent connections on both: connecting (on SQLite: opening the file and running the pragmas
# above) costs more than a small request.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("YIYANG_DB_CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work ---------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if env("YIYANG_TASKS_IMMEDIATE"):
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
CRONTASK = {"REDIS_URL": env("YIYANG_CRONTASK_REDIS_URL") or None}

# Security ----------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("YIYANG_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("YIYANG_LOGIN_COOLOFF_MINUTES", 15))
# Per username and address: a guesser is stopped without letting anyone lock a
# colleague out from another machine.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "yiyang.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("YIYANG_SSL_REDIRECT", default=True)

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Swagger UI and ECharts set inline styles; scripts stay strict.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": VAR_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (tests, development) whitenoise serves from the finders.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("YIYANG_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "apscheduler": {"level": "WARNING"},
    },
}

YIYANG_API_TOKEN_TTL_DAYS = env_int("YIYANG_API_TOKEN_TTL_DAYS", 90)

# Silver Guardian (yiyang/guardian; docs/guardian.md) ------------------------
GUARDIAN_DEVICE_KEY = secret("YIYANG_GUARDIAN_DEVICE_KEY", "guardian-device-key-7c1e")
GUARDIAN_MQTT_HOST = env("YIYANG_MQTT_HOST", "127.0.0.1")
GUARDIAN_MQTT_PORT = env_int("YIYANG_MQTT_PORT", 1883)
GUARDIAN_MQTT_USERNAME = env("YIYANG_MQTT_USERNAME", "")
GUARDIAN_MQTT_PASSWORD = env("YIYANG_MQTT_PASSWORD", "")
# True when the broker authenticates each device with its own credentials and ACL (deploy/mosquitto/):
# then an MQTT message on a device's own topic needs no payload signature. HTTP always needs one.
GUARDIAN_MQTT_TRUST_BROKER_AUTH = env_bool("YIYANG_MQTT_TRUST_BROKER_AUTH", default=False)
GUARDIAN_POSITION_RETENTION_DAYS = env_int("YIYANG_GUARDIAN_POSITION_RETENTION_DAYS", 90)
GUARDIAN_SILENCE_MINUTES = env_int("YIYANG_GUARDIAN_SILENCE_MINUTES", 10)
GUARDIAN_WORKER_STALL_MINUTES = env_int("YIYANG_GUARDIAN_WORKER_STALL_MINUTES", 3)
GUARDIAN_OFFLINE_FLOOD_THRESHOLD = env_int("YIYANG_GUARDIAN_OFFLINE_FLOOD_THRESHOLD", 20)
# Only these local hours count toward the inactivity threshold ("HH:MM-HH:MM"; may wrap midnight;
# "00:00-00:00" = all day): an elder asleep at night is not an elder who has stopped moving.
GUARDIAN_INACTIVITY_DAYTIME = env("YIYANG_GUARDIAN_INACTIVITY_DAYTIME", "07:00-21:00")

# Home care: visit verification and audit thresholds (see yiyang/homecare/operations.py).
YIYANG_CHECKIN_MAX_METERS = env_int("YIYANG_CHECKIN_MAX_METERS", 5000)
YIYANG_AUDIT_MAX_METERS = env_int("YIYANG_AUDIT_MAX_METERS", 500)
YIYANG_AUDIT_MIN_DURATION_PERCENT = env_int("YIYANG_AUDIT_MIN_DURATION_PERCENT", 60)
YIYANG_AUDIT_LATE_SYNC_MINUTES = env_int("YIYANG_AUDIT_LATE_SYNC_MINUTES", 30)
YIYANG_LOW_RATING = env_int("YIYANG_LOW_RATING", 2)
YIYANG_ORDER_OVERDUE_MINUTES = env_int("YIYANG_ORDER_OVERDUE_MINUTES", 120)
