"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Written by hand, next to the views it describes; tests/test_api_openapi.py runs
schemathesis against the app with it (every answer must match its schema, headers
and status) and checks that it names every /api/v1 route, so the two cannot drift.
Texts are keyed by language; the languages are the site's (campaign.i18n.LANGUAGES).
"""
from __future__ import annotations

from flask import current_app

from campaign.api.services import DEFAULT_LIMIT, LIST_STATES, MAX_LIMIT
from campaign.campaigns.models import CampaignKind
from campaign.campaigns.services import SLUG_RE
from campaign.i18n import LANGUAGES

TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    "description": "UTC, to the second.",
}
URL = {"type": "string", "format": "uri"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, *, required: list[str] | None = None, description: str | None = None) -> dict:
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "null"}]}


def _per_language(schema: dict, description: str) -> dict:
    return _object({lang: schema for lang in LANGUAGES}, description=description)


def _schemas() -> dict:
    state = {"type": "string", "enum": list(LIST_STATES),
             "description": "published: open for signatures; closed: no longer; archived: kept as it was."}
    count = {"type": "integer", "minimum": 0}
    goal = _nullable({"type": "integer", "minimum": 1})
    goal["description"] = "The number of signatures aimed for, if the campaign set one."
    summary = {
        "slug": {"type": "string"},
        "kind": {"type": "string", "enum": [kind.value for kind in CampaignKind]},
        "state": state,
        "goal": goal,
        "hashtag": _nullable({"type": "string"}),
        "published_at": TIMESTAMP,
        "closes_at": _nullable(TIMESTAMP),
        "closed_at": _nullable(TIMESTAMP),
        "updated_at": {**TIMESTAMP, "description": "When its texts, demands, settings or state last changed "
                                                   "(its counts change on their own)."},
        "links": _ref("Links"),
    }
    return {
        "Error": _object({
            "error": {"type": "string", "description": "not_found, method_not_allowed, invalid_parameter, "
                                                       "at_not_supported, service_unavailable, …"},
            "status": {"type": "integer", "description": "The HTTP status, repeated."},
            "detail": {"type": "string", "description": "What to change in the request, for a 400."},
        }, required=["error", "status"]),
        "Count": _object({
            "slug": {"type": "string"},
            "state": state,
            "verified": {**count, "description": "Signatures confirmed by e-mail (and not withdrawn)."},
            "pending": {**count, "description": "Signatures whose e-mail confirmation is awaited."},
            "goal": goal,
            "as_of": {**TIMESTAMP, "description": "When the counts were read (UTC); never more than a few "
                                                  "seconds before the answer."},
        }),
        "Links": _object({
            "self": {**URL, "description": "This campaign in the API."},
            "count": URL,
            "snapshot": URL,
            "page": _per_language(URL, "The campaign's public page in each language."),
        }),
        "CampaignSummary": _object({
            **summary,
            "texts": _per_language(_object({"title": {"type": "string"}, "summary": {"type": "string"}}),
                                   "Title and summary (plain text) in each language."),
        }),
        "CampaignList": _object({
            "campaigns": {"type": "array", "items": _ref("CampaignSummary"), "maxItems": MAX_LIMIT},
            "next_cursor": _nullable({"type": "string"}),
            "next": _nullable({**URL, "description": "The next page, or null on the last one."}),
        }),
        "Demand": _object({
            "position": {"type": "integer", "minimum": 1},
            "texts": _per_language(_object({"title": {"type": "string"}, "body": {"type": "string"}}),
                                   "The demand in each language (plain text)."),
        }),
        "Organisation": _object({
            "name": _per_language({"type": "string"}, "Its name in each language."),
            "page": _per_language(URL, "Its public page in each language."),
        }),
        "Campaign": _object({
            **summary,
            "texts": _per_language(
                _object({"title": {"type": "string"}, "summary": {"type": "string"},
                         "body_html": {"type": "string", "description": "The text as sanitised HTML (the same "
                                                                      "the page shows): headings, lists, links."}}),
                "Title, summary and text in each language."),
            "verified": count,
            "pending": count,
            "as_of": TIMESTAMP,
            "demands": {"type": "array", "items": _ref("Demand")},
            "organisation": {"oneOf": [_ref("Organisation"), {"type": "null"}]},
        }),
        "SnapshotContent": _object({
            "type": {"const": "sawt.count-snapshot"},
            "version": {"const": 1},
            "site": {**URL, "description": "The site that signed (its PUBLIC_URL)."},
            "slug": {"type": "string"},
            "titles": _per_language({"type": "string"}, "The campaign's title in each language, then."),
            "page": _per_language(URL, "The campaign's public page in each language."),
            "state": state,
            "verified": count,
            "pending": count,
            "goal": goal,
            "as_of": TIMESTAMP,
        }, description="What is signed, serialised canonically: keys sorted, no whitespace, UTF-8 (RFC 8785)."),
        "Signature": _object({
            "alg": {"const": "Ed25519"},
            "kid": {"type": "string", "description": "The key's RFC 7638 thumbprint, as in /api/v1/keys."},
            "sig": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$",
                    "description": "The 64-byte Ed25519 signature, base64url without padding."},
        }),
        "SignedSnapshot": _object({
            "snapshot": _ref("SnapshotContent"),
            "signature": _ref("Signature"),
            "keys": {**URL, "description": "Where the key to check it with is published."},
        }),
        "Key": _object({
            "kty": {"const": "OKP"},
            "crv": {"const": "Ed25519"},
            "x": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$",
                  "description": "The 32-byte public key, base64url without padding."},
            "kid": {"type": "string"},
            "alg": {"const": "EdDSA"},
            "use": {"const": "sig"},
            "status": {"type": "string", "enum": ["current", "retired"],
                       "description": "retired: no longer signs, kept to check older snapshots."},
        }),
        "KeySet": _object({"keys": {"type": "array", "items": _ref("Key"), "minItems": 1}},
                          description="A JSON Web Key Set (RFC 7517, RFC 8037)."),
    }


_HEADER_DESCRIPTIONS = {
    "ETag": "A strong validator of the body: send it back in If-None-Match for a 304.",
    "Last-Modified": "For campaigns with counts, the moment the counts were read; for the list, the last "
                     "change to any public campaign. Send it back in If-Modified-Since for a 304.",
    "Cache-Control": "public, max-age, s-maxage and stale-while-revalidate: any cache may keep the answer.",
    "Access-Control-Allow-Origin": "Always *: any web page may read the API.",
}


def _headers(*names: str) -> dict:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _ok(schema: str, description: str, *, last_modified: bool = True) -> dict:
    names = ["ETag", "Cache-Control", "Access-Control-Allow-Origin"] + (["Last-Modified"] if last_modified else [])
    return {"description": description, "headers": _headers(*names),
            "content": {"application/json": {"schema": _ref(schema)}}}


_NOT_MODIFIED = {"$ref": "#/components/responses/NotModified"}


def _operation(operation_id: str, summary: str, description: str, responses: dict, parameters=()) -> dict:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "parameters": list(parameters),
            "responses": {**responses, "304": _NOT_MODIFIED,
                          "503": {"$ref": "#/components/responses/Unavailable"}},
        }
    }


def document() -> dict:
    """The OpenAPI document, with this site's address as the server."""
    slug = {"$ref": "#/components/parameters/slug"}
    not_found = {"$ref": "#/components/responses/NotFound"}
    bad_request = {"$ref": "#/components/responses/BadRequest"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sawt API",
            "version": "1.0.0",
            "summary": "Public campaigns and their counts, for journalists, partner sites and widgets.",
            "description": (
                "Read-only, open to every origin (CORS), no key, no cookie. Every answer may be cached by "
                "anyone: it carries ETag, Last-Modified and Cache-Control (max-age, s-maxage, "
                "stale-while-revalidate); counts are never more than a few seconds old. Nothing about any "
                "signer is ever part of an answer: only the counts."
            ),
        },
        "servers": [{"url": current_app.config["PUBLIC_URL"] + "/api/v1"}],
        "paths": {
            "/campaigns": _operation(
                "listCampaigns", "Public campaigns",
                "Published, closed and archived campaigns, most recently published first. Follow `next` "
                "(or pass `next_cursor` as `cursor`) for the next page.",
                {"200": _ok("CampaignList", "A page of campaigns."), "400": bad_request},
                [{"$ref": "#/components/parameters/state"}, {"$ref": "#/components/parameters/limit"},
                 {"$ref": "#/components/parameters/cursor"}],
            ),
            "/campaigns/{slug}": _operation(
                "getCampaign", "One campaign",
                "Its texts in every language, demands, counts, goal, state, dates and organisation.",
                {"200": _ok("Campaign", "The campaign."), "404": not_found}, [slug],
            ),
            "/campaigns/{slug}/count": _operation(
                "getCount", "A campaign's counts",
                "Verified and pending signatures, as of a moment a few seconds ago at most.",
                {"200": _ok("Count", "The counts."), "404": not_found}, [slug],
            ),
            "/campaigns/{slug}/snapshot": _operation(
                "getSnapshot", "A signed count, to cite",
                "The counts now, signed with the site's Ed25519 key. Check the signature over the "
                "canonical serialisation of `snapshot` with the key named by `signature.kid` in "
                "/keys. Only the present can be signed: the history of counts is not kept, so `at` "
                "is refused.",
                {"200": _ok("SignedSnapshot", "The signed snapshot."), "400": bad_request, "404": not_found},
                [slug, {"name": "at", "in": "query", "required": False,
                        "description": "A past moment: not supported (no value is valid); any value is "
                                       "refused with 400 at_not_supported.",
                        "schema": {"not": {}}}],
            ),
            "/keys": _operation(
                "getKeys", "Keys that check snapshots",
                "The site's current signing key and any retired ones, as a JSON Web Key Set.",
                {"200": _ok("KeySet", "The keys.", last_modified=False)},
            ),
            "/openapi.json": _operation(
                "getOpenAPI", "This document", "The OpenAPI 3.1 description of this API.",
                {"200": {"description": "This document.", "headers": _headers("ETag", "Cache-Control",
                                                                             "Access-Control-Allow-Origin"),
                         "content": {"application/json": {"schema": {"type": "object",
                                                                     "required": ["openapi", "paths"]}}}}},
            ),
        },
        "components": {
            "schemas": _schemas(),
            "parameters": {
                "slug": {"name": "slug", "in": "path", "required": True,
                         "description": "The campaign's address, as in /en/c/{slug}.",
                         "schema": {"type": "string", "pattern": SLUG_RE.pattern, "maxLength": 80}},
                "state": {"name": "state", "in": "query", "required": False,
                          "description": "Only campaigns in this state.",
                          "schema": {"type": "string", "enum": list(LIST_STATES)}},
                "limit": {"name": "limit", "in": "query", "required": False,
                          "description": f"Campaigns per page (default {DEFAULT_LIMIT}).",
                          "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
                "cursor": {"name": "cursor", "in": "query", "required": False,
                           "description": "Where the page starts: the previous page's next_cursor.",
                           "schema": {"type": "string", "maxLength": 200}},
            },
            "headers": {
                name: {"description": text, "required": True, "schema": {"type": "string"}}
                for name, text in _HEADER_DESCRIPTIONS.items()
            },
            "responses": {
                "NotModified": {"description": "Unchanged since the ETag or date sent (If-None-Match, "
                                               "If-Modified-Since): use the copy you have."},
                "NotFound": {"description": "No public campaign at this address.",
                             "headers": _headers("Access-Control-Allow-Origin"),
                             "content": {"application/json": {"schema": _ref("Error")}}},
                "BadRequest": {"description": "A parameter out of range; `detail` says which.",
                               "headers": _headers("Access-Control-Allow-Origin"),
                               "content": {"application/json": {"schema": _ref("Error")}}},
                "Unavailable": {"description": "The database is briefly away: try again after Retry-After "
                                               "seconds.",
                                "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}},
                                            **_headers("Access-Control-Allow-Origin")},
                                "content": {"application/json": {"schema": _ref("Error")}}},
            },
        },
    }
