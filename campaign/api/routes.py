"""/api/v1: JSON for everyone, CORS-open, cacheable by any proxy.

Every answer is rendered at most once per PAGE_CACHE_SECONDS (public_cache.rendered:
a hit costs no SQL) with its ETag and Last-Modified, and served with Cache-Control
(max-age, s-maxage, stale-while-revalidate) and a 304 to a matching If-None-Match or
If-Modified-Since. No answer sets a cookie or reads one. The document at
/api/v1/openapi.json (campaign/api/openapi.py) describes all of it.
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from campaign.api import openapi, services, signing
from campaign.extensions import db
from campaign.public_cache import Representation, cache_headers, public, rendered
from campaign.urls import external_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")

JSON = "application/json"
# Request headers a page on another site may send with its reads: the conditional
# ones (a fetch() that revalidates by itself) need a preflight.
ALLOWED_HEADERS = "Accept, Accept-Language, Cache-Control, If-Modified-Since, If-None-Match, Pragma"
EXPOSED_HEADERS = "ETag, Last-Modified, Retry-After"
# What changes only with a deployment or a key rotation.
SLOW_MAX_AGE = 300


def _dumps(document: dict) -> bytes:
    # Arabic as UTF-8, not \u escapes: a third of the size.
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@bp.before_request
def answer_preflight():
    """A CORS preflight (a page elsewhere reading with a conditional header): reads
    are allowed from every origin, anything else is not offered."""
    if request.method == "OPTIONS":
        response = current_app.response_class(status=204)
        response.headers["Allow"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
        return response
    return None


def _under_api() -> bool:
    return request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/")


@bp.before_app_request
def routing_errors_as_json():
    """An address under /api/v1 that no view answers (or not with this method):
    the same JSON error as the views give, not the site's HTML page. (Routing
    errors belong to no blueprint, so the blueprint's handlers never see them.)"""
    error = request.routing_exception
    if isinstance(error, (NotFound, MethodNotAllowed)) and _under_api():
        return error_as_json(error)
    return None


@bp.after_app_request
def open_to_every_origin(response):
    # Reads only, nothing personal, no credentials: any page may fetch them.
    if _under_api():
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def error_response(status: int, error: str, detail: str | None = None):
    body = {"error": error, "status": status}
    if detail:
        body["detail"] = detail
    response = current_app.response_class(_dumps(body), status=status, mimetype=JSON)
    if status == 404:
        # Readers polling a campaign about to be published find it within seconds.
        cache_headers(response)
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


def error_as_json(error: HTTPException):
    response = error_response(error.code or 500, error.name.lower().replace(" ", "_"))
    if error.code == 405:
        response.headers["Allow"] = "GET, HEAD, OPTIONS"
    return response


# By code: the site's own handlers for these codes (HTML pages) would win over a
# blueprint's handler for HTTPException in general.
for _code in (400, 404, 405, 429, 500, 503):
    bp.register_error_handler(_code, error_as_json)


def database_unavailable(error):
    current_app.logger.warning("database unavailable: %s", type(error).__name__)
    response = error_response(503, "service_unavailable")
    response.headers["Retry-After"] = str(current_app.config["DB_RETRY_AFTER_SECONDS"])
    return response


for _error_class in (OperationalError, InterfaceError, PoolTimeout):
    bp.register_error_handler(_error_class, database_unavailable)


def _serve(key: str, render):
    """The representation cached under ``key`` (made by ``render``, None: 404)."""
    representation = rendered(key, render)
    if representation is None:
        abort(404)
    return representation.response()


# --- campaigns ---

@bp.get("/campaigns")
@public
def campaigns():
    """Public campaigns, newest first, in pages of ``limit`` (at most 100)."""
    # Strict: a parameter given empty is a mistake to point out, not an absent one.
    state = request.args.get("state")
    cursor = request.args.get("cursor")
    limit_text = request.args.get("limit")
    if state is not None and state not in services.LIST_STATES:
        return error_response(400, "invalid_parameter", "state: one of " + ", ".join(services.LIST_STATES))
    if limit_text is None:
        limit = services.DEFAULT_LIMIT
    elif limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= services.MAX_LIMIT:
        limit = int(limit_text)
    else:
        return error_response(400, "invalid_parameter", f"limit: a whole number from 1 to {services.MAX_LIMIT}")
    if cursor is not None and (len(cursor) > 200 or not _cursor_valid(cursor)):
        return error_response(400, "invalid_parameter", "cursor: give back a next_cursor of this API")

    def render():
        page = services.campaign_page(db.session, state=state, limit=limit, cursor=cursor)
        return Representation.of(_dumps({
            "campaigns": page.campaigns,
            "next_cursor": page.next_cursor,
            "next": external_url("api.campaigns", state=state, limit=limit if limit_text else None,
                                 cursor=page.next_cursor) if page.next_cursor else None,
        }), JSON, page.last_modified)

    return _serve(f"api:campaigns:{state}:{limit}:{cursor}", render)


def _cursor_valid(cursor: str) -> bool:
    try:
        services.decode_cursor(cursor)
    except services.InvalidCursor:
        return False
    return True


@bp.get("/campaigns/<slug>")
@public
def campaign(slug: str):
    """A public campaign: texts in every language, demands, counts, organisation."""

    def render():
        found = services.campaign_document(db.session, slug)
        return Representation.of(_dumps(found.document), JSON, found.last_modified) if found else None

    return _serve(f"api:campaign:{slug}", render)


@bp.get("/campaigns/<slug>/count")
@public
def count(slug: str):
    """The counts, at most PAGE_CACHE_SECONDS old (one query a second in a surge)."""

    def render():
        found = services.count_of(db.session, slug)
        return Representation.of(_dumps(found.as_json()), JSON, found.as_of) if found else None

    return _serve(f"api:count:{slug}", render)


@bp.get("/campaigns/<slug>/snapshot")
@public
def snapshot(slug: str):
    """The counts now, signed with the site's key (see /api/v1/keys). Only "now":
    the counts' history is not kept, so a past moment cannot be vouched for."""
    if "at" in request.args:
        return error_response(400, "at_not_supported",
                              "snapshots are of the present only: the history of counts is not kept")

    def render():
        document = services.snapshot_of(db.session, slug)
        if document is None:
            return None
        body = {
            "snapshot": document,
            "signature": signing.signing_key().sign(document),
            "keys": external_url("api.keys"),
        }
        return Representation.of(_dumps(body), JSON, services.parse_timestamp(document["as_of"]))

    return _serve(f"api:snapshot:{slug}", render)


# --- about the API itself ---

@bp.get("/keys")
@public(max_age=SLOW_MAX_AGE)
def keys():
    """The public keys that check snapshots (a JSON Web Key Set)."""
    return _serve("api:keys", lambda: Representation.of(_dumps(signing.key_set()), JSON))


@bp.get("/openapi.json")
@public(max_age=SLOW_MAX_AGE)
def openapi_document():
    """This API described in OpenAPI 3.1."""
    return _serve("api:openapi", lambda: Representation.of(_dumps(openapi.document()), JSON))
