"""Headers for every response (security, and Retry-After on a 429), and the trusted-proxy setting."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors {frame_ancestors}"
)


class CrossSiteRefused(Forbidden):
    """A cross-site post to a public form whose page has nothing typed to keep."""


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site() -> bool:
    """Whether this request is a cross-site form post, by Fetch Metadata or Origin.

    Every current browser sends Sec-Fetch-Site: a post is ours when it says
    same-origin (our own page, even inside another site's iframe) or none (typed,
    bookmarked). An older browser sends only Origin, which must be ours: PUBLIC_URL's
    origin (behind a proxy that rewrites Host) or the request's own. A request with
    neither header does not come from a browser, so no visitor's trust is at stake."""
    if request.method in SAFE_METHODS:
        return False
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin.rstrip("/").lower() not in _our_origins()


def _our_origins() -> set[str]:
    public = urlsplit(current_app.config["PUBLIC_URL"])
    return {f"{public.scheme}://{public.netloc}".lower(), request.host_url.rstrip("/").lower()}


def accepts_files(*fields: str):
    """Mark a view whose form takes a file in ``fields`` (files are refused in any
    other field, and by every other view)."""
    def mark(view):
        view.file_fields = frozenset(fields)
        return view

    return mark


def allow_framing(frame_ancestors: str = "*") -> None:
    """Call from an embeddable view: lets other sites frame this one response."""
    g.frame_ancestors = frame_ancestors


def init_app(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)

    @app.before_request
    def refuse_unexpected_files():
        # No form of ours takes a file. WTForms hands a text field sent as a file to
        # its validators as a FileStorage (a 500 in Length); refuse the request once,
        # here, as invalid input, before any form sees it.
        allowed = getattr(current_app.view_functions.get(request.endpoint), "file_fields", frozenset())
        if set(request.files) - allowed:
            reason = _("This form does not take files. Please type your answers into the fields.")
            return render_template("errors/400.html", reason=reason), 400
        return None

    @app.after_request
    def set_security_headers(response):
        frame_ancestors = g.get("frame_ancestors", "'none'")
        response.headers.setdefault("Content-Security-Policy", CSP.format(frame_ancestors=frame_ancestors))
        # same-origin, not no-referrer: other sites still learn nothing of where a
        # reader came from, and our own form posts carry our Origin rather than
        # "null", which browsers without Fetch Metadata (Safari before 16.4, still
        # on many older phones) need to pass the cross-site check (security.cross_site).
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Names in a page must not leak to a DNS resolver before anyone clicks.
        response.headers.setdefault("X-DNS-Prefetch-Control", "off")
        response.headers.setdefault("Permissions-Policy", "interest-cohort=(), browsing-topics=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if frame_ancestors == "'none'":
            response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.after_request
    def say_when_to_retry(response):
        # A 429 should say when to come back (RFC 6585). Flask-Limiter only sends
        # Retry-After together with X-RateLimit-* on every limited response, where
        # a Retry-After on the 303 after signing would mean "wait before following".
        if response.status_code == 429 and "Retry-After" not in response.headers:
            from campaign.extensions import limiter

            breached = limiter.current_limit
            if breached is not None:
                response.headers["Retry-After"] = str(max(1, breached.reset_at - int(time.time())))
        return response
