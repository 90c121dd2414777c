"""Hostile input: every field of every form sent as a file upload is refused as
invalid input (400 with a translated reason), never a 500."""
from __future__ import annotations

import io

import pytest
from flask import g
from wtforms import Form
from wtforms.fields.core import UnboundField

from tests.conftest import csrf_token, login

pytestmark = pytest.mark.attack

BAD_TOKEN = "A" * 43
REASON = {"en": "This form does not take files.", "ar": "لا يقبل هذا النموذج ملفات."}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def every_field_name(app) -> list[str]:
    """The names of every field of every form in the app (the app has imported them all)."""
    names = {"csrf_token"}
    for form in _subclasses(Form):
        if form.__module__.startswith("campaign."):
            names.update(name for name in dir(form) if isinstance(getattr(form, name), UnboundField))
    return sorted(names)


def post_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_field_of_every_form_sent_as_a_file_is_refused(app, session, make_campaign, make_organiser, lang):
    owner = make_organiser("owner")
    campaign = make_campaign()
    client = app.test_client()
    login(client, owner)
    token = csrf_token(client, f"/{lang}/manage/")  # the workspace's; public forms carry none
    values = {"lang_code": lang, "slug": campaign.slug, "token": BAD_TOKEN, "campaign_id": campaign.id,
              "organisation_id": owner.memberships[0].organisation_id}
    fields = every_field_name(app)
    assert {"name", "email", "password", "comment", "title"} <= set(fields)
    rules = post_rules(app)
    assert len(rules) > 20
    for rule in rules:
        url = rule.build({name: values.get(name, 1) for name in rule.arguments}, append_unknown=False)[1]
        declared = getattr(app.view_functions[rule.endpoint], "file_fields", frozenset())
        for field in fields:
            if field in declared:  # a real upload field (the statements' CSV import)
                continue
            g.pop("organiser", None)
            data = {"csrf_token": token, "name": "Layla", "email": "layla@mail.example",
                    field: (io.BytesIO(b"=1+1"), "notes.txt")}
            response = client.post(url, data=data, content_type="multipart/form-data")
            assert response.status_code in (400, 422), (url, field, response.status_code)
            if field != "csrf_token":
                assert REASON[lang] in response.get_data(as_text=True), (url, field)
