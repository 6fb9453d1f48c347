"""Settings for d2w.

Three classes (development, testing, production). Any setting defined on a class can be
overridden from the environment with a ``D2W_`` prefix, for example ``D2W_SECRET_KEY`` or
``D2W_SESSION_IDLE_MINUTES=30``. ``D2W_DATABASE_URL`` sets ``SQLALCHEMY_DATABASE_URI``.

Production reads its secrets only from the environment and refuses to start without them.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# Environment names that map onto a differently named setting.
ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message is one line a person can act on."""


class Config:
    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    # hide_parameters: a database error's message never carries the values (personal data).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    SQLALCHEMY_RECORD_QUERIES = False
    # An SQLite file database runs in write-ahead-log mode (readers go on while a worker writes;
    # a commit is synced at checkpoints, so a power cut may lose the last commits but never
    # corrupts the file). No effect on PostgreSQL.
    SQLITE_WAL = True
    # PostgreSQL: psycopg prepares statements a connection runs often, and d2w keeps them across
    # requests that only read (d2w.core.db.keep_prepared_statements). Turn off behind a pooler
    # that hands one server connection to many clients between transactions (PgBouncer in
    # transaction mode before 1.21), which cannot keep a prepared statement. No effect on SQLite.
    POSTGRES_PREPARED_STATEMENTS = True
    # PostgreSQL: the planner's cost of reading a page out of order (random_page_cost), set on
    # each connection d2w opens. d2w's data is small enough to stay in memory, where a random
    # read costs little more than a sequential one; with the server's default of 4 the planner
    # reads a whole table to join a hundred rows of it (a cohort's register). 0 leaves the
    # server's own value (set it there, or behind a pooler that refuses connection options).
    POSTGRES_RANDOM_PAGE_COST = 1.1

    # Sessions: the cookie carries only a random session id; the session itself lives in the
    # database so that logout, password change and deactivation end it on the server.
    SESSION_COOKIE_NAME = "d2w_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_IDLE_MINUTES = 120
    SESSION_MAX_HOURS = 12  # also the cookie's lifetime (PERMANENT_SESSION_LIFETIME, set from it)
    # The server-side session tracks idleness, so the cookie is not signed and sent again on every
    # response: it is written at sign-in (and when the session's contents change) and lapses when
    # the server-side session's hard limit does.
    SESSION_REFRESH_EACH_REQUEST = False

    # Forms
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024

    # Passwords (argon2id). Defaults follow OWASP's argon2id guidance.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128

    # Login abuse
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_RATE_LIMIT = "20 per minute;200 per hour"
    PASSWORD_RESET_RATE_LIMIT = "5 per minute;30 per hour"  # noqa: S105 - a rate, not a password
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_LOCK_MINUTES = 15

    # Invitation and password-reset links
    INVITE_TOKEN_HOURS = 7 * 24
    RESET_TOKEN_MINUTES = 60

    # E-mail: "outbox" writes .eml files to MAIL_OUTBOX_DIR; "smtp" sends them.
    MAIL_BACKEND = "outbox"
    MAIL_OUTBOX_DIR: str | None = None  # default: <instance>/outbox
    MAIL_FROM = "Diversity To Win <no-reply@example.org>"
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = True
    MAIL_USE_SSL = False
    MAIL_TIMEOUT = 10

    # Links in e-mails are built from this (no request to look at in a CLI command).
    BASE_URL = "http://127.0.0.1:5000"

    # Deployment
    HSTS_ENABLED = False
    HSTS_SECONDS = 31536000
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    LOG_JSON = False
    LOG_LEVEL = "INFO"

    # Lists
    PAGE_SIZE = 25

    # Programme: a candidate is "at risk" after this many absences in a row (excused ones do
    # not count as absences).
    AT_RISK_CONSECUTIVE_ABSENCES = 2
    # Largest CSV of candidates accepted for import, in rows.
    IMPORT_MAX_ROWS = 500

    # Mentoring: a mentee with no logged contact for this many weeks is flagged on the mentor's
    # home and the health page, and the mentor is reminded (``flask d2w mentoring remind``).
    MENTORING_LAPSE_WEEKS = 6

    # Engagement evidence uploads: stored outside the web root (empty: instance/evidence).
    EVIDENCE_DIR = ""
    EVIDENCE_MAX_BYTES = 5 * 1024 * 1024

    # The seat data (used by the seats domain).
    SEAT_DATA_DIR = str(ROOT.parent / "shared" / "data" / "seats")

    # Seat-fit (d2w/seatfit/engine.py). The party this deployment serves, as a party code of the
    # seat data (con, lab, ld, snp, pc, green, reform, ...): winnability is judged for it.
    SEATFIT_PARTY = "lab"
    # Referendum alignment: a Leave voter in a seat under this Leave share, or a Remain voter in a
    # seat over the other, gets a strong warning.
    SEATFIT_LEAVE_VOTER_MIN_LEAVE_PCT = 40.0
    SEATFIT_REMAIN_VOTER_MAX_LEAVE_PCT = 60.0
    # Winnability: a held seat with a majority under this share of the vote is marginal; a seat
    # the party came second in needing a swing up to the second figure is a target.
    SEATFIT_SAFE_MAJORITY_PCT = 10.0
    SEATFIT_TARGET_MAX_SWING_PCT = 10.0
    # A fit check older than this cannot back an application's submission.
    SEATFIT_CHECK_VALID_DAYS = 90
    # Seconds each worker keeps a boundary set's seat figures in memory for checks and ranking
    # (0: read them every time). The seat import clears it in its own process.
    SEATFIT_FACTS_CACHE_SECONDS = 300

    # Reports and dashboards: any breakdown by ethnic group or age shows counts under this as
    # "fewer than N", and percentages only when the base is at least N.
    SMALL_NUMBER_THRESHOLD = 10
    # Seconds the dashboard's and the engagement progress page's programme-wide totals may be
    # old (each worker keeps its own copy; 0: always computed afresh).
    AGGREGATE_CACHE_SECONDS = 60
    # Whether each worker keeps the parts of pages that are the same for everyone who may see
    # them (a cohort's roster, the mentoring health tables, ...) until the data they show changes
    # (d2w.core.generations: every write renews its topic's token as it commits).
    KEEP_FIGURES_UNTIL_CHANGED = True
    # PDF reports: where finished PDFs are kept for a day (empty: instance/reports), and whether a
    # report job renders inside the request (tests) instead of in the background thread pool.
    REPORTS_DIR = ""
    REPORTS_RUN_INLINE = False

    @classmethod
    def validate(cls, settings: dict) -> None:
        """Raise ConfigError if the settings cannot run this environment."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # A fixed key is fine on a developer's machine; production refuses to start without its own.
    SECRET_KEY = "dev-only-insecure-key-change-me-0123456789"  # noqa: S105
    SESSION_COOKIE_SECURE = False


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-insecure-key-0123456789abcdef"  # noqa: S105
    SESSION_COOKIE_SECURE = False
    # Cheap hashes keep the suite fast; the algorithm (argon2id) is the same.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    BASE_URL = "http://localhost"
    SEATFIT_FACTS_CACHE_SECONDS = 0
    AGGREGATE_CACHE_SECONDS = 0


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_NAME = "__Host-d2w_session"
    HSTS_ENABLED = True
    LOG_JSON = True
    MAIL_BACKEND = "smtp"
    RATELIMIT_STORAGE_URI: str | None = None

    @classmethod
    def validate(cls, settings: dict) -> None:
        key = settings.get("SECRET_KEY")
        if not key:
            raise ConfigError("D2W_SECRET_KEY is not set: production needs a random secret of 32+ characters")
        if len(key) < 32:
            raise ConfigError("D2W_SECRET_KEY is too short: use a random secret of 32+ characters")
        if not settings.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigError("D2W_DATABASE_URL is not set: production needs a PostgreSQL URL")
        if not settings.get("RATELIMIT_STORAGE_URI"):
            raise ConfigError(
                "D2W_RATELIMIT_STORAGE_URI is not set: production needs a shared store such as redis://host:6379/0"
            )
        if settings.get("MAIL_BACKEND") == "smtp" and not settings.get("MAIL_SERVER"):
            raise ConfigError("D2W_MAIL_SERVER is not set: production sends e-mail by SMTP")
        if not str(settings.get("BASE_URL", "")).startswith("https://"):
            raise ConfigError("D2W_BASE_URL must be the site's https:// address, used in e-mailed links")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"D2W_{name} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"D2W_{name} must be a whole number, not {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"D2W_{name} must be a number, not {raw!r}") from None
    if isinstance(default, dict):
        raise ConfigError(f"D2W_{name} cannot be set from the environment")
    return raw


def load_settings(config: str | type[Config] | None = None, environ: dict | None = None) -> dict:
    """Return the settings dict for a config name or class, with D2W_* overrides applied."""
    environ = os.environ if environ is None else environ
    if config is None:
        config = environ.get("D2W_ENV", "development")
    if isinstance(config, str):
        try:
            cls = CONFIGS[config]
        except KeyError:
            raise ConfigError(f"D2W_ENV must be one of {', '.join(CONFIGS)}, not {config!r}") from None
    else:
        cls = config
    settings = {name: getattr(cls, name) for name in dir(cls) if name.isupper()}
    settings["CONFIG_CLASS"] = cls
    for key, raw in environ.items():
        if not key.startswith("D2W_") or key in {"D2W_ENV", "D2W_TEST_DATABASE_URL"}:
            continue
        name = ALIASES.get(key[4:], key[4:])
        if name not in settings:
            continue
        settings[name] = _coerce(name, raw, settings[name])
    return settings
