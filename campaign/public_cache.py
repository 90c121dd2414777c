"""Public pages that any proxy or CDN may keep, rendered once and served many times.

A public page sets no cookie (campaign/forms.py), so it may be cached by anyone.
``public`` marks a view's answer cacheable for a short while, with an ETag, and
answers a matching If-None-Match with 304. ``rendered`` keeps a rendered page for
PAGE_CACHE_SECONDS in the app's cache (in-process, or Redis shared by every web
node), so a surge of readers costs one render a second per page and language.
A ``Representation`` is such a rendering together with its validators (ETag,
Last-Modified), computed once per render rather than once per reader: the JSON API
keeps its answers so.

In front of that, each web process keeps the answers it gave from the page cache
(``keep``) and serves them again itself (``PageMemory``, a WSGI layer ahead of
Flask) until the rendered page's time is up: such a hit costs no locale selection,
no session, no database, no Redis round trip, no template. A kept page is never
older than PAGE_CACHE_SECONDS, as from the page cache; an edit (``forget``) drops
it at once in the process that made the edit and within PAGE_CACHE_SECONDS in the
others.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, g, make_response, request
from werkzeug.http import http_date, parse_etags, remove_entity_headers

from campaign.extensions import cache

# The answers this process keeps, by path (in app.extensions, made on first use).
_MEMORY = "sawt.page_memory"
# Where a view leaves what it asks to keep, for PageMemory to pick up with the headers.
_TO_KEEP = "sawt.page_memory.to_keep"
# More kept paths than this and those past their time are dropped.
_MEMORY_PRUNE_AT = 512
# Set by Flask or gunicorn on each answer; made afresh for each hit.
_NOT_KEPT_HEADERS = frozenset({"content-length", "etag", "date"})


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



@dataclass(frozen=True)
class _Rendered:
    value: object
    at: float  # time.time() of the render: how long it may still be served


def rendered(key: str, render: Callable[[], object], *, seconds: int | None = None):
    """What ``render()`` gives (a page, or a page with what it needs to be served),
    kept under ``key`` and produced at most once per PAGE_CACHE_SECONDS (or per
    ``seconds``, for what may be older than a page; with PAGE_CACHE_SECONDS 0
    nothing is kept)."""
    return rendered_with_age(key, render, seconds=seconds)[0]


def rendered_with_age(key: str, render: Callable[[], object], *,
                      seconds: int | None = None) -> tuple[object, float]:
    """``rendered``, and for how many more seconds the page may be served (0 when
    the page cache is off)."""
    page_seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if page_seconds <= 0:
        return render(), 0.0
    seconds = seconds or page_seconds
    entry = cache.get(key)
    now = time.time()
    # A miss, an entry from an older release, or one kept longer than now allowed.
    if not isinstance(entry, _Rendered) or entry.at + seconds <= now:
        entry = _Rendered(_for_everyone(render), now)
        cache.set(key, entry, timeout=seconds)
    return entry.value, entry.at + seconds - now


def _for_everyone(render: Callable[[], object]) -> object:
    """Render what every reader will be given: nothing of this request's own (its
    query string, such as the first reader's ?ref=) may go into it."""
    previous = g.get("rendering_for_everyone", False)
    g.rendering_for_everyone = True
    try:
        return render()
    finally:
        g.rendering_for_everyone = previous


def rendering_for_everyone() -> bool:
    """Whether what is being rendered now is kept and served to every reader."""
    return g.get("rendering_for_everyone", False)


def forget(*keys: str) -> None:
    """Drop rendered pages now (a campaign was edited, published or closed)."""
    cache.delete_many(*keys)
    memory = current_app.extensions.get(_MEMORY)
    if memory:
        dropped = set(keys)
        for path, kept in list(memory.items()):
            if kept.key in dropped:
                memory.pop(path, None)


# --- the answers each process keeps ---------------------------------------------------------

@dataclass(frozen=True)
class Kept:
    """A page as this process serves it again: what ``answer`` makes each request's
    body from (``page``: the view's choice), the ETag, and the headers of the answer
    Flask gave."""

    key: str  # the page cache's key (forget drops it)
    page: object
    etag: str
    expires: float  # time.monotonic()
    # (app, environ, kept) → (body, etag) for this request: fills in the parts of the
    # page that differ per reader and tells whoever counts views.
    answer: Callable[[Flask, dict, Kept], tuple[bytes, str]]
    headers: tuple[tuple[str, str], ...] = ()


def keep(key: str, page: object, etag: str, fresh_for: float,
         answer: Callable[[Flask, dict, Kept], tuple[bytes, str]]) -> None:
    """Ask PageMemory to serve this GET's address again for ``fresh_for`` seconds
    (at most one) without Flask, if Flask's answer is a 200. ``answer`` must give
    what the view would give for that request."""
    if fresh_for <= 0 or request.method != "GET":
        return
    request.environ[_TO_KEEP] = Kept(key, page, etag, time.monotonic() + min(1.0, fresh_for), answer)


class PageMemory:
    """WSGI layer ahead of the app: serves the pages kept by ``keep`` (GET and HEAD,
    with If-None-Match answered by 304), passes everything else on, and keeps what
    a view asked to keep with the headers Flask answered it with."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._date = (0, "")

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return self.wsgi_app(environ, start_response)
        memory = self.app.extensions.get(_MEMORY)
        if memory:
            kept = memory.get(environ.get("PATH_INFO", ""))
            if (kept is not None and kept.expires > time.monotonic()
                    and "HTTP_IF_MATCH" not in environ and "HTTP_RANGE" not in environ):
                return self._serve(kept, environ, start_response)
        answered = []

        def note(status, headers, exc_info=None):
            answered.append((status, headers))
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, note)
        kept = environ.pop(_TO_KEEP, None)
        if kept is not None and answered and answered[0][0].startswith("200"):
            headers = tuple((k, v) for k, v in answered[0][1] if k.lower() not in _NOT_KEPT_HEADERS)
            memory = self.app.extensions.setdefault(_MEMORY, {})
            if len(memory) >= _MEMORY_PRUNE_AT:
                now = time.monotonic()
                for path, old in list(memory.items()):
                    if old.expires <= now:
                        memory.pop(path, None)
            if len(memory) < _MEMORY_PRUNE_AT:
                memory[environ.get("PATH_INFO", "")] = Kept(kept.key, kept.page, kept.etag, kept.expires,
                                                            kept.answer, headers)
        return body

    def _serve(self, kept: Kept, environ, start_response):
        body, etag = kept.answer(self.app, environ, kept)
        headers = list(kept.headers)
        headers.append(("ETag", f'"{etag}"'))
        headers.append(("Date", self._http_date()))
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match and parse_etags(match).contains_weak(etag):
            remove_entity_headers(headers)
            start_response("304 NOT MODIFIED", headers)
            return []
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _http_date(self) -> str:
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, http_date(second))
        return self._date[1]


def init_app(app: Flask) -> None:
    app.wsgi_app = PageMemory(app, app.wsgi_app)
