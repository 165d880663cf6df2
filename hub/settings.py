"""Settings for Platform Hub, read from the environment (see DESIGN.md "Configuration").

`HUB_ENV=development` (the default) fills in safe-for-a-laptop values: a secret key
and Fernet keys generated once under `var/`, SQLite, a broker that needs no server.
`HUB_ENV=production` requires every secret from the environment and turns on the
secure cookie, HSTS and SSL settings, so `manage.py check --deploy` is clean.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

# Booleans and numbers: django-environ, strict (a typo or a bad number is an error).
from hub.env import env
from hub.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var"))

HUB_ENV = os.environ.get("HUB_ENV", "development")
if HUB_ENV not in ("development", "production"):
    raise ImproperlyConfigured("HUB_ENV must be 'development' or 'production'")
PRODUCTION = HUB_ENV == "production"


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _dev_secret(filename: str, make) -> str:
    """A value generated once into var/ so development data survives restarts. Processes
    starting at once (parallel test workers; web, worker and beat) all get the first one
    written: each drafts its own and links it into place, which fails if one is there."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if not path.exists():
        draft = VAR_DIR / f".{filename}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when HUB_ENV=production")
    return value


def _checked_fernet_keys(keys: list[str]) -> list[str]:
    """Fail at start-up, not at the first secret reveal, on a malformed key."""

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                f"HUB_FERNET_KEYS: key {position} is not a Fernet key (generate one with "
                '`python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`)'
            ) from None
    return keys


if PRODUCTION:
    SECRET_KEY = _required("SECRET_KEY")
    HUB_FERNET_KEYS = _checked_fernet_keys(
        env_list("HUB_FERNET_KEYS") or [_required("HUB_FERNET_KEYS")]
    )
else:
    SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secret("secret_key", get_random_secret_key)

    def _fernet_key() -> str:
        return Fernet.generate_key().decode()

    HUB_FERNET_KEYS = env_list("HUB_FERNET_KEYS") or [_dev_secret("fernet_key", _fernet_key)]

DEBUG = env.bool("HUB_DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    _required("ALLOWED_HOSTS")  # empty would answer every request with 400
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "hub",
    "projects",
    "identities",
    "docker_repos",
]

MIDDLEWARE = [
    # Probes and /metrics first: answered whatever the Host header (a kubelet asks by pod
    # IP), never redirected to https, without sessions or CSRF (hub/probes.py).
    "hub.probes.ProbeMiddleware",
    "hub.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "hub.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hub.middleware.LoginRequiredMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "hub.middleware.FormAddressMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

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
                "hub.context_processors.hub",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'hub.sqlite3'}",
        conn_max_age=env.int("HUB_DB_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait for locks, don't fail.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "hub.auth.VerifiedEmailAuthenticationBackend",
    "hub.auth.HubAdminPermissionsBackend",
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The image collects static files outside VAR_DIR (HUB_STATIC_ROOT), so a pod can mount an
# empty writable volume on VAR_DIR beside a read-only root filesystem.
STATIC_ROOT = Path(os.environ.get("HUB_STATIC_ROOT") or VAR_DIR / "static")
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "projects:list"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# --- Sign-in (django-allauth) -------------------------------------------------------
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# Adding an address (sign-up, the email page) mails a verification link; an address counts
# nowhere until followed (hub.auth.users_with_verified_email).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_CONFIRMATION_HMAC = True
# Mail: development writes each message as a file under var/mail/ (no server needed);
# production sends over SMTP (Django's EMAIL_* settings from the environment).
if PRODUCTION or os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Platform Hub <hub@localhost>")
ACCOUNT_ADAPTER = "hub.auth.AccountAdapter"
ACCOUNT_FORMS = {"login": "hub.forms.SignInForm"}
SOCIALACCOUNT_ADAPTER = "hub.auth.SocialAccountAdapter"
HUB_LOCAL_SIGNUP = env.bool("HUB_LOCAL_SIGNUP", default=not PRODUCTION)
# HUB_LOCAL_SIGNIN=0 with OpenID Connect configured: people sign in only through the
# provider (no local password sign-in or sign-up); operators' break-glass is
# `manage.py hub_break_glass USERNAME`, a one-time sign-in link for a staff account.
HUB_LOCAL_SIGNIN = env.bool("HUB_LOCAL_SIGNIN", default=True)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_PROVIDERS = {}
if os.environ.get("HUB_OIDC_SERVER_URL"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": os.environ.get("HUB_OIDC_PROVIDER_ID", "keycloak"),
                "name": os.environ.get("HUB_OIDC_NAME", "Keycloak"),
                "client_id": _required("HUB_OIDC_CLIENT_ID")
                if PRODUCTION
                else os.environ.get("HUB_OIDC_CLIENT_ID", ""),
                "secret": os.environ.get("HUB_OIDC_CLIENT_SECRET", ""),
                # PKCE (S256) on top of the client secret: Keycloak accepts it on every
                # client, and a provider may require it (oidc-provider does).
                "settings": {
                    "server_url": os.environ["HUB_OIDC_SERVER_URL"],
                    "oauth_pkce_enabled": True,
                },
            }
        ]
    }

# --- REST API -----------------------------------------------------------------------
# Throttling per person (token or session), kept in Django's cache: Redis when
# HUB_CACHE_URL is set (production: every web process shares the counts), else each
# process's own memory.
HUB_CACHE_URL = os.environ.get("HUB_CACHE_URL", "")
if HUB_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": HUB_CACHE_URL,
            "KEY_PREFIX": "hub",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
HUB_API_RATE = os.environ.get("HUB_API_RATE", "600/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", HUB_API_RATE):
    raise ImproperlyConfigured('HUB_API_RATE must look like "600/min" (per s, min, hour or day)')

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identities.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON in and out (shared/API.md); no browsable API, no OPTIONS metadata.
    "DEFAULT_PARSER_CLASSES": ["hub.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_PAGINATION_CLASS": "hub.api.pagination.HubPagination",
    "DEFAULT_THROTTLE_CLASSES": ["hub.api.throttling.HubApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {"hub_api": HUB_API_RATE},
    "EXCEPTION_HANDLER": "hub.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Platform Hub API",
    "DESCRIPTION": (
        "Self-service private Docker repositories in AWS ECR.\n\n"
        "**Authentication**: `Authorization: Token <token>` with a personal API token "
        "(create one on the API tokens page, or `python manage.py hub_api_token <username>`); "
        "the browser's session also works, with CSRF for unsafe methods.\n\n"
        '**Errors** all have one shape, `{"error": {"code", "message", "fields"}}`: '
        "400 invalid input, 401 not authenticated, 403 not allowed, 404 unknown or not "
        "visible to you, 409 wrong state or duplicate, 429 throttled (see `Retry-After`).\n\n"
        '**Lists** are paginated: `{"count", "next", "previous", "results"}`.'
    ),
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.api.schema.strict_request_bodies",
        "hub.api.schema.too_large_bodies",
    ],
    "PATH_CONVERTER_OVERRIDES": {
        "hub_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999},
        "hub_username": {"type": "string", "pattern": r"^[\w.@+-]+$"},
    },
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "hub.choices.Status",
        "RoleEnum": "projects.choices.Role",
        "RepoManagementEnum": "projects.choices.RepoManagement",
        "TagMutabilityEnum": "docker_repos.choices.TagMutability",
    },
    "TAGS": [
        {"name": "me", "description": "Who you are."},
        {"name": "projects", "description": "Projects (hub admins create them)."},
        {"name": "members", "description": "A project's members and their roles."},
        {"name": "services", "description": "A project's services; a repository belongs to one."},
        {"name": "docker-repos", "description": "Private ECR repositories and their images."},
        {"name": "access", "description": "Who may pull or push a repository: people and robots."},
        {"name": "identities", "description": "Your own IAM identity for ECR."},
    ],
}

# --- Celery -------------------------------------------------------------------------
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchange tables; kombu's default is "control" in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "reconcile": {
        "task": "docker_repos.tasks.reconcile",
        "schedule": 60.0,
        "options": {"expires": 55},  # a pass that could not start in time is dropped
    },
}
# Celery beat records a heartbeat (hub.Heartbeat "beat") at least this often, from its own
# scheduler loop (hub/beat.py); older than HUB_BEAT_STALE_AFTER it is stale: `hub_probe
# beat` fails, /readyz says so, and the BeatHeartbeatStale alert fires. /readyz fails on a
# stale beat only with HUB_READY_REQUIRES_BEAT=1: by default a scheduler fault must not
# take every web pod out of service.
CELERY_BEAT_SCHEDULER = "hub.beat:HeartbeatScheduler"
HUB_BEAT_HEARTBEAT_EVERY = env.float("HUB_BEAT_HEARTBEAT_EVERY", default=15.0)
HUB_BEAT_STALE_AFTER = env.float("HUB_BEAT_STALE_AFTER", default=180.0)
HUB_READY_REQUIRES_BEAT = env.bool("HUB_READY_REQUIRES_BEAT", default=False)
# Prometheus: the worker and beat serve /metrics on this port (0: off, the default under
# `make run` and in tests); the web serves it at /metrics on its own port. With
# HUB_METRICS_TOKEN set, /metrics asks for `Authorization: Bearer <token>`.
HUB_METRICS_PORT = env.int("HUB_METRICS_PORT", default=0)
HUB_METRICS_TOKEN = os.environ.get("HUB_METRICS_TOKEN", "")
# Wiring, not configuration (settings know every app; hub imports none): the models whose
# rows /metrics counts by status, and every column that holds a hub.crypto ciphertext
# (`manage.py hub_reencrypt` re-encrypts them all).
HUB_METRICS_OBJECT_MODELS = {
    "docker_repo": "docker_repos.DockerRepo",
    "robot": "docker_repos.RobotAccount",
    "repo_access": "docker_repos.RepoAccess",
    "ecr_identity": "identities.EcrIdentity",
}
HUB_ENCRYPTED_FIELDS = [
    "identities.EcrIdentity.secret_access_key_encrypted",
    "docker_repos.RobotAccount.secret_access_key_encrypted",
]
# A repository pending or deleting with no progress for this long is re-sent.
HUB_RECONCILE_STUCK_AFTER = env.int("HUB_RECONCILE_STUCK_AFTER", default=300)
# Parallel AWS reads of one reconciler pass (botocore pools 10 connections per client).
HUB_RECONCILE_THREADS = env.int("HUB_RECONCILE_THREADS", default=8)

# --- AWS ----------------------------------------------------------------------------
AWS_DEFAULT_REGION = os.environ.get("AWS_DEFAULT_REGION", "eu-west-2")
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL", "")
# Full IAM role or user ARNs only: `*` or a bare account id would make every repository
# pullable by anyone (or by a whole account).
_PRINCIPAL_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]+")


def _checked_pull_principals(principals: list[str]) -> list[str]:
    wrong = [p for p in principals if not _PRINCIPAL_ARN.fullmatch(p)]
    if wrong:
        raise ImproperlyConfigured(
            "HUB_ECR_PULL_PRINCIPALS: every entry must be the full ARN of an IAM role or "
            "user (arn:aws:iam::123456789012:role/NAME); refused: "
            + ", ".join(repr(p) for p in wrong)
        )
    return principals


HUB_ECR_PULL_PRINCIPALS = _checked_pull_principals(env_list("HUB_ECR_PULL_PRINCIPALS"))
# The managed policy every IAM user the hub creates carries as its permissions boundary
# (aws/user-boundary.json; an operator creates it once). The hub's own policy lets it
# create users only with exactly this boundary. In development it is the stand-in
# account's policy, which `make run` creates in the local AWS stand-in.
HUB_IAM_PERMISSIONS_BOUNDARY = os.environ.get("HUB_IAM_PERMISSIONS_BOUNDARY") or (
    _required("HUB_IAM_PERMISSIONS_BOUNDARY")
    if PRODUCTION
    else "arn:aws:iam::123456789012:policy/platform-hub-user-boundary"
)
if not re.fullmatch(
    r"arn:aws(-[a-z]+)*:iam::\d{12}:policy/[\w+=,.@/-]+", HUB_IAM_PERMISSIONS_BOUNDARY
):
    raise ImproperlyConfigured(
        "HUB_IAM_PERMISSIONS_BOUNDARY must be the ARN of a managed IAM policy "
        "(arn:aws:iam::123456789012:policy/platform-hub-user-boundary)"
    )
HUB_AWS_CONNECT_TIMEOUT = env.float("HUB_AWS_CONNECT_TIMEOUT", default=3.0)
HUB_AWS_READ_TIMEOUT = env.float("HUB_AWS_READ_TIMEOUT", default=10.0)
HUB_AWS_MAX_ATTEMPTS = env.int("HUB_AWS_MAX_ATTEMPTS", default=3)

# --- Security -----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the browser's API calls read it for X-CSRFToken
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp's middleware): every script, stylesheet, image and
# font is served by the hub itself (no CDN). Inline style attributes are allowed for the
# Django admin and the 500 page; inline scripts are not. A view that needs more says so
# with django-csp's decorators (the API docs page: Swagger UI's data: images, hub/urls.py).
_csp_form_action = [SELF]
if os.environ.get("HUB_OIDC_SERVER_URL"):
    # Signing in and out are forms whose answer redirects to the OpenID provider, and
    # form-action also governs where a form's redirect may go.
    _oidc = urlsplit(os.environ["HUB_OIDC_SERVER_URL"])
    _oidc_host = _oidc.netloc.rpartition("@")[2].lower()
    _csp_form_action.append(f"{_oidc.scheme.lower()}://{_oidc_host}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": _csp_form_action,
        "frame-ancestors": [NONE],
    },
}
# Not CSP (django-csp does not set it): hub.middleware.PermissionsPolicyMiddleware.
HUB_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"
# Sign-in lockout (allauth): after this many failed attempts for one account, sign-in
# for it is refused for the timeout; per IP address, 10 failures a minute.
HUB_LOGIN_ATTEMPTS_LIMIT = env.int("HUB_LOGIN_ATTEMPTS_LIMIT", default=5)
HUB_LOGIN_ATTEMPTS_TIMEOUT = env.int("HUB_LOGIN_ATTEMPTS_TIMEOUT", default=300)
HUB_LOGIN_FAILURES_PER_IP = "10/m/ip"
ACCOUNT_RATE_LIMITS = {
    "login_failed": (
        f"{HUB_LOGIN_FAILURES_PER_IP},{HUB_LOGIN_ATTEMPTS_LIMIT}/{HUB_LOGIN_ATTEMPTS_TIMEOUT}s/key"
    ),
    # Wrong API tokens (identities.authentication), with the same mechanism and budget:
    # per IP address only, so nobody can lock another person's token out.
    "api_token_failed": HUB_LOGIN_FAILURES_PER_IP,
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("HUB_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("HUB_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("HUB_HSTS_PRELOAD", default=True)
    # The probes and /metrics are answered before SecurityMiddleware (hub.probes), so they
    # are never redirected; this covers a probe that reaches the URLconf anyway.
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|livez|readyz|metrics)$"]

# One log format for every process (hub/logging.py): JSON lines in production, readable
# text in development; secrets redacted either way.
HUB_LOG_FORMAT = os.environ.get("HUB_LOG_FORMAT") or ("json" if PRODUCTION else "text")
if HUB_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("HUB_LOG_FORMAT must be 'json' or 'text'")
HUB_LOG_LEVEL = os.environ.get("HUB_LOG_LEVEL", "INFO").upper()


LOGGING = logging_config(log_format=HUB_LOG_FORMAT, level=HUB_LOG_LEVEL)

# Development serves static files straight from the apps and packages (also with debug
# off, as `make run` has it); production from STATIC_ROOT after collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION

# Celery retries of transient AWS failures: exponential backoff with jitter.
HUB_TASK_MAX_RETRIES = env.int("HUB_TASK_MAX_RETRIES", default=6)
HUB_TASK_RETRY_BASE = env.float("HUB_TASK_RETRY_BASE", default=2.0)  # seconds
HUB_TASK_RETRY_CAP = env.float("HUB_TASK_RETRY_CAP", default=120.0)
