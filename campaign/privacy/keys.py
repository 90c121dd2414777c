"""Keyed hashes: e-mail keys (stable), client-address keys (daily), token hashes."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.exc import IntegrityError

from campaign.extensions import db
from campaign.privacy.models import DailyKey


def utcnow() -> dt.datetime:
    """Naive UTC now: what every DateTime column of ours stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def email_key(canonical_email: str) -> str:
    """Stable keyed hash of a canonical e-mail address, to find duplicates without it."""
    return keyed_hash(current_app.config["DATA_KEY"].encode(), "email:" + canonical_email)


def new_token() -> tuple[str, str]:
    """A random URL-safe token and the hash we store in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _key_cache() -> dict[dt.date, bytes]:
    return current_app.extensions.setdefault("sawt_daily_keys", {})


def daily_secret(day: dt.date | None = None) -> bytes:
    """The secret for ``day`` (today by default), created on first use.

    Created on a connection of its own so the caller's transaction is untouched;
    a concurrent creator wins the primary key and we read its secret.
    """
    day = day or utcnow().date()
    cache = _key_cache()
    if day in cache:
        return cache[day]
    with db.engine.begin() as conn:
        secret = conn.scalar(sa.select(DailyKey.secret).where(DailyKey.day == day))
    if secret is None:
        try:
            with db.engine.begin() as conn:
                secret = secrets.token_bytes(32)
                conn.execute(sa.insert(DailyKey).values(day=day, secret=secret))
        except IntegrityError:
            with db.engine.begin() as conn:
                secret = conn.scalar(sa.select(DailyKey.secret).where(DailyKey.day == day))
        discard_old_keys(today=day)
    for cached_day in list(cache):
        if cached_day < day - dt.timedelta(days=1):
            del cache[cached_day]
    cache[day] = secret
    return secret


def discard_old_keys(today: dt.date | None = None) -> int:
    """Delete every daily key older than yesterday; returns how many went."""
    today = today or utcnow().date()
    with db.engine.begin() as conn:
        result = conn.execute(
            sa.delete(DailyKey).where(DailyKey.day < today - dt.timedelta(days=1))
        )
    for cached_day in list(_key_cache()):
        if cached_day < today - dt.timedelta(days=1):
            del _key_cache()[cached_day]
    return result.rowcount or 0


def ip_key(address: str, day: dt.date | None = None) -> str:
    """Keyed hash of a client address under the day's key; short, as it only groups."""
    return keyed_hash(daily_secret(day), "ip:" + address)[:32]


def client_ip_key() -> str:
    """The current request's client address, hashed. ProxyFix has already applied
    TRUSTED_PROXIES, so ``remote_addr`` is the client as far as we can trust."""
    return ip_key(request.remote_addr or "unknown")
