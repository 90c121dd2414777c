"""Public pages that any proxy or CDN may keep, rendered once and served many times.

A public page sets no cookie (campaign/forms.py), so it may be cached by anyone.
``public`` marks a view's answer cacheable for a short while, with an ETag, and
answers a matching If-None-Match with 304. ``rendered`` keeps a rendered page for
PAGE_CACHE_SECONDS in the app's cache (in-process, or Redis shared by every web
node), so a surge of readers costs one render a second per page and language.
"""
from __future__ import annotations

import functools
import hashlib
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


def public(view: Callable):
    """A public page: cacheable, with an ETag of its content; 304 when unchanged."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or "Cache-Control" in response.headers:
            return response  # an error, or a view that said otherwise (a personal page)
        cache_headers(response)
        if not response.get_etag()[0]:
            response.set_etag(hashlib.blake2b(response.get_data(), digest_size=12).hexdigest())
        return response.make_conditional(request)

    return wrapper


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
