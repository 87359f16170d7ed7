"""Settings, read entirely from the environment. `.env.example` documents every name."""

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name) or str(default)
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

DEV_SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY_MIN_LENGTH = 32


def secret_key_problem(key: str) -> str:
    """Why `key` must not sign production sessions, or "" when it may."""
    if not key or key == DEV_SECRET_KEY:
        return "is missing or the development default"
    # Placeholders people copy from examples, like .env.example's change-me-to-a-long-random-string.
    if key.lower().startswith(("change-me", "changeme", "django-insecure")):
        return "is a placeholder"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"is shorter than {SECRET_KEY_MIN_LENGTH} characters"
    return ""


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if problem := secret_key_problem(SECRET_KEY):
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY {problem} while DEBUG is off. Set SECRET_KEY to a long random value, "
            'e.g. python -c "import secrets; print(secrets.token_urlsafe(50))" '
            "(or DEBUG=1 for local development)."
        )
    SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY

# Tickets' QR codes are signed with this Ed25519 key (32 bytes, base64url; `manage.py ticket_key`
# makes one) so door devices can check them with the public key alone. Development makes its own
# on the first run and keeps it in TICKET_DEV_KEY_FILE; production must be given one.
TICKET_SIGNING_KEY = os.environ.get("TICKET_SIGNING_KEY", "")
TICKET_DEV_KEY_FILE = BASE_DIR / ".ticket-signing-key"
if not DEBUG and not re.fullmatch(r"[A-Za-z0-9_-]{43}=?", TICKET_SIGNING_KEY):
    raise ImproperlyConfigured(
        "TICKET_SIGNING_KEY is missing or not a key while DEBUG is off: make one with "
        "`python manage.py ticket_key` and keep it as secret as SECRET_KEY."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Django's own widget templates, for FORM_RENDERER below.
    "django.forms",
    "channels",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "infra",
    "cinema",
    "seats",
    "bookings",
    "audit",
    "accounts",
    "payments",
    "checkin",
    "waitingroom",
    "backoffice",
    "webhooks",
    "api",
    "ninja",
]

MIDDLEWARE = [
    "infra.requestid.RequestIdMiddleware",
    # A 500-seat map is ~200 kB of very repetitive HTML: about a tenth of that compressed. Django's
    # GZip pads each response at random against BREACH (the pages carry CSRF tokens); event
    # streams go out as they are (infra.compression).
    "infra.compression.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "infra.csp.ContentSecurityPolicyMiddleware",
    "infra.edge.RejectControlCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Innermost and sync only: the whole chain runs on one thread (see the module).
    "infra.onethread.OneThreadMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
        },
    },
]

# Forms render with the templates above, so that templates/ may mend a widget's (the admin's
# date-and-time pair gets labels a screen reader can read).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 10)
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 0.5)
if DATABASE_POOL_TIMEOUT <= 0:
    raise ImproperlyConfigured(
        f"DATABASE_POOL_TIMEOUT must be more than 0 seconds, got {DATABASE_POOL_TIMEOUT}"
    )
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, sweeper, notifier) share the file: wait for locks, write ahead.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails the connection in 2 s (libpq's minimum) instead of the
    # operating system's minutes; `?connect_timeout=` in DATABASE_URL overrides it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Under ASGI every request runs on a thread of its own, so without a pool each request
    # connects afresh (about 10 ms) and a burst can exhaust max_connections (500s). Requests
    # beyond the pool wait for a connection instead. DATABASE_POOL_SIZE=0 turns it off.
    if DATABASE_POOL_SIZE:
        if DATABASES["default"]["CONN_MAX_AGE"]:
            raise ImproperlyConfigured(
                "DATABASE_CONN_MAX_AGE must be 0 while the pool is on (DATABASE_POOL_SIZE > 0)"
            )
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DATABASE_POOL_SIZE,
            # How long an admitted request waits for a connection before the busy page (503),
            # and, while the server is unreachable, before the "try again" page. Short: the
            # edge already queues requests (OVERLOAD_WAIT_MS), and a connection that is not free
            # within half a second means the database, not a burst, is the bottleneck.
            "timeout": DATABASE_POOL_TIMEOUT,
            # A failed connection is tried again in the background after 1, 2, 4, 8 s
            # (psycopg_pool's backoff, not configurable), so after a failover the pool's next
            # attempt came seconds after the new primary was up, and every request until then
            # got the "try again" page. Giving up on the background attempt once no request can
            # be waiting for it any more lets the next request start a fresh one at once.
            "reconnect_timeout": DATABASE_POOL_TIMEOUT,
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Prometheus metrics at /metrics for `Authorization: Bearer <METRICS_TOKEN>` (config.metrics);
# off (404) while empty. At most METRICS_MAX_ROOMS open waiting rooms are reported per scrape.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_MAX_ROOMS = env_int("METRICS_MAX_ROOMS", 20)

# Plain Redis: everything, unless REDIS_CLUSTER_URL is set; then the cache (sessions, login
# counts) and, unless CHANNEL_REDIS_URLS is set, the channel layer.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
# A Redis Cluster for the holds, the waiting room, the event stream and the workers (infra.redis):
# `redis://host:port` of one or more of its nodes, comma-separated. Database 0 only.
REDIS_CLUSTER_URL = os.environ.get("REDIS_CLUSTER_URL", "")
for _node in filter(None, REDIS_CLUSTER_URL.split(",")):
    if not re.fullmatch(r"rediss?://([^@/]*@)?[\w.-]+(:\d+)?/?(0)?", _node.strip()):
        raise ImproperlyConfigured(
            "REDIS_CLUSTER_URL must be redis://host:port of one or more cluster nodes, "
            f"comma-separated (database 0 only), got {_node!r}"
        )
# Attempts a cluster command gets at once, each on a fresh view of the cluster (a moved slot).
REDIS_CLUSTER_RETRIES = env_int("REDIS_CLUSTER_RETRIES", 3)
# Seconds a cluster command waits for a dead master's replica to take over (cluster-node-timeout
# plus the election) before the request gets the "try again" page. Above the longest promotion
# measured (2.6 s with cluster-node-timeout 1 s; bench/RESULTS.md) and 5 s; inside HAProxy's
# server timeout.
REDIS_FAILOVER_SECONDS = env_float("REDIS_FAILOVER_SECONDS", 6.0)
# The channel layer's Redis hosts, comma-separated; groups are spread over them (channels-redis
# hashes each group to one host). Plain Redis: pub/sub does not follow a cluster's failover.
CHANNEL_REDIS_URLS = env_list("CHANNEL_REDIS_URLS") or [REDIS_URL]
# Seconds to connect to Redis and to wait for any reply (infra.redis and the cache), so that a
# request fails within seconds while Redis is unreachable instead of hanging on it. The longest
# command sent on purpose, the notifier's XREADGROUP, blocks for one second.
REDIS_CONNECT_TIMEOUT = 1
REDIS_TIMEOUT = 2


def channel_layers(redis_urls: list[str]) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": list(redis_urls)},
        }
    }


CHANNEL_LAYERS = channel_layers(CHANNEL_REDIS_URLS)


def cache_config(redis_url: str) -> dict:
    return {
        "default": {
            # Django's RedisCache, with one connection pool per process (see infra/cache.py).
            "BACKEND": "infra.cache.SharedRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "cache",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
            },
        }
    }


# In Redis, not per process: every web process must count the same login attempts.
CACHES = cache_config(REDIS_URL)

# Sessions are read from the cache (Redis) and written through to the database, so a signed-in
# request costs no session query while the cache holds it, and a Redis wipe signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True
# A 24-hour clock in the admin and wherever Django formats a date by itself (infra/formats).
FORMAT_MODULE_PATH = ["infra.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded posters: files under MEDIA_ROOT, or any Django storage backend named by MEDIA_STORAGE,
# e.g. storages.backends.s3.S3Storage (pip install django-storages[s3]; it reads its AWS_* names
# from the environment). The app serves them itself at MEDIA_URL (infra.media), same origin.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
POSTER_MAX_BYTES = env_int("POSTER_MAX_BYTES", 5 * 1024 * 1024)
POSTER_MAX_PIXELS = 25_000_000
STORAGES = {
    "default": {
        "BACKEND": os.environ.get("MEDIA_STORAGE") or "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# The cinema's name, as moviegoers know it: emails come from it and are signed with it.
CINEMA_NAME = os.environ.get("CINEMA_NAME") or "Marquee Cinemas"
vars().update(dj_email_url.parse(os.environ.get("EMAIL_URL") or "console://"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or f"{CINEMA_NAME} <tickets@localhost>"
# An email's Date carries TIME_ZONE's offset ("+0100"), not "-0000" (which says "zone unknown").
EMAIL_USE_LOCALTIME = True

# Limits at the ASGI edge (infra.limits), per web process: a larger request body is 413, and a
# client address or session past its number of open WebSockets is closed with code 4429.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024)
# Seconds a connection has to send a request's headers, from when it opens or its last response
# went out; then it is closed (a client trickling a byte a second kept it forever). 0: no limit.
HEADERS_TIMEOUT_SECONDS = env_float("HEADERS_TIMEOUT_SECONDS", 10)
WEBSOCKET_MAX_PER_ADDRESS = env_int("WEBSOCKET_MAX_PER_ADDRESS", 100)
WEBSOCKET_MAX_PER_SESSION = env_int("WEBSOCKET_MAX_PER_SESSION", 10)
# HTTP requests inside Django at once, per web process (infra.limits.Admission); one more waits
# for a place if the queue before it, at the pace places have come free lately, lets it have one
# within OVERLOAD_WAIT_MS (the wait a buyer accepts; a burst the process can serve in time is
# served, not shed), and otherwise gets the busy page (503) at once, without reaching Django.
# As many as pooled connections: a request holds its connection from its first query to its
# end, so one more admitted would only wait on the pool, on a thread of its own, instead of
# waiting here as a coroutine (and under the GIL ten request threads already keep a process
# busy). /health, static files, media and the payment webhook are never turned away.
WEB_MAX_IN_FLIGHT = env_int("WEB_MAX_IN_FLIGHT", DATABASE_POOL_SIZE or 10)
OVERLOAD_WAIT_MS = env_int("OVERLOAD_WAIT_MS", 2000)
# A buyer paying for held seats (the pay button, the provider's checkout page on this site, the
# return page) waits up to PAYING_WAIT_MS for a place in the same lane: turned away, their hold
# could run out while the provider takes the money, and they would be refunded, not seated.
PAYING_WAIT_MS = env_int("PAYING_WAIT_MS", 10_000)
# The waiting room's queue page has a lane of its own: at most ROOM_MAX_IN_FLIGHT of its requests
# inside Django at once, per web process, the rest waiting in arrival order up to ROOM_WAIT_MS.
# An on-sale's crowd arriving at once is served in turn, keeping its order, without taking the
# places of the shoppers the room lets in (0: the queue page shares the lane of every request).
ROOM_MAX_IN_FLIGHT = env_int("ROOM_MAX_IN_FLIGHT", 2)
ROOM_WAIT_MS = env_int("ROOM_WAIT_MS", 30_000)
# On: a queued member's visit to the queue page is answered at the ASGI edge, before Django's
# middleware (waitingroom.edge): a third of the web CPU per join, but in the on-sale bench on two
# cores the sale itself went slower with it (more of the crowd's sockets at once; bench/RESULTS.md,
# "Issue 33 on a quiet box"), so it stays off until that is understood.
QUEUE_AT_THE_EDGE = env_bool("QUEUE_AT_THE_EDGE", False)
if min(WEB_MAX_IN_FLIGHT, OVERLOAD_WAIT_MS, PAYING_WAIT_MS, ROOM_MAX_IN_FLIGHT, ROOM_WAIT_MS) < 0:
    raise ImproperlyConfigured(
        "WEB_MAX_IN_FLIGHT, OVERLOAD_WAIT_MS, PAYING_WAIT_MS, ROOM_MAX_IN_FLIGHT and ROOM_WAIT_MS "
        "must not be negative"
    )

# Booking rules.
HOLD_TTL_SECONDS = env_int("HOLD_TTL_SECONDS", 300)
HOLD_MAX_EXTENSIONS = env_int("HOLD_MAX_EXTENSIONS", 2)
# How often each web process checks the live seat maps it serves against the truth (seconds): a
# socket showing a seat otherwise is sent the seat (seats.consumers). A lost message is healed
# within about this plus a second.
SEATMAP_CHECK_SECONDS = env_float("SEATMAP_CHECK_SECONDS", 5)
if SEATMAP_CHECK_SECONDS <= 0:
    raise ImproperlyConfigured("SEATMAP_CHECK_SECONDS must be more than 0")
# The longest an API event stream of seat changes lasts (seconds; api.events): then it ends and
# its client reconnects to a fresh map, so no request's work is unbounded.
SSE_MAX_SECONDS = env_int("SSE_MAX_SECONDS", 300)
if SSE_MAX_SECONDS <= 0:
    raise ImproperlyConfigured("SSE_MAX_SECONDS must be more than 0")
MAX_SEATS_PER_BOOKING = env_int("MAX_SEATS_PER_BOOKING", 10)
# Across all showtimes at once, so one account cannot keep many showtimes off sale.
MAX_SEATS_HELD_PER_ACCOUNT = env_int("MAX_SEATS_HELD_PER_ACCOUNT", 10)
MAX_OPEN_BOOKINGS_PER_ACCOUNT = env_int("MAX_OPEN_BOOKINGS_PER_ACCOUNT", 3)
# Holding seats needs a confirmed email address (or Google sign-in): throwaway accounts cannot.
HOLD_REQUIRES_VERIFIED_EMAIL = env_bool("HOLD_REQUIRES_VERIFIED_EMAIL", True)
# A sold-out showtime's waiting list: seats that come back are held for the first entry they fit
# this long (minutes), and never past this long before the show (minutes), so an offer never
# keeps seats off sale when walk-up buyers need them.
WAITLIST_CLAIM_MINUTES = env_int("WAITLIST_CLAIM_MINUTES", 30)
WAITLIST_CUTOFF_MINUTES = env_int("WAITLIST_CUTOFF_MINUTES", 30)
if WAITLIST_CLAIM_MINUTES <= 0 or WAITLIST_CUTOFF_MINUTES < 0:
    raise ImproperlyConfigured(
        "WAITLIST_CLAIM_MINUTES must be more than 0 and WAITLIST_CUTOFF_MINUTES not negative"
    )
# Passing tickets on (bookings/services/transfers.py), never a sale through us: a ticket changes
# hands at most this many times (a transfer taken back counts), and one account passes tickets
# of one showtime on at most this many times.
TRANSFERS_PER_TICKET = env_int("TRANSFERS_PER_TICKET", 2)
TRANSFERS_PER_ACCOUNT_PER_SHOWTIME = env_int("TRANSFERS_PER_ACCOUNT_PER_SHOWTIME", 3)
if TRANSFERS_PER_TICKET < 0 or TRANSFERS_PER_ACCOUNT_PER_SHOWTIME < 0:
    raise ImproperlyConfigured(
        "TRANSFERS_PER_TICKET and TRANSFERS_PER_ACCOUNT_PER_SHOWTIME must not be negative"
    )
CLEANING_GAP_MINUTES = env_int("CLEANING_GAP_MINUTES", 15)
# Wheelchair spaces and companion seats are kept for wheelchair users until this long before
# a showtime starts (a showtime may set its own time).
WHEELCHAIR_RELEASE_HOURS = env_int("WHEELCHAIR_RELEASE_HOURS", 24)
# Per-user limits on hold and release requests: (count, window in seconds).
RATE_LIMITS = {
    "hold": (env_int("HOLD_RATE_LIMIT", 30), 60),
    "release": (env_int("RELEASE_RATE_LIMIT", 30), 60),
    # Every API call with a token (per token) or the session (per user).
    "api": (env_int("API_RATE_LIMIT", 600), 60),
}
# Payments (payments/gateway.py is the interface; README "Payments" says how to add a provider).
MOCK_GATEWAY = "payments.mock.gateway.MockGateway"
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "")
if not PAYMENT_GATEWAY and not DEBUG:
    # The mock gives tickets away: a production site names its provider (or the mock) itself.
    raise ImproperlyConfigured(
        "PAYMENT_GATEWAY is not set while DEBUG is off. Name your payment provider's class, or "
        f"{MOCK_GATEWAY} for a test-mode demo in which no money moves."
    )
PAYMENT_GATEWAY = PAYMENT_GATEWAY or MOCK_GATEWAY
CURRENCY = os.environ.get("CURRENCY", "GBP").upper()
# Stripe (payments/stripe/; README, "Going live with Stripe"). The API base and the Stripe.js
# address are for testing against a Stripe-compatible server; live keys only ever go to Stripe.
STRIPE_GATEWAY = "payments.stripe.gateway.StripeGateway"
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "").rstrip("/")
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/"
# A staging site (DEBUG off) may take test keys when it says so.
STRIPE_ALLOW_TEST_KEYS = env_bool("STRIPE_ALLOW_TEST_KEYS", False)


def stripe_problem(
    *,
    secret_key: str,
    publishable_key: str,
    webhook_secret: str,
    api_base: str,
    currency: str,
    debug: bool,
    allow_test_keys: bool,
) -> str:
    """Why these Stripe settings must not start, or "" when they may."""
    secret = re.fullmatch(r"(?:sk|rk)_(test|live)_\w+", secret_key)
    public = re.fullmatch(r"pk_(test|live)_\w+", publishable_key)
    if not secret:
        return "STRIPE_SECRET_KEY is missing or not a secret key (sk_test_... or sk_live_...)."
    if not public:
        return "STRIPE_PUBLISHABLE_KEY is missing or not a publishable key (pk_test_ or pk_live_)."
    if secret[1] != public[1]:
        return "STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY must be both test or both live keys."
    if secret[1] == "live" and debug:
        return "A live Stripe key while DEBUG is on: a development site would charge real cards."
    if secret[1] == "live" and api_base:
        return "A live Stripe key with STRIPE_API_BASE set: live keys only ever go to Stripe."
    if secret[1] == "test" and not debug and not allow_test_keys:
        return (
            "A test Stripe key while DEBUG is off: no money would be taken for real tickets. Use "
            "the live keys, or set STRIPE_ALLOW_TEST_KEYS=1 for a staging site."
        )
    if not webhook_secret.startswith("whsec_"):
        return (
            "STRIPE_WEBHOOK_SECRET is missing: copy the signing secret (whsec_...) of the webhook "
            "endpoint from Stripe's dashboard (or `stripe listen`)."
        )
    if currency in {"BHD", "JOD", "KWD", "OMR", "TND"}:
        return f"CURRENCY {currency} has three decimal places, which this site does not charge in."
    return ""


# The secret the gateway signs its webhooks with; a signature older than the tolerance is refused.
DEV_WEBHOOK_SECRET = "whsec-insecure-development-secret"  # noqa: S105
PAYMENT_WEBHOOK_SECRET = os.environ.get("PAYMENT_WEBHOOK_SECRET", "")
if PAYMENT_GATEWAY == STRIPE_GATEWAY:
    PAYMENT_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or PAYMENT_WEBHOOK_SECRET
    if problem := stripe_problem(
        secret_key=STRIPE_SECRET_KEY,
        publishable_key=STRIPE_PUBLISHABLE_KEY,
        webhook_secret=PAYMENT_WEBHOOK_SECRET,
        api_base=STRIPE_API_BASE,
        currency=CURRENCY,
        debug=DEBUG,
        allow_test_keys=STRIPE_ALLOW_TEST_KEYS,
    ):
        raise ImproperlyConfigured(problem)
# The development secret is in the source: with it anyone could sign a payment. With DEBUG off a
# secret of the site's own is required, the mock's too (it signs its webhooks with it).
if not DEBUG and (PAYMENT_WEBHOOK_SECRET == DEV_WEBHOOK_SECRET or len(PAYMENT_WEBHOOK_SECRET) < 24):
    raise ImproperlyConfigured(
        "PAYMENT_WEBHOOK_SECRET is missing, too short (under 24 characters) or the development "
        "secret while DEBUG is off: copy the webhook signing secret from the payment provider's "
        'dashboard (with the mock, make one: python -c "import secrets; '
        'print(secrets.token_urlsafe(32))").'
    )
PAYMENT_WEBHOOK_SECRET = PAYMENT_WEBHOOK_SECRET or DEV_WEBHOOK_SECRET
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = env_int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)
# A customer may cancel a paid booking for a full refund until this long before the show.
REFUND_CUTOFF_HOURS = env_int("REFUND_CUTOFF_HOURS", 2)
# Adverts and trailers before the film: a calendar event ends this long after start + runtime.
TRAILERS_MINUTES = env_int("TRAILERS_MINUTES", 20)
# The calendar event reminds the buyer this long before the show.
REMINDER_MINUTES = env_int("REMINDER_MINUTES", 60)
if TRAILERS_MINUTES < 0 or REMINDER_MINUTES < 0:
    raise ImproperlyConfigured("TRAILERS_MINUTES and REMINDER_MINUTES must be 0 or more")
# The mock provider (payments/mock/, served only when it is PAYMENT_GATEWAY) delivers its
# webhooks over HTTP from the web process ("http") or keeps them until a test sends them
# ("manual"); it can delay, duplicate or reorder them, as real providers sometimes do.
MOCK_GATEWAY_WEBHOOKS = os.environ.get("MOCK_GATEWAY_WEBHOOKS", "http")
if MOCK_GATEWAY_WEBHOOKS not in {"http", "manual"}:
    raise ImproperlyConfigured(
        f"MOCK_GATEWAY_WEBHOOKS must be 'http' or 'manual', got {MOCK_GATEWAY_WEBHOOKS!r}"
    )
# Where the mock posts: a path is taken on the host the buyer paid on.
MOCK_GATEWAY_WEBHOOK_URL = os.environ.get("MOCK_GATEWAY_WEBHOOK_URL", "/payments/webhook/")
MOCK_GATEWAY_WEBHOOK_DELAY_SECONDS = float(
    os.environ.get("MOCK_GATEWAY_WEBHOOK_DELAY_SECONDS", "0")
)
MOCK_GATEWAY_WEBHOOK_DUPLICATE = env_bool("MOCK_GATEWAY_WEBHOOK_DUPLICATE", False)
MOCK_GATEWAY_WEBHOOK_REORDER = env_bool("MOCK_GATEWAY_WEBHOOK_REORDER", False)
if PAYMENT_GATEWAY == MOCK_GATEWAY:
    INSTALLED_APPS.append("payments.mock")
if PAYMENT_GATEWAY == STRIPE_GATEWAY:
    INSTALLED_APPS.append("payments.stripe")
# What records a bug no view or consumer handled (infra.errors: infra imports no app).
ERROR_RECORDER = "audit.services.record_error"
# Who bought which seat, for the seat map (seats/seatmap.py SeatSales): where bookings' tickets
# meet the seat map, named here so that seats never imports bookings.
SEAT_SALES = "bookings.selectors.BookingSales"
# Which seats are held, for the listings' "wheelchair space free" filter (cinema.selectors):
# named here so that cinema never imports seats.
SEAT_HOLDS = "seats.holds.held_among"
# What the notifier attaches to an event's email (the PDF tickets and the calendar event).
EMAIL_ATTACHMENTS = "bookings.tickets.attachments"
# Which tickets are in already, for passing tickets on (bookings/services/transfers.py): named
# here so that bookings never imports the door.
TICKET_CHECK_INS = "checkin.services.checked_in"
# Names showtimes on the audit trail's staff pages (audit holds ids only; see audit/display.py).
AUDIT_SHOWTIME_NAMES = "cinema.facts.showtime_facts"
# Where the cinema is, for the booking emails (audit imports no catalogue; see audit/emails.py).
EMAIL_VENUE = "cinema.facts.venue_facts"

# Webhooks out (webhooks/): a receiver has this many seconds to connect and to answer each read,
# and a delivery it does not take is tried again, with backoff, for this many hours.
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 5)
WEBHOOK_RETRY_HOURS = env_float("WEBHOOK_RETRY_HOURS", 24)
# Whether webhooks may go to loopback and private addresses (webhooks/addresses.py).
WEBHOOK_PRIVATE_ADDRESSES = env_bool("WEBHOOK_PRIVATE_ADDRESSES", DEBUG)
if WEBHOOK_TIMEOUT_SECONDS <= 0 or WEBHOOK_RETRY_HOURS <= 0:
    raise ImproperlyConfigured(
        "WEBHOOK_TIMEOUT_SECONDS and WEBHOOK_RETRY_HOURS must be more than 0"
    )

# Audit events go to this Redis Stream after commit, trimmed to about EVENT_STREAM_MAXLEN entries.
EVENT_STREAM = os.environ.get("EVENT_STREAM", "events")
EVENT_STREAM_MAXLEN = env_int("EVENT_STREAM_MAXLEN", 100_000)
# Links in emails are absolute: the address moviegoers reach the site at (never the Host of the
# request that sent them, which behind a proxy is an internal address).
SITE_URL = (os.environ.get("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
# Shown on the back office's System page; the image sets it from the git sha it was built from.
BUILD_VERSION = os.environ.get("BUILD_VERSION", "") or "dev"

# Sign-in: django-allauth. Email and password, plus Google when GOOGLE_CLIENT_ID is set.
GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET", "")
# Verified Google emails that get the back office (staff and superuser) when they sign in.
ADMIN_EMAILS = [email.lower() for email in env_list("ADMIN_EMAILS")]
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
ACCOUNT_USER_DISPLAY = "accounts.adapter.display_name"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# allauth's emails are signed by the cinema (accounts.adapter), not by the request's host name.
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{CINEMA_NAME}] "
# The confirmation link goes through EMAIL_URL (printed to the log locally). "mandatory" (the
# default with DEBUG off) holds sign-in until it is clicked, and only then can sign-up keep
# secret whether an email has an account: a taken email gets the same "check your inbox" page
# as a new one, and its owner an email saying so. "optional" (with DEBUG on) signs a new
# customer in at once, so sign-up has to refuse a taken email to their face.
ACCOUNT_EMAIL_VERIFICATION = os.environ.get(
    "ACCOUNT_EMAIL_VERIFICATION", "optional" if DEBUG else "mandatory"
)
if ACCOUNT_EMAIL_VERIFICATION not in {"none", "optional", "mandatory"}:
    raise ImproperlyConfigured(
        "ACCOUNT_EMAIL_VERIFICATION must be none, optional or mandatory, "
        f"got {ACCOUNT_EMAIL_VERIFICATION!r}"
    )
ACCOUNT_PREVENT_ENUMERATION = True
# The link signs in the browser that signed up (and only that one).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
# Sign-up attempts per client address per hour (every submitted form counts).
SIGNUP_RATE_LIMIT = env_int("SIGNUP_RATE_LIMIT", 10)
# Failed sign-ins: 10 a minute from one address, and 5 in 5 minutes for one email from one
# address ("key" is address and email together, see accounts.adapter), so guessing at an email
# never locks its owner out of signing in from anywhere else.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": f"{SIGNUP_RATE_LIMIT}/h/ip",
}
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["email", "profile"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
        # A Google account never signs in to a local account just because the emails match.
        "EMAIL_AUTHENTICATION": False,
        **(
            {"APP": {"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}}
            if GOOGLE_CLIENT_ID
            else {}
        ),
    }
}

# Production hardening: on whenever DEBUG is off.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
# Addresses or networks (CIDR) of the proxies whose X-Request-ID is kept, compared with the
# connecting address (REMOTE_ADDR); from anyone else the header is ignored and a new id made.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must be IP addresses or networks like 10.0.0.0/8, got {proxy!r}"
        ) from None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
# Links in emails and the OAuth callback URL use https whenever the site is served over it.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SECURE_SSL_REDIRECT else "http"
SESSION_COOKIE_SECURE = not DEBUG
# Lax, not Strict: Google's redirect back to the callback must carry the session with its state.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent on every response by infra.csp; "'nonce'" becomes that request's nonce. A sign-in form
# posts to this site, which answers with a redirect to Google: Chrome checks form-action against
# that redirect too, so Google's origin is allowed exactly when Google sign-in is configured.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce'"],
    "style-src": ["'self'"],
    # 'self' matches ws:// and wss:// on this host for the live seat map.
    "connect-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'", *(["https://accounts.google.com"] if GOOGLE_CLIENT_ID else [])],
}


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Stripe.js (its script, its card frame and 3-D Secure frames, its calls to the API) is allowed
# exactly when Stripe is the provider, as its CSP guide lists.
if PAYMENT_GATEWAY == STRIPE_GATEWAY:
    STRIPE_JS_ORIGINS = [origin(STRIPE_JS_URL), "https://*.js.stripe.com"]
    CONTENT_SECURITY_POLICY["script-src"] += STRIPE_JS_ORIGINS
    CONTENT_SECURITY_POLICY["frame-src"] = [*STRIPE_JS_ORIGINS, "https://hooks.stripe.com"]
    CONTENT_SECURITY_POLICY["connect-src"] += [
        origin(STRIPE_API_BASE or "https://api.stripe.com"),
        origin(STRIPE_JS_URL),
    ]

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "infra.logging.JsonFormatter"},
    },
    "filters": {
        "request_id": {"()": "infra.requestid.RequestIdFilter"},
        "refusals": {"()": "infra.logging.RefusalsWithoutTraceback"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.request": {"filters": ["refusals"]},
    },
}
