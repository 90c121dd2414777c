"""/api/v1: JSON for everyone, CORS-open, cacheable by any proxy."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify
from werkzeug.exceptions import HTTPException

from campaign.api import services
from campaign.extensions import db
from campaign.public_cache import public, rendered

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.after_request
def open_to_every_origin(response):
    # Reads only, nothing personal, no credentials: any page may fetch them.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Retry-After"
    return response


def error_as_json(error: HTTPException):
    return jsonify(error=error.name.lower().replace(" ", "_"), status=error.code), error.code


# By code: the site's own handlers for these codes (HTML pages) would win over a
# blueprint's handler for HTTPException in general.
for _code in (400, 404, 405, 429, 503):
    bp.register_error_handler(_code, error_as_json)


@bp.get("/campaigns/<slug>/count")
@public
def count(slug: str):
    """The counts, at most PAGE_CACHE_SECONDS old (one query a second in a surge)."""
    answer = rendered(f"api:count:{slug}", lambda: _count_json(slug))
    if answer is None:
        abort(404)
    return jsonify(answer)


def _count_json(slug: str) -> dict | None:
    found = services.count_of(db.session, slug)
    return found.as_json() if found else None
