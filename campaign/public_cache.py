"""Public pages that any proxy or CDN may keep, rendered once and served many times.

A public page sets no cookie (campaign/forms.py), so it may be cached by anyone.
``public`` marks a view's answer cacheable for a short while, with an ETag, and
answers a matching If-None-Match with 304. ``rendered`` keeps a rendered page for
PAGE_CACHE_SECONDS in the app's cache (in-process, or Redis shared by every web
node), so a surge of readers costs one render a second per page and language.
A ``Representation`` is such a rendering together with its validators (ETag,
Last-Modified), computed once per render rather than once per reader: the JSON API
keeps its answers so.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from typing import Callable

from flask import current_app, make_response, request

from campaign.extensions import cache


def cache_headers(response, *, max_age: int | None = None):
    """Cache-Control for a public answer: browsers and proxies may keep it briefly
    and serve it stale while they fetch a fresh one."""
    config = current_app.config
    max_age = config["PUBLIC_MAX_AGE"] if max_age is None else max_age
    response.headers["Cache-Control"] = (
        f"public, max-age={max_age}, s-maxage={max_age}, "
        f"stale-while-revalidate={config['PUBLIC_STALE_WHILE_REVALIDATE']}"
    )
    return response


def public(view: Callable | None = None, *, max_age: int | None = None):
    """A public page: cacheable, with an ETag of its content; 304 when unchanged
    (If-None-Match, or If-Modified-Since when the view set Last-Modified).
    ``@public(max_age=300)`` for what changes rarely (PUBLIC_MAX_AGE otherwise)."""
    if view is None:
        return functools.partial(public, max_age=max_age)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or "Cache-Control" in response.headers:
            return response  # an error, or a view that said otherwise (a personal page)
        cache_headers(response, max_age=max_age)
        if not response.get_etag()[0]:
            response.set_etag(hashlib.blake2b(response.get_data(), digest_size=12).hexdigest())
        return response.make_conditional(request)

    return wrapper


@dataclass(frozen=True)
class Representation:
    """A rendered answer and its validators, made once per render: what ``rendered``
    keeps for views whose answer is the same for every reader (the JSON API)."""

    body: bytes
    mimetype: str
    etag: str
    last_modified: dt.datetime | None = None

    @classmethod
    def of(cls, body: bytes, mimetype: str, last_modified: dt.datetime | None = None) -> Representation:
        """``body`` with an ETag of its bytes; ``last_modified`` is naive UTC."""
        if last_modified is not None:
            last_modified = last_modified.replace(microsecond=0, tzinfo=dt.timezone.utc)
        return cls(body, mimetype, hashlib.blake2b(body, digest_size=12).hexdigest(), last_modified)

    def response(self):
        """A response for one reader; ``public`` then adds Cache-Control and
        answers conditional requests with 304."""
        response = current_app.response_class(self.body, mimetype=self.mimetype)
        response.set_etag(self.etag)
        if self.last_modified is not None:
            response.last_modified = self.last_modified
        return response


def rendered(key: str, render: Callable[[], object], *, seconds: int | None = None):
    """What ``render()`` gives (a page, or a page with what it needs to be served),
    kept under ``key`` and produced at most once per PAGE_CACHE_SECONDS (or per
    ``seconds``, for what may be older than a page; with PAGE_CACHE_SECONDS 0
    nothing is kept)."""
    page_seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if page_seconds <= 0:
        return render()
    seconds = seconds or page_seconds
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, timeout=seconds)
    return html


def forget(*keys: str) -> None:
    """Drop rendered pages now (a campaign was edited, published or closed)."""
    cache.delete_many(*keys)
