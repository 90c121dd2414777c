"""One configuration, read from the environment. Tests pass overrides to create_app()."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    public_url = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        # DATA_KEY keys the e-mail hashes used to find duplicates; it must outlive every
        # campaign, so it is separate from SECRET_KEY (which may be rotated).
        "DATA_KEY": os.environ.get("DATA_KEY"),
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
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_SIGN": os.environ.get("RATELIMIT_SIGN", "5 per minute;30 per hour"),
        "RATELIMIT_RESEND": os.environ.get("RATELIMIT_RESEND", "3 per minute;10 per hour"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "VERIFY_TOKEN_HOURS": _int("VERIFY_TOKEN_HOURS", 72),
        "WITHDRAW_TOKEN_DAYS": _int("WITHDRAW_TOKEN_DAYS", 365),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 8),
        "OUTBOX_POLL_SECONDS": float(os.environ.get("OUTBOX_POLL_SECONDS", "1")),
        "PUBLIC_BREAKDOWN_MIN": _int("PUBLIC_BREAKDOWN_MIN", 10),
        "SESSION_COOKIE_NAME": "sawt_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_url.startswith("https://"),
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
