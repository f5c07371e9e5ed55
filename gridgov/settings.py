"""Settings, read from the environment.

DATABASE_URL   default: SQLite file var/gridgov.sqlite3 (WAL, busy timeout)
SECRET_KEY     default: generated once into var/secret_key
DEBUG          off unless "1"/"true"
ALLOWED_HOSTS  comma separated, default localhost names
FIELD_ENCRYPTION_KEYS "id:base64key,..." (or FIELD_ENCRYPTION_KEY) — default generated into var/
FIELD_ENCRYPTION_ALGORITHM aes-256-gcm (default) or sm4-gcm
SESSION_IDLE_TIMEOUT  seconds of inactivity before logout, default 1800
"""

import base64
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GRIDGOV_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_file(name: str, make) -> str:
    """A secret kept in var/ so it survives restarts without living in the repository."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _secret_file("secret_key", lambda: secrets.token_urlsafe(50))
def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _key_map(spec: str) -> dict[str, str]:
    """ "k2:BASE64,k1:BASE64" → {"k2": ..., "k1": ...}; the first is the active key."""
    pairs = [item.split(":", 1) for item in spec.split(",") if item.strip()]
    return {kid.strip(): key.strip() for kid, key in pairs}


# Personal data encryption (gridgov/core/crypto.py). FIELD_ENCRYPTION_KEYS lists every key still
# needed to read old rows; the first (or FIELD_ENCRYPTION_KEY_ID) encrypts new writes.
FIELD_ENCRYPTION_KEYS = _key_map(
    os.environ.get("FIELD_ENCRYPTION_KEYS")
    or "k1:" + (os.environ.get("FIELD_ENCRYPTION_KEY") or _secret_file("field_encryption_key", _new_key))
)
FIELD_ENCRYPTION_KEY_ID = os.environ.get("FIELD_ENCRYPTION_KEY_ID") or next(iter(FIELD_ENCRYPTION_KEYS))
FIELD_ENCRYPTION_ALGORITHM = os.environ.get("FIELD_ENCRYPTION_ALGORITHM", "aes-256-gcm")
FIELD_BLIND_INDEX_KEY = os.environ.get("FIELD_BLIND_INDEX_KEY") or _secret_file("blind_index_key", _new_key)
# HMAC key of the audit log's hash chain (gridgov/core/security/chain.py); kept out of the database.
AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY") or _secret_file("audit_chain_key", _new_key)
# Audit rows are kept at least this long (MLPS level 3: six months); audit_retention refuses less.
AUDIT_MIN_KEEP_DAYS = 183
# Personal data of people no longer on the register is erased this long after their last change
# (gridgov purge_personal_data; docs/security.md "Retention of personal data").
PERSONAL_DATA_RETENTION_DAYS = int(os.environ.get("PERSONAL_DATA_RETENTION_DAYS", str(3 * 365)))
DEBUG = _flag("DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "ninja",
    "gridgov.core",
    "gridgov.regions",
    "gridgov.accounts",
    "gridgov.people",
    "gridgov.visits",
    "gridgov.cases",
    "gridgov.egov",
    "gridgov.points",
    "gridgov.video",
    "gridgov.notices",
    "gridgov.intake",
    "gridgov.dashboard",
    "gridgov.mobile",
    "gridgov.open311",
    "gridgov.selfservice",
    "gridgov.privacy",
    "gridgov.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridgov.core.security.headers.SecurityHeadersMiddleware",  # CSP without inline scripts
    # Static assets (Leaflet, ECharts, app CSS) come from the app itself: no CDN on a private network.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gridgov.core.middleware.RequestContextMiddleware",
    "gridgov.core.api_errors.ApiJsonErrorsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gridgov.urls"
WSGI_APPLICATION = "gridgov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gridgov" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gridgov.core.context_processors.platform",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gridgov.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside a writer; the busy timeout makes writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
    # Tests use a file too, not a shared in-memory database: the live server's threads would share the
    # test's one connection ("cannot start a transaction within a transaction") and concurrent writers
    # would meet shared-cache table locks, which no busy timeout waits for. A file behaves as production.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        os.environ.get("SQLITE_TEST_NAME") or str(VAR_DIR / "test.sqlite3"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts and login security -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# 5 failures lock the account name for 30 minutes, wherever the attempts come from.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Offices share one NAT address on the private network: locking by address would lock a whole
# town hall out because of one user, so the lock is per account name (axes warns about that).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "gridgov.accounts.lockout.lockout_response"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Idle timeout: the cookie's age is renewed on each request, so it measures inactivity.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_TIMEOUT", "1800"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# HTTPS=1 in production (behind TLS): cookies only over TLS, redirect plain HTTP, HSTS. With DEBUG
# off and HTTPS set, `gridgov check --deploy` is clean (tests/security/test_headers.py).
HTTPS = _flag("HTTPS")
SESSION_COOKIE_SECURE = HTTPS or _flag("SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# The platform runs on the government private network under an internal name: the browsers'
# public HSTS preload list cannot hold it, so the preload flag would promise nothing.
SILENCED_SYSTEM_CHECKS += ["security.W021"]
# The TLS terminator (nginx) sets X-Forwarded-Proto; trust it only when told it exists.
if _flag("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

API_TOKEN_TTL_DAYS = int(os.environ.get("API_TOKEN_TTL_DAYS", "30"))
# Bearer tokens of reads are remembered per process this long: a revocation made in another worker
# takes effect within it (accounts/tokencache.py); 0 turns the cache off.
API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS", "5"))

# Dashboards: "deferred" (default) notes stale grid-days after each commit for `refresh_rollups`
# (cron, every minute); "sync" refreshes them at once, inside the write's request (tests).
DASHBOARD_REFRESH = os.environ.get("DASHBOARD_REFRESH", "deferred")

# --- language and time -----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "gridgov" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- files -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
# Project-wide assets (app CSS and JS, vendored Leaflet/ECharts); apps keep their own in app/static/.
STATICFILES_DIRS = [BASE_DIR / "gridgov" / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it for production; WhiteNoise wants it to exist
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve straight from the app directories, so neither the demo nor the tests need collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# --- maps ------------------------------------------------------------------------------------
# Base tiles are off by default: the private network has no internet. Set a template such as a
# Tianditu or an in-house tile server URL, e.g. "http://tiles.local/{z}/{x}/{y}.png".
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")

# --- intake (docs/intake.md): SMS gateway, WeChat official account, hotline --------------------
SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")  # "log", "http" or a dotted path
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_ACCESS_KEY = os.environ.get("SMS_HTTP_ACCESS_KEY", "")
SMS_HTTP_SECRET = os.environ.get("SMS_HTTP_SECRET", "")
SMS_HTTP_SIGN_NAME = os.environ.get("SMS_HTTP_SIGN_NAME", "钟祥网格")
SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "5"))
SMS_INBOUND_SECRET = os.environ.get("SMS_INBOUND_SECRET", "")  # empty: the inbound webhook answers 503
SMS_INBOUND_WINDOW = int(os.environ.get("SMS_INBOUND_WINDOW", "300"))
WECHAT_TOKEN = os.environ.get("WECHAT_TOKEN", "")  # empty: the callback answers 503
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_ENCODING_AES_KEY = os.environ.get("WECHAT_ENCODING_AES_KEY", "")  # set: safe mode

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
