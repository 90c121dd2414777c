"""Who is asking: a campaign page names its organisation and launch date under the
title; the organisation's public page (/<lang>/org/<slug-or-id>) gives its
description, contact and privacy commitment in both languages; owners edit it in
the workspace, editors cannot. Publishing asks once more, showing what goes live."""
from __future__ import annotations

import contextvars
import re

import pytest
import sqlalchemy as sa

from campaign.campaigns.models import CampaignState
from campaign.demo import load_demo
from campaign.organiser.models import AuditEntry, Organisation
from tests.conftest import csrf_token, login


def get(client, url: str):
    """A request in a context of its own, as a server runs it (the ``app`` fixture's
    open context would otherwise keep the first request's language and token)."""
    return contextvars.Context().run(client.get, url)


def post(client, url: str, data: dict):
    return contextvars.Context().run(client.post, url, data=data)


def profile_form(lang_texts: dict[str, tuple[str, str, str]], **fields) -> dict:
    data = {"slug": "", "contact_email": "", "website": "", **fields}
    for lang, (name, description, privacy) in lang_texts.items():
        data |= {f"name_{lang}": name, f"description_{lang}": description, f"privacy_{lang}": privacy}
    return data


TEXTS = {
    "ar": ("لجنة أهالي المعتقلين", "لجنة أسّسها الأهالي.", "لا نشارك أسماءكم مع أحد."),
    "en": ("Detainees' Families Committee", "A committee founded by families.", "We share your names with no one."),
}


@pytest.fixture
def owner(make_organiser):
    return make_organiser("owner", "Families Committee")


def organisation_of(session, organiser) -> Organisation:
    return session.get(Organisation, organiser.memberships[0].organisation_id)


def test_owner_writes_the_public_page_in_both_languages(client, session, owner, make_campaign):
    organisation = organisation_of(session, owner)
    url = f"/en/manage/organisation/{organisation.id}"
    login(client, owner)
    assert get(client, url).status_code == 200
    data = profile_form(TEXTS, slug="families-committee", contact_email="Contact@Committee.example",
                        website="https://committee.example")
    data["csrf_token"] = csrf_token(client, url)
    assert post(client, url, data).status_code == 303
    session.expire_all()
    organisation = session.get(Organisation, organisation.id)
    assert organisation.slug == "families-committee" and organisation.contact_email == "contact@committee.example"
    assert session.scalar(sa.select(AuditEntry.action).where(AuditEntry.organisation_id == organisation.id)) \
        == "organisation.profile"

    campaign = make_campaign(organisation_id=organisation.id)
    for lang in ("ar", "en"):
        name, description, privacy = TEXTS[lang]
        page = get(client, f"/{lang}/org/families-committee").get_data(as_text=True)
        assert f"<bdi>{name}</bdi>" in page.replace("&#39;", "'")
        assert description in page and privacy in page.replace("&#39;", "'")
        assert "mailto:contact@committee.example" in page
        assert f'href="/{lang}/c/{campaign.slug}"' in page
        # The campaign page names it under the title, with a link, and says since when.
        show = get(client, f"/{lang}/c/{campaign.slug}").get_data(as_text=True)
        byline = re.search(r'<p class="byline">(.*?)</p>', show, re.S).group(1)
        assert f'href="/{lang}/org/families-committee"' in byline
        assert name in byline.replace("&#39;", "'")
        assert ("بدأت في" if lang == "ar" else "Started on") in byline
    # Once it has an address of its own, the numeric one no longer answers.
    assert get(client, f"/en/org/{organisation.id}").status_code == 404
    assert get(client, "/en/org/no-such-group").status_code == 404


def test_a_page_without_a_slug_answers_at_its_id(client, session, owner, make_campaign):
    organisation = organisation_of(session, owner)
    campaign = make_campaign(organisation_id=organisation.id)
    show = get(client, f"/ar/c/{campaign.slug}").get_data(as_text=True)
    assert f'href="/ar/org/{organisation.id}"' in show
    page = get(client, f"/ar/org/{organisation.id}")
    assert page.status_code == 200 and "Families Committee" in page.get_data(as_text=True)


def test_editors_cannot_change_the_public_page(client, session, make_organiser):
    editor = make_organiser("editor", "Families Committee")
    organisation = organisation_of(session, editor)
    login(client, editor)
    assert get(client, f"/en/manage/organisation/{organisation.id}").status_code == 403


def test_two_organisations_cannot_share_an_address(client, session, owner, make_organiser):
    other = make_organiser("owner", "Another Group")
    organisation_of(session, other).slug = "taken"
    session.commit()
    url = f"/ar/manage/organisation/{organisation_of(session, owner).id}"
    login(client, owner)
    data = profile_form(TEXTS, slug="taken")
    data["csrf_token"] = csrf_token(client, url)
    refused = post(client, url, data)
    assert refused.status_code == 422
    assert "منظمة أخرى تستخدم هذا الرابط بالفعل." in refused.get_data(as_text=True)


def test_demo_organisation_page_speaks_for_sawt(client, session):
    load_demo(session)
    session.commit()
    for lang, name in (("ar", "فريق «صوت»"), ("en", "The Sawt team")):
        page = get(client, f"/{lang}/org/sawt").get_data(as_text=True)
        assert name in page.replace("&#34;", '"')
        assert "privacy-heading" in page


def test_publishing_asks_once_more_showing_what_goes_live(client, session, owner, make_campaign):
    organisation = organisation_of(session, owner)
    draft = make_campaign(publish=False, organisation_id=organisation.id, goal=2000)
    login(client, owner)
    workspace = get(client, f"/en/manage/campaigns/{draft.id}/").get_data(as_text=True)
    assert f'<form method="get" action="/en/manage/campaigns/{draft.id}/publish">' in workspace
    confirm = get(client, f"/en/manage/campaigns/{draft.id}/publish")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    for lang in ("ar", "en"):
        assert draft.text(lang).title in page and draft.text(lang).summary in page
        assert f"/{lang}/c/{draft.slug}" in page
    assert "Yes, publish it now" in page and "2,000" in page
    session.expire_all()
    assert draft.state == CampaignState.draft, "looking at the confirmation publishes nothing"
    post(client, f"/en/manage/campaigns/{draft.id}/publish",
         {"csrf_token": csrf_token(client, f"/en/manage/campaigns/{draft.id}/publish")})
    session.expire_all()
    assert draft.state == CampaignState.published
