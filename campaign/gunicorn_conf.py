"""Gunicorn settings for the web process:
``gunicorn --config python:campaign.gunicorn_conf app:app`` (see Procfile).

Everything an operator tunes comes from the environment: PORT, WEB_CONCURRENCY,
FORWARDED_ALLOW_IPS. The access log never records who asked (no client address)
or what they typed into a query string, and token links are masked.
"""
from __future__ import annotations

import multiprocessing
import os
import re

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = [f"0.0.0.0:{_int('PORT', 8000)}"]

# Sync workers: with SQLite, threaded workers showed a 260-320 ms p99 tail on this
# kind of machine, and every request here is short except exports. 2×CPU+1 is
# gunicorn's rule of thumb; past 8 processes a node runs out of memory and database
# connections before CPU.
# Without REDIS_URL the default is one worker: rate limits are only exact when every
# worker counts in the same place (see refuse_unshared_limits).
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8) if os.environ.get("REDIS_URL") else 1)


def refuse_unshared_limits(workers: int, environ=os.environ) -> None:
    """Rate-limit counters (and used proof-of-work challenges' cache) live in each
    process unless REDIS_URL names a shared store: with N workers every limit would
    be N times what it says (measured). So more than one worker needs Redis."""
    if workers > 1 and not (environ.get("REDIS_URL") or "").strip():
        raise SystemExit(
            f"Sawt refuses to start {workers} web workers without REDIS_URL: each worker would keep its "
            "own rate-limit counters, so every limit (signing, login, erasure, resend) would be "
            f"{workers} times what it says. Set REDIS_URL to a Redis server shared by every worker, "
            "or set WEB_CONCURRENCY=1."
        )


refuse_unshared_limits(workers)
worker_class = "sync"
# The app is built once, in the master, and each worker is a fork of it: a worker
# starts (and restarts, see max_requests) in milliseconds instead of importing and
# building the whole app, and the workers share the pages of that memory until
# they write to them. No database connection crosses the fork: create_app empties
# the pool in every forked child.
preload_app = True
# CSV and XLSX exports of large campaigns stream for a while; the default 30 s
# would kill the worker in the middle of a download.
timeout = 120
# On a restart, requests in flight get this long to finish; platforms send SIGKILL
# about 30 s after SIGTERM anyway.
graceful_timeout = 30

# Recycle workers now and then so a slow leak cannot grow without bound. Not too
# often: under a surge workers share requests evenly, so with a small jitter they
# all reach the limit together (a worker is a fork of the preloaded app now, but a
# fresh one still warms its caches and connections). At 1000±100, bench/surge.py saw both workers of a node
# restart every ~2,000 requests and the node answer nothing for seconds. A jitter
# of half the limit spreads the restarts out.
max_requests = 50_000
max_requests_jitter = 25_000

# Only these front ends may set X-Forwarded-Proto and friends. The client address for
# rate limits is decided by the app's TRUSTED_PROXIES, not here.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The control socket (gunicorn ≥ 25) defaults to one path in $HOME shared by every
# gunicorn of that user, so a second instance on the host would take it over. Off
# unless GUNICORN_CONTROL_SOCKET gives a path of its own.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

accesslog = "-"
# No %(h)s (client address), no %(r)s or %(q)s (the query string can carry an
# address, e.g. a prefilled form), no referrer (it has a query string too) and no
# user agent (with the time, enough to single a person out).
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

# A path segment that looks like one of our tokens (43 URL-safe characters) rather
# than a slug (lowercase, digits, hyphens).
_TOKEN_SEGMENT = re.compile(r"(?<=/)(?=[A-Za-z0-9_-]*[A-Z_])[A-Za-z0-9_-]{32,}(?=/|$)")


def mask_tokens(path: str) -> str:
    """'/en/confirm/Xy…' → '/en/confirm/[token]': a logged link must not be usable."""
    return _TOKEN_SEGMENT.sub("[token]", path)


class AccessLogger(Logger):
    """Gunicorn's logger, with confirm, withdraw, unsubscribe, erase and setup tokens
    masked in the path atoms, and the raw request line stripped of its query."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = mask_tokens(atoms.get("U") or "")
        atoms["U"] = path
        atoms["r"] = f"{atoms.get('m')} {path} {atoms.get('H')}"
        atoms["q"] = "-"
        return atoms


logger_class = AccessLogger
