"""Targets through the web: the workspace directory and campaign page, the public
'Addressed to' section, and writing to targets after confirming."""
from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask_babel import refresh

from campaign.targets.models import CampaignTarget, Letter, Target
from tests.conftest import csrf_token, link_in, login
from tests.targets_helpers import addressed, confirmed_signer, letters_outbox  # noqa: F401


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- workspace ---

def test_an_editor_adds_and_edits_a_target(client, session, make_organiser):
    editor = make_organiser("editor")
    login(client, editor)
    org_id = editor.memberships[0].organisation_id
    data = {"csrf_token": csrf_token(client, f"/en/manage/targets/new?organisation={org_id}"), "code": "icrc",
            "kind": "ngo", "name_ar": "اللجنة الدولية للصليب الأحمر", "name_en": "ICRC", "country": "CH",
            "language": "", "email": "desk@icrc.example.org", "x_handle": "@fake_icrc"}
    response = client.post(f"/en/manage/targets/new?organisation={org_id}", data=data)
    assert response.status_code == 303
    target = session.scalars(sa.select(Target)).one()
    assert target.x_handle == "fake_icrc" and target.names["ar"] == "اللجنة الدولية للصليب الأحمر"

    page = client.get(f"/ar/manage/targets/{target.id}/edit").get_data(as_text=True)
    assert "desk@icrc.example.org" in page
    data.update(csrf_token=csrf_token(client, f"/en/manage/targets/{target.id}/edit"), never_send_names="y",
                email="not an address")
    response = client.post(f"/en/manage/targets/{target.id}/edit", data=data)
    assert response.status_code == 422
    assert "This e-mail address is not valid." in response.get_data(as_text=True)


def test_another_organisation_cannot_see_or_change_the_directory(client, session, make_organiser, addressed):
    campaign, (first, _) = addressed
    outsider = make_organiser("owner", organisation="Other Group")
    login(client, outsider)
    assert client.get(f"/en/manage/targets/?organisation={campaign.organisation_id}").status_code == 403
    assert client.get(f"/en/manage/targets/{first.id}/edit").status_code == 403
    assert client.get(f"/en/manage/targets/export.csv?organisation={campaign.organisation_id}").status_code == 403
    assert client.get(f"/en/manage/campaigns/{campaign.id}/targets").status_code == 403


def test_import_and_export_through_the_workspace(client, session, make_organiser, addressed):
    campaign, _ = addressed
    owner = make_organiser("owner")
    login(client, owner)
    org = campaign.organisation_id
    exported = client.get(f"/en/manage/targets/export.csv?organisation={org}")
    assert exported.status_code == 200 and exported.data.startswith("\ufeff".encode())
    upload = exported.data + "new-desk,media,مكتب,Desk,,,,,,,,,no\n".encode()
    response = client.post(
        f"/en/manage/targets/import?organisation={org}",
        data={"csrf_token": csrf_token(client, f"/en/manage/targets/?organisation={org}"),
              "file": (io.BytesIO(upload), "targets.csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Added: 1. Updated: 2. Refused: 0." in html


def test_naming_targets_and_writing_the_letter_in_the_workspace(client, session, make_organiser, addressed):
    campaign, (first, guarded) = addressed
    owner = make_organiser("owner")
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/targets"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "target": [str(first.id)],
                                      f"rate-{first.id}": "5"})
    assert response.status_code == 303
    session.expire_all()
    [chosen] = session.scalars(sa.select(CampaignTarget)).all()
    assert (chosen.target_id, chosen.letters_per_hour) == (first.id, 5)

    bad = client.post(f"/en/manage/campaigns/{campaign.id}/letter", data={
        "csrf_token": csrf_token(client, url), "ar_subject": "موضوع", "ar_body": "نص {name}",
        "en_subject": "Subject", "en_body": "Dear {minister}"})
    assert bad.status_code == 422
    assert "Unknown placeholder {minister}" in bad.get_data(as_text=True)


# --- public ---

def test_the_campaign_page_says_whom_it_is_addressed_to(client, session, addressed):
    campaign, (first, guarded) = addressed
    signer = confirmed_signer(session, campaign, "layla@mail.example")
    from campaign.targets import services
    services.send_letters(session, signer, [first.id], locale="en", with_name=False, reply_to=None)
    session.commit()
    html = client.get(f"/ar/c/{campaign.slug}").get_data(as_text=True)
    assert "<bdi>هيئة un-desk</bdi>" in html and "<bdi>سفارة مثال</bdi>" in html
    refresh()  # the test's app context outlives requests, and flask-babel caches the locale in it
    english = client.get(f"/en/c/{campaign.slug}").get_data(as_text=True)
    assert "1 letter so far" in english


def test_the_write_page_without_a_pass_offers_mailbox_links_and_posts_only(client, session, addressed):
    campaign, (first, guarded) = addressed
    html = client.get(f"/en/c/{campaign.slug}/write").get_data(as_text=True)
    assert 'name="targets"' not in html
    mailto = re.search(r'href="(mailto:[^"]+)"', html).group(1)
    assert mailto.startswith("mailto:un-desk@un.example.org?subject=Stop%20the%20deportations")
    assert "%5Byour%20name%5D" in mailto  # the signer writes their name themselves
    # A guarded target gets no mailbox link: a signer's own mail would show their address.
    assert "consular@embassy.example.org" not in html
    gmail = re.search(r'href="(https://mail\.google\.com/[^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(gmail).query)["su"] == ["Stop the deportations"]
    x_post = re.search(r'href="(https://x\.com/intent/post\?[^"]+)"', html).group(1).replace("&amp;", "&")
    text = parse_qs(urlsplit(x_post).query)["text"][0]
    assert text.startswith("@fake_un_desk ") and "#FreeThemDemo" in text
    bsky = re.search(r'href="(https://bsky\.app/intent/compose\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "@embassy.example.org" in parse_qs(urlsplit(bsky).query)["text"][0]


def test_arabic_mailbox_letters_are_in_arabic(client, session, addressed):
    campaign, _ = addressed
    html = client.get(f"/ar/c/{campaign.slug}/write").get_data(as_text=True)
    mailto = re.search(r'href="(mailto:[^"]+)"', html).group(1)
    assert unquote(mailto.split("subject=")[1].split("&")[0]) == "أوقفوا الترحيل"


def test_confirming_leads_to_writing_through_sawt(client, session, addressed, deliver):
    campaign, (first, guarded) = addressed
    slug, ids = campaign.slug, [str(first.id), str(guarded.id)]
    client.post(f"/en/c/{slug}/sign", data={
        "csrf_token": csrf_token(client, f"/en/c/{slug}"), "name": "Sam Jones", "email": "sam@mail.example",
        "country": "GB", "visibility": "counted"})
    [message] = deliver()
    confirm = path_of(link_in(message, "/confirm/"))
    response = client.post(confirm, data={"csrf_token": csrf_token(client, confirm)})
    thanks = response.headers["Location"]
    assert "p=" in thanks
    html = client.get(thanks).get_data(as_text=True)
    write_url = re.search(r'href="(/en/c/[^"]+/write\?p=[^"]+)"', html).group(1).replace("&amp;", "&")
    page = client.get(write_url).get_data(as_text=True)
    assert "What the targets will see" in page
    token = parse_qs(urlsplit(write_url).query)["p"][0]
    response = client.post(f"/en/c/{slug}/write", data={
        "csrf_token": csrf_token(client, write_url), "p": token, "targets": ids,
        "with_name": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    after = client.get(path_of(response.headers["Location"])).get_data(as_text=True)
    assert "2 letters will be sent" in after
    assert "You have written to every target" in after
    assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 2


def test_writing_without_a_valid_pass_is_refused(client, session, addressed):
    campaign, (first, _) = addressed
    slug, first_id = campaign.slug, first.id
    response = client.post(f"/en/c/{slug}/write", data={
        "csrf_token": csrf_token(client, f"/en/c/{slug}"), "p": "forged", "targets": [str(first_id)]})
    assert response.status_code == 410
    assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0


def test_reply_to_needs_the_signing_address(client, session, addressed):
    campaign, (first, _) = addressed
    first_id = first.id
    signer = confirmed_signer(session, campaign, "layla@mail.example")
    from campaign.targets.services import signer_pass
    token = signer_pass(signer)
    url = f"/en/c/{campaign.slug}/write?p={token}"
    response = client.post(f"/en/c/{campaign.slug}/write", data={
        "csrf_token": csrf_token(client, url), "p": token, "targets": [str(first_id)], "with_reply_to": "y",
        "email": "other@mail.example"})
    assert response.status_code == 422
    assert "This is not the address you signed with." in response.get_data(as_text=True)
    assert letters_outbox(session) == []
