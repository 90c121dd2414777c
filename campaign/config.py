"""One configuration, read from the environment. Tests pass overrides to create_app()."""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
if (_PACKAGE / "templates").is_dir():
    # Installed from a wheel: setup.py put templates/, static/, translations/ and
    # migrations/ inside the package. The instance folder (SQLite, generated keys)
    # is Flask's default for an installed package: <sys.prefix>/var/campaign-instance.
    ROOT = _PACKAGE
    INSTANCE_PATH = None
else:
    # A checkout (run in place or installed editable): they sit beside the package.
    ROOT = _PACKAGE.parent
    INSTANCE_PATH = str(ROOT / "instance")


# What bin/serve and `flask run` listen on unless told otherwise.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str) -> dict:
    """Build the config dict from environment variables, with safe embedded defaults."""
    redis_url = os.environ.get("REDIS_URL") or None
    public_url = os.environ.get("PUBLIC_URL", DEFAULT_PUBLIC_URL).rstrip("/")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        # DATA_KEY keys the e-mail hashes used to find duplicates; it must outlive every
        # campaign, so it is separate from SECRET_KEY (which may be rotated).
        "DATA_KEY": os.environ.get("DATA_KEY"),
        # The Ed25519 key that signs the API's count snapshots is derived from this
        # secret; readers check them against /api/v1/keys, so every web node needs the
        # same one and it should outlive the citations (campaign/api/signing.py).
        "API_SIGNING_KEY": os.environ.get("API_SIGNING_KEY"),
        # Public halves of replaced signing keys, still published so that snapshots
        # signed with them check (comma-separated, base64url, as /api/v1/keys shows).
        "API_RETIRED_PUBLIC_KEYS": os.environ.get("API_RETIRED_PUBLIC_KEYS", ""),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(instance_path) / 'sawt.sqlite3'}"
        ),
        "PUBLIC_URL": public_url,
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "console"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Sawt <no-reply@sawt.localhost>"),
        "MAIL_FILE_DIR": os.environ.get("MAIL_FILE_DIR", str(Path(instance_path) / "mail")),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS"),
        "SENDGRID_API_KEY": os.environ.get("SENDGRID_API_KEY") or None,
        "SENDGRID_API_HOST": os.environ.get("SENDGRID_API_HOST", "https://api.sendgrid.com"),
        # Milestone posts: none (off) | console | x, with the platform account's keys.
        "SOCIAL_BACKEND": os.environ.get("SOCIAL_BACKEND", "none"),
        "X_API_KEY": os.environ.get("X_API_KEY") or None,
        "X_API_SECRET": os.environ.get("X_API_SECRET") or None,
        "X_ACCESS_TOKEN": os.environ.get("X_ACCESS_TOKEN") or None,
        "X_ACCESS_TOKEN_SECRET": os.environ.get("X_ACCESS_TOKEN_SECRET") or None,
        "X_API_URL": os.environ.get("X_API_URL", "https://api.twitter.com"),
        "REDIS_URL": redis_url,
        # Rendered public pages, shared by every web node when Redis is there.
        "CACHE_TYPE": "RedisCache" if redis_url else "SimpleCache",
        "CACHE_REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "sawt:",
        # How long a rendered public page is reused; 0 renders every request. Its
        # count is then at most this old (plus the ≤1 s before counts are folded).
        "PAGE_CACHE_SECONDS": _int("PAGE_CACHE_SECONDS", 1),
        # What proxies and browsers are told (Cache-Control) about public pages.
        "PUBLIC_MAX_AGE": _int("PUBLIC_MAX_AGE", 2),
        "PUBLIC_STALE_WHILE_REVALIDATE": _int("PUBLIC_STALE_WHILE_REVALIDATE", 10),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Signing is never refused for its rate (campaign/signatures/crowds.py): past
        # RATELIMIT_SIGN from one address the browser must solve a small proof of
        # work; past RATELIMIT_SIGN_HOLD signatures are held for a moderator.
        "RATELIMIT_SIGN": os.environ.get("RATELIMIT_SIGN", "5 per minute;30 per hour"),
        "RATELIMIT_SIGN_HOLD": os.environ.get("RATELIMIT_SIGN_HOLD", "60 per minute;600 per hour"),
        # altcha proof of work: PBKDF2 iterations per try, and the hex prefix the
        # derived key must start with ("00": 256 tries on average, about a second).
        "ALTCHA_ALGORITHM": os.environ.get("ALTCHA_ALGORITHM", "PBKDF2/SHA-256"),
        "ALTCHA_COST": _int("ALTCHA_COST", 5000),
        "ALTCHA_KEY_PREFIX": os.environ.get("ALTCHA_KEY_PREFIX", "00"),
        "ALTCHA_EXPIRES_SECONDS": _int("ALTCHA_EXPIRES_SECONDS", 600),
        "RATELIMIT_RESEND": os.environ.get("RATELIMIT_RESEND", "3 per minute;10 per hour"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "VERIFY_TOKEN_HOURS": _int("VERIFY_TOKEN_HOURS", 72),
        "WITHDRAW_TOKEN_DAYS": _int("WITHDRAW_TOKEN_DAYS", 365),
        # How long the link from a confirmation to the letters page stays good.
        "LETTER_PASS_MINUTES": _int("LETTER_PASS_MINUTES", 120),
        # A mail (or post) that keeps failing temporarily is given up once it is this
        # old, not after a number of tries: by default when its confirmation link
        # expires (VERIFY_TOKEN_HOURS), so no relay outage the link outlives loses it.
        "OUTBOX_GIVE_UP_SECONDS": _int("OUTBOX_GIVE_UP_SECONDS", _int("VERIFY_TOKEN_HOURS", 72) * 3600),
        # Tasks, and mails that cannot be rendered, fail because of a bug, not an
        # outage: at most this many tries (the last about 2 hours after the first).
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 10),
        # After a failure a message waits this long, then twice as long after each
        # further one, up to OUTBOX_MAX_RETRY_SECONDS: also the longest a queued mail
        # waits once a relay is back.
        "OUTBOX_RETRY_SECONDS": float(os.environ.get("OUTBOX_RETRY_SECONDS", "30")),
        "OUTBOX_MAX_RETRY_SECONDS": float(os.environ.get("OUTBOX_MAX_RETRY_SECONDS", str(30 * 60))),
        # After a failure every mail would meet (the relay down, refusing our login),
        # a worker sends no mail for this long, doubling up to the maximum, then tries
        # one: the mail behind it keeps its tries, and a hung relay costs one timeout.
        "OUTBOX_PAUSE_SECONDS": float(os.environ.get("OUTBOX_PAUSE_SECONDS", "5")),
        "OUTBOX_MAX_PAUSE_SECONDS": float(os.environ.get("OUTBOX_MAX_PAUSE_SECONDS", "60")),
        # How long a mail backend waits on the relay or API before calling it a
        # temporary failure (the worker sends one message at a time).
        "MAIL_TIMEOUT_SECONDS": float(os.environ.get("MAIL_TIMEOUT_SECONDS", "20")),
        "OUTBOX_POLL_SECONDS": float(os.environ.get("OUTBOX_POLL_SECONDS", "1")),
        # A message being sent is not tried again for this long (longer than a send may
        # take): if the worker dies mid-send, the next attempt starts after it.
        "OUTBOX_LEASE_SECONDS": _int("OUTBOX_LEASE_SECONDS", 60),
        # A link mail about a signature asked for again this soon (a double click, a
        # second "resend") is not sent again: the first one carries the same links.
        "SIGN_REPEAT_SECONDS": _int("SIGN_REPEAT_SECONDS", 300),
        # PostgreSQL: how long to wait for a connection before answering 503 (and the
        # Retry-After that answer gives).
        "DB_CONNECT_TIMEOUT": _int("DB_CONNECT_TIMEOUT", 2),
        "DB_RETRY_AFTER_SECONDS": _int("DB_RETRY_AFTER_SECONDS", 30),
        # The worker waits this long at most between tries while the database is away.
        "WORKER_MAX_BACKOFF_SECONDS": float(os.environ.get("WORKER_MAX_BACKOFF_SECONDS", "30")),
        "PUBLIC_BREAKDOWN_MIN": _int("PUBLIC_BREAKDOWN_MIN", 10),
        # How often an embedded counter asks for its count (seconds, plus up to a
        # quarter at random): longer eases the count API in a surge.
        "EMBED_REFRESH_SECONDS": _int("EMBED_REFRESH_SECONDS", 12),
        # The campaign page's signers-by-country table is counted at most this often
        # per campaign and web process (a GROUP BY over every confirmed signature).
        "PUBLIC_BREAKDOWN_SECONDS": _int("PUBLIC_BREAKDOWN_SECONDS", 10),
        # Page views are counted in memory and written every this many seconds (0: at once).
        "VIEW_COUNT_FLUSH_SECONDS": float(os.environ.get("VIEW_COUNT_FLUSH_SECONDS", "10")),
        "ORGANISER_IDLE_MINUTES": _int("ORGANISER_IDLE_MINUTES", 30),
        "ORGANISER_SESSION_HOURS": _int("ORGANISER_SESSION_HOURS", 12),
        "ORGANISER_FRESH_2FA_MINUTES": _int("ORGANISER_FRESH_2FA_MINUTES", 10),
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "5 per minute;20 per hour"),
        "SETUP_LINK_HOURS": _int("SETUP_LINK_HOURS", 48),
        # Failed logins allowed per account (any address) before it is paused.
        "RATELIMIT_LOGIN_ACCOUNT": os.environ.get("RATELIMIT_LOGIN_ACCOUNT", "10 per hour"),
        # argon2id cost of organiser passwords: argon2-cffi's defaults (RFC 9106's
        # low-memory profile). Tests lower them; older hashes are upgraded at login.
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", 65536),
        # The fraud panel flags this many signatures from one hashed IP or one domain
        # inside this many minutes.
        "MODERATION_BURST_SIZE": _int("MODERATION_BURST_SIZE", 5),
        "MODERATION_BURST_MINUTES": _int("MODERATION_BURST_MINUTES", 10),
        # Signatures of a closed campaign are anonymised this many days after it closes,
        # unless the campaign sets its own retention_days.
        "RETENTION_DAYS": _int("RETENTION_DAYS", 180),
        # A declined request to sign a statement (names, role line, country) is deleted
        # this many days after the decision: the organisers can look back that long.
        "STATEMENT_DECLINED_DAYS": _int("STATEMENT_DECLINED_DAYS", 30),
        # Update e-mails are queued this many signers at a time (one transaction each).
        "UPDATE_BATCH_SIZE": _int("UPDATE_BATCH_SIZE", 500),
        # An erasure link mailed to a signer works for this many hours.
        "ERASURE_LINK_HOURS": _int("ERASURE_LINK_HOURS", 24),
        "RATELIMIT_ERASE": os.environ.get("RATELIMIT_ERASE", "3 per minute;10 per hour"),
        "PERMANENT_SESSION_LIFETIME": _int("ORGANISER_SESSION_HOURS", 12) * 3600,
        "SESSION_COOKIE_NAME": "sawt_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_url.startswith("https://"),
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
