"""Configuration classes.

Secrets never have a default in code: they come from the environment or from files in the instance
folder, which :func:`load_instance_secrets` creates (mode 0600) on first run.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path


class Config:
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "bo", "en")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute"
    #: this many wrong passwords in a row lock the account for ACCOUNT_LOCKOUT_MINUTES (against guessing spread over
    #: many addresses, which the per-address and per-account rate limits slow but do not stop)
    ACCOUNT_LOCKOUT_FAILURES = 10
    ACCOUNT_LOCKOUT_MINUTES = 15
    RESET_RATE_LIMIT = "5 per minute"
    PASSWORD_RESET_MAX_AGE = 3600
    #: how long the link that finishes a sign-up works (once), in seconds
    SIGNUP_LINK_MAX_AGE = 24 * 3600
    INVITATION_MAX_AGE_DAYS = 14
    #: "console" logs messages, "smtp" sends them through MAIL_SERVER, "memory" keeps them (tests).
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or ("smtp" if os.environ.get("MAIL_SERVER") else "console")
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "1") == "1"
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "no-reply@volunteer-registry.local")
    #: coordinators' daily digest lists the decisions that have waited longer than this
    NOTIFY_PENDING_AFTER_HOURS = 48
    #: how long a notifications worker may hold a message it is sending before others take it as dead
    NOTIFICATIONS_CLAIM_SECONDS = 120
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: how long a sign-in lasts, with or without "keep me signed in": the remember-me cookie's lifetime, and the
    #: server refuses an older sign-in even from a copied cookie (accounts/sessions.py)
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=int(os.environ.get("SIGN_IN_DAYS", "14")))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: what one imported CSV or XLSX file may hold (volunteers/sheets.py; docs/operations.md, "Bulk import"): rows
    #: after the header (blank ones count), columns, cells (an XLSX sheet's formatted empty ones count), characters
    #: in a cell that is read, and for XLSX its zip's parts and their uncompressed total; the file itself as big as
    #: an upload may be (MAX_CONTENT_LENGTH), on the command line too
    IMPORT_MAX_BYTES = 8 * 1024 * 1024
    IMPORT_MAX_ROWS = 20000
    IMPORT_MAX_COLUMNS = 64
    IMPORT_MAX_CELLS = 500_000
    IMPORT_MAX_CELL_CHARS = 1000
    IMPORT_XLSX_MAX_UNCOMPRESSED = 64 * 1024 * 1024
    IMPORT_XLSX_MAX_PARTS = 1000
    #: an import on the page (reading, checking and writing) is stopped, nothing written, after this many seconds:
    #: keep it well under gunicorn's --timeout (30 s by default), which would kill the worker mid-request
    IMPORT_MAX_SECONDS = float(os.environ.get("IMPORT_MAX_SECONDS", "20"))
    #: a session longer than this is flagged too_long for review (not refused, not cut)
    CHECKIN_SESSION_CAP_HOURS = float(os.environ.get("CHECKIN_SESSION_CAP_HOURS", "12"))
    #: the name of the Merkle log in its checkpoints (C2SP: a schema-less URL naming this deployment's log)
    LEDGER_ORIGIN = os.environ.get("LEDGER_ORIGIN", "volunteer-registry.local/ledger")
    #: the scheme and host every link that leaves the app is built from (emails, invitations, reset links, the
    #: certificates' QR codes, the kiosk's QR), e.g. https://volunteer.example.gov.cn; never the request's Host.
    #: Required in production; elsewhere SERVER_NAME, else http://localhost:5000 (links.py)
    PUBLIC_URL = os.environ.get("PUBLIC_URL")
    #: the key of the ID-number hash that registries exchange (docs/EXCHANGE.md): shared by every registry of the
    #: exchange network (a province's, or the ministry's), so that two systems can tell that a record is of the same
    #: person without either revealing the number. Unset: bundles carry no such hash and transfers in are refused.
    EXCHANGE_ID_KEY = os.environ.get("EXCHANGE_ID_KEY")
    #: the superior platform this registry pushes its feed to, and the token it issued for that (both or neither)
    EXCHANGE_PUSH_URL = os.environ.get("EXCHANGE_PUSH_URL")
    EXCHANGE_PUSH_TOKEN = os.environ.get("EXCHANGE_PUSH_TOKEN")
    #: events a push sends at once (a page of the feed; 1 to 1000)
    EXCHANGE_PUSH_PAGE = int(os.environ.get("EXCHANGE_PUSH_PAGE", "500"))
    #: transfer codes tried per address: a code is 12 characters of 24, but a guess costs nothing else
    TRANSFER_RATE_LIMIT = "10 per minute"
    VERIFY_RATE_LIMIT = "60 per minute"
    #: scans per scanning account (token or session): ten a second on average, enough for an offline queue's flush
    SCAN_RATE_LIMIT = "600 per minute"
    VERIFY_UPLOAD_RATE_LIMIT = "10 per minute"
    #: how many reverse proxies stand in front of the app (their X-Forwarded-* headers are trusted)
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    MAIL_BACKEND = "memory"
    # scrypt at full strength dominates a suite that creates hundreds of accounts
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _read_or_create_secret(path: Path, nbytes: int) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) when missing."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def load_instance_secrets(app) -> None:
    """Fill SECRET_KEY, ID_ENCRYPTION_KEY and LEDGER_SIGNING_KEY (the seed of the checkpoints' Ed25519 key) from
    the environment or the instance folder."""
    instance = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _read_or_create_secret(
            instance / "secret_key", 48
        )
    if not app.config.get("ID_ENCRYPTION_KEY"):
        app.config["ID_ENCRYPTION_KEY"] = os.environ.get("ID_ENCRYPTION_KEY") or _read_or_create_secret(
            instance / "id_encryption.key", 32
        )
    if not app.config.get("LEDGER_SIGNING_KEY"):
        app.config["LEDGER_SIGNING_KEY"] = os.environ.get("LEDGER_SIGNING_KEY") or _read_or_create_secret(
            instance / "ledger_signing.key", 32
        )


def database_uri(app) -> str:
    """DATABASE_URL when set (postgresql:// is mapped to the psycopg 3 driver), else SQLite in the instance folder."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(app.instance_path) / "volunteer_registry.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def protect_files(app) -> None:
    """Files the app creates are readable by the service account alone: the process's umask becomes 077 (the SQLite
    database and its WAL files, keys, backups, anything written later: 0600, folders 0700), and what an older
    version or a lax umask left behind is tightened at start: the instance folder, its keys folder, and the SQLite
    database with its -wal and -shm files. Files owned by another account are left as they are."""
    os.umask(0o077)
    instance = Path(app.instance_path)
    candidates = [(instance, 0o700), (instance / "keys", 0o700)]
    candidates += [(path, 0o600) for path in instance.glob("*") if path.is_file()]
    candidates += [(path, 0o600) for path in (instance / "keys").glob("*") if path.is_file()]
    database = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if database is not None:
        candidates += [(Path(f"{database}{suffix}"), 0o600) for suffix in ("", "-wal", "-shm", "-journal")]
    for path, mode in candidates:
        try:
            if path.exists() and path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
        except OSError:  # a read-only mount, a file gone meanwhile: nothing to tighten
            continue


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL, or None (another database, or SQLite in memory)."""
    if not url.startswith("sqlite:///") or url in ("sqlite://", "sqlite:///:memory:"):
        return None
    return Path(url[len("sqlite:///"):].split("?", 1)[0])

