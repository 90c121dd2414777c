"""The OpenAPI document at /api/v1/openapi.json says exactly what the API answers:
schemathesis drives every operation in-process (WSGI), with generated input and with
the real campaigns, and checks each answer's status, content type, headers and body
against it; and the document names every /api/v1 route the app has, so neither can
change without the other."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from campaign.api.openapi import document
from campaign.campaigns import services
from campaign.organiser.models import Organisation
from campaign.privacy.keys import utcnow


@pytest.fixture
def slugs(session, make_campaign, add_signature) -> list[str]:
    """Public campaigns in every state, with and without the optional fields."""
    organisation = Organisation(name="Cairo Rights Group", slug="crg")
    session.add(organisation)
    session.flush()
    full = make_campaign(goal=100, hashtag="FreeThem", closes_at=utcnow() + dt.timedelta(days=9),
                         organisation_id=organisation.id)
    add_signature(full)
    add_signature(full, verified=False)
    closed = make_campaign(demands=0)
    services.close(session, None, closed)
    archived = make_campaign()
    services.close(session, None, archived)
    services.archive(session, None, archived)
    make_campaign(publish=False)
    session.commit()
    return [full.slug, closed.slug, archived.slug]


@pytest.fixture
def api_schema(app, slugs):
    """The document as the app serves it, bound to the app."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _excluded(operation) -> list:
    # A cursor is opaque: one this API did not hand out is refused (400), although
    # any string fits the schema.
    return [positive_data_acceptance] if operation.path == "/campaigns" else []


@pytest.mark.slow
def test_every_answer_to_generated_requests_matches_the_document(api_schema, slugs):
    """Generated requests, valid (for unknown and real campaigns) and invalid: no
    500, and every answer as documented; invalid input is refused with a 4xx."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # Schemathesis leaves out the document it was loaded from (it has read it).
    assert {operation.path for operation in operations} == set(document()["paths"]) - {"/openapi.json"}
    for operation in operations:
        strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
        if "{slug}" in operation.path:
            strategies += [operation.as_strategy(path_parameters={"slug": slug}) for slug in slugs]

        @given(case=st.one_of(strategies))
        @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate(excluded_checks=_excluded(operation))

        conforms()


def test_every_answer_about_real_campaigns_matches_the_document(api_schema, slugs):
    operations = {operation.path: operation for operation in (r.ok() for r in api_schema.get_all_operations())}
    for path, operation in operations.items():
        if "{slug}" in path:
            for slug in slugs:
                response = operation.Case(path_parameters={"slug": slug}).call_and_validate()
                assert response.status_code == 200, (path, slug)
                unchanged = operation.Case(path_parameters={"slug": slug},
                                           headers={"If-None-Match": response.headers["etag"][0]})
                assert unchanged.call_and_validate().status_code in (200, 304)  # 200 if the second turned
        else:
            assert operation.Case().call_and_validate().status_code == 200, path

    listing = operations["/campaigns"]
    for state in ("published", "closed", "archived"):
        answer = listing.Case(query={"state": state}).call_and_validate()
        assert len(answer.json()["campaigns"]) == 1
    seen, query = [], {"limit": 1}
    while query:
        answer = listing.Case(query=query).call_and_validate(excluded_checks=_excluded(listing)).json()
        seen += [campaign["slug"] for campaign in answer["campaigns"]]
        query = {"limit": 1, "cursor": answer["next_cursor"]} if answer["next_cursor"] else None
    assert sorted(seen) == sorted(slugs)


def test_the_document_names_every_api_route(app):
    documented = {
        "/api/v1" + path: {method.upper() for method in operations}
        for path, operations in document()["paths"].items()
    }
    routed = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routed[path] = set(rule.methods) - {"HEAD", "OPTIONS"}
    assert routed == documented
