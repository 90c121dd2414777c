"""Updates to signers: drafts in both languages, a test to oneself, one send to each
opted-in signer in their own language (in batches), unsubscribing."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from campaign.organiser.access import PermissionDenied
from campaign.campaigns.models import Campaign
from campaign.organiser.models import AuditEntry, Organiser
from campaign.outbox.models import MessageState, OutboxMessage
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState
from campaign.signatures import services as signing
from campaign.states import TransitionError
from campaign.updates import services
from campaign.updates.models import UnsubscribeToken, Update, UpdateState
from campaign.updates.services import UpdateIncomplete, UpdateLocked, UpdateTextInput
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.web import csrf_token

TEXTS = {
    "ar": UpdateTextInput("أخبار الحملة", "وصلت **العريضة** إلى البرلمان."),
    "en": UpdateTextInput("Campaign news", "The **petition** reached parliament."),
}


@pytest.fixture
def owned(make_campaign, make_organiser):
    """An owner, an editor, and a published campaign of their organisation."""
    owner = make_organiser("owner", email="owner@org.example")
    editor = make_organiser("editor")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    return owner, editor, campaign


def update_messages(session, template="update"):
    return session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id)
    ).all()


# --- Service ----------------------------------------------------------------------

def test_update_goes_to_each_opted_in_signer_in_their_own_language(session, owned, add_signature, app):
    owner, _, campaign = owned
    ar = add_signature(campaign, "ليلى حداد", "layla@mail.example", opt_in=True, locale="ar")
    en = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True, locale="en")
    add_signature(campaign, "No Updates", "quiet@mail.example", opt_in=False)
    add_signature(campaign, "Not Confirmed", "pending@mail.example", opt_in=True, verified=False)
    invalid = add_signature(campaign, "Fake Name", "fake@mail.example", opt_in=True)
    signing.move(session, invalid, SignatureState.invalidated)
    unsubscribed = add_signature(campaign, "Gone Away", "gone@mail.example", opt_in=True)
    unsubscribed.opt_in = False  # as unsubscribing leaves it
    session.commit()

    update = services.create_draft(session, owner, campaign, TEXTS)
    assert services.recipient_counts(session, campaign) == {"ar": 1, "en": 1}
    counts = services.start_sending(session, owner, update)
    assert counts == {"ar": 1, "en": 1}
    assert services.queue_batch(session, update) == 2
    assert update.state == UpdateState.sent
    assert update.recipient_counts == {"ar": 1, "en": 1}

    by_address = {m.payload["to"]: m for m in update_messages(session)}
    assert set(by_address) == {"layla@mail.example", "sam@mail.example"}
    arabic, english = by_address["layla@mail.example"], by_address["sam@mail.example"]
    assert arabic.payload["locale"] == "ar" and arabic.payload["subject"] == "أخبار الحملة"
    assert "<strong>العريضة</strong>" in arabic.payload["html"] and 'dir="rtl"' in arabic.payload["html"]
    assert english.payload["subject"] == "Campaign news" and "<strong>petition</strong>" in english.payload["html"]
    assert arabic.signature_id == ar.id and english.signature_id == en.id
    # Each e-mail has its own unsubscribe link, in the text, the HTML and the header.
    for message in (arabic, english):
        url = re.search(r"http://sawt\.test/\w+/unsubscribe/\S+", message.payload["text"]).group(0)
        assert url in message.payload["html"]
        assert message.payload["headers"] == {"List-Unsubscribe": f"<{url}>",
                                              "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert "/ar/unsubscribe/" in arabic.payload["text"] and "/en/unsubscribe/" in english.payload["text"]
    assert session.scalar(sa.select(sa.func.count()).select_from(UnsubscribeToken)) == 2


def test_test_send_goes_only_to_the_organiser_in_both_languages(session, owned, add_signature):
    owner, editor, campaign = owned
    add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True)
    update = services.create_draft(session, editor, campaign, TEXTS)
    services.send_test(session, editor, update)  # editors may test their drafts
    messages = update_messages(session, "update_test")
    assert [(m.payload["to"], m.payload["locale"]) for m in messages] == [(editor.email, "ar"), (editor.email, "en")]
    assert messages[0].payload["subject"] == "[تجربة] أخبار الحملة"
    assert messages[1].payload["subject"] == "[Test] Campaign news"
    assert "TEST: only you received this e-mail" in messages[1].payload["text"]
    assert "headers" not in messages[1].payload  # no real unsubscribe link in a test
    assert update_messages(session) == []
    assert update.state == UpdateState.draft and update.test_sent_at is not None


def test_incomplete_update_cannot_be_tested_or_sent(session, owned):
    owner, _, campaign = owned
    update = services.create_draft(session, owner, campaign, {"ar": TEXTS["ar"], "en": UpdateTextInput("Only a subject")})
    with pytest.raises(UpdateIncomplete) as refused:
        services.send_test(session, owner, update)
    assert [(m.locale, m.field) for m in refused.value.missing] == [("en", "body")]
    with pytest.raises(UpdateIncomplete):
        services.start_sending(session, owner, update)
    assert update.state == UpdateState.draft


def test_an_update_is_sent_once_and_then_locked(session, owned, add_signature):
    owner, _, campaign = owned
    add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True)
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    with pytest.raises(TransitionError):
        services.start_sending(session, owner, update)
    with pytest.raises(UpdateLocked):
        services.save_draft(session, owner, update, TEXTS)
    with pytest.raises(UpdateLocked):
        services.delete_draft(session, owner, update)
    while services.queue_due_updates(session):
        pass
    assert services.queue_due_updates(session) == 0
    assert update.state == UpdateState.sent
    assert len(update_messages(session)) == 1
    with pytest.raises(TransitionError):
        services.start_sending(session, owner, update)


def test_editors_draft_and_owners_send(session, owned, make_organiser):
    owner, editor, campaign = owned
    update = services.create_draft(session, editor, campaign, TEXTS)
    assert services.save_draft(session, editor, update, {**TEXTS, "en": UpdateTextInput("New", "Text")})
    with pytest.raises(PermissionDenied):
        services.start_sending(session, editor, update)
    outsider = make_organiser("owner", organisation="Another Group")
    with pytest.raises(PermissionDenied):
        services.create_draft(session, outsider, campaign, TEXTS)
    with pytest.raises(PermissionDenied):
        services.start_sending(session, outsider, update)
    services.start_sending(session, owner, update)


def test_a_draft_changed_after_the_sender_read_it_is_not_sent(session, owned):
    owner, editor, campaign = owned
    update = services.create_draft(session, editor, campaign, TEXTS)
    session.commit()
    read = services.version_of(update)
    services.save_draft(session, editor, update, {**TEXTS, "en": UpdateTextInput("New", "Changed text")})
    session.commit()
    with pytest.raises(services.UpdateChanged):
        services.start_sending(session, owner, update, seen_version=read)
    session.rollback()
    # A teammate's save that lands between the check and the send is caught too.
    stale = services.version_of(update)
    session.execute(sa.update(Update).where(Update.id == update.id).values(updated_at=utcnow()))
    with pytest.raises(services.UpdateChanged):
        services.start_sending(session, owner, update, seen_version=stale)
    session.rollback()
    assert session.get(Update, update.id).state == UpdateState.draft
    services.start_sending(session, owner, update, seen_version=services.version_of(update))
    assert update.state == UpdateState.sending


def test_sending_is_queued_in_batches_in_id_order(session, owned, add_signature):
    owner, _, campaign = owned
    signers = [add_signature(campaign, f"Signer {n}", f"s{n}@mail.example", opt_in=True,
                             locale="ar" if n % 2 else "en") for n in range(7)]
    session.commit()
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    # Someone who signs after the click is not part of this update.
    late = add_signature(campaign, "Late Comer", "late@mail.example", opt_in=True)
    assert services.queue_batch(session, update, batch_size=3) == 3
    assert update.state == UpdateState.sending and update.queued_through_id == signers[2].id
    assert services.queue_batch(session, update, batch_size=3) == 3
    assert services.queue_batch(session, update, batch_size=3) == 1
    assert update.state == UpdateState.sent
    assert services.queue_batch(session, update, batch_size=3) == 0
    messages = update_messages(session)
    assert [m.signature_id for m in messages] == [s.id for s in signers]
    assert late.id not in {m.signature_id for m in messages}
    assert update.recipient_counts == {"ar": 3, "en": 4}


def test_batches_read_each_signers_choice_when_they_are_queued(session, owned, add_signature):
    owner, _, campaign = owned
    first = add_signature(campaign, "First", "first@mail.example", opt_in=True)
    second = add_signature(campaign, "Second", "second@mail.example", opt_in=True)
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    services.queue_batch(session, update, batch_size=1)
    second.opt_in = False  # unsubscribed (from an earlier update) while this one was going out
    session.flush()
    services.queue_batch(session, update, batch_size=1)
    assert [m.signature_id for m in update_messages(session)] == [first.id]
    assert update.state == UpdateState.sent


def test_audit_keeps_counts_per_language_and_no_addresses(session, owned, add_signature):
    owner, _, campaign = owned
    add_signature(campaign, "ليلى حداد", "layla@mail.example", opt_in=True, locale="ar")
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.send_test(session, owner, update)
    services.start_sending(session, owner, update)
    services.queue_batch(session, update)
    entries = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["update.create", "update.test_send", "update.send", "update.sent"]
    assert entries[2].detail["recipients"] == {"ar": 1, "en": 0} and entries[2].organiser_id == owner.id
    assert entries[3].detail["recipients"] == {"ar": 1, "en": 0} and entries[3].organiser_id is None
    assert "layla" not in repr([e.detail for e in entries])


def test_unsubscribe_stops_updates_and_lets_the_address_go(session, owned, add_signature, deliver):
    owner, _, campaign = owned
    signer_id = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True).id
    ids = (owner.id, campaign.id)
    session.commit()
    deliver()  # the confirmation mail has gone (the worker ends the session: fetch again)
    owner, campaign = session.get(Organiser, ids[0]), session.get(Campaign, ids[1])
    first = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, first)
    services.queue_batch(session, first)
    session.commit()
    [mail] = deliver()
    owner, campaign = session.get(Organiser, ids[0]), session.get(Campaign, ids[1])
    token = link_in(mail, "/unsubscribe/").rsplit("/", 1)[1]
    # (a long URL is folded onto its own line: whitespace around it is not part of it)
    assert mail["List-Unsubscribe"].strip() == f"<{link_in(mail, '/unsubscribe/')}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A second update is queued but not delivered yet when they unsubscribe.
    second = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, second)
    services.queue_batch(session, second)
    assert services.unsubscribe(session, token).id == signer_id
    session.commit()
    signer = session.get(Signature, signer_id)
    assert signer.opt_in is False and signer.email is None
    assert signer.state == SignatureState.verified  # still counted
    assert [m.state for m in update_messages(session)] == [MessageState.sent, MessageState.dead]
    assert "sam@" not in repr([m.payload for m in update_messages(session)])
    assert deliver() == []
    # Again: harmless. A made-up token: nothing.
    assert services.unsubscribe(session, token).id == signer_id
    assert services.unsubscribe(session, "not-a-token") is None
    assert services.find_for_unsubscribe(session, "x" * 500) is None


def test_unsubscribing_keeps_the_address_while_other_mail_to_it_waits(session, owned, add_signature):
    owner, _, campaign = owned
    signer = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True)
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    services.queue_batch(session, update)
    token = re.search(r"/unsubscribe/(\S+)", update_messages(session)[0].payload["text"]).group(1)
    services.unsubscribe(session, token)
    # Its confirmation e-mail has not gone yet: the address stays until it has.
    assert signer.opt_in is False and signer.email == "sam@mail.example"


def test_archived_campaigns_get_no_updates(session, owned):
    from campaign.campaigns import services as campaigns

    owner, _, campaign = owned
    update = services.create_draft(session, owner, campaign, TEXTS)
    campaigns.close(session, None, campaign)
    campaigns.archive(session, None, campaign)
    with pytest.raises(services.CampaignArchived):
        services.start_sending(session, owner, update)
    with pytest.raises(services.CampaignArchived):
        services.create_draft(session, owner, campaign, TEXTS)


# --- Web --------------------------------------------------------------------------

def _compose(client, url, action="save", **fields):
    data = {"csrf_token": csrf_token(client, url), "action": action}
    for lang in ("ar", "en"):
        data[f"{lang}-subject"] = fields.get(f"{lang}_subject", TEXTS[lang].subject)
        data[f"{lang}-body_md"] = fields.get(f"{lang}_body", TEXTS[lang].body_md)
    return client.post(url, data=data)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_compose_page_shows_both_languages_side_by_side(client, owned, lang, login):
    owner, _, campaign = owned
    login(client, owner)
    html = client.get(f"/{lang}/manage/campaigns/{campaign.id}/updates").get_data(as_text=True)
    assert 'id="ar-subject"' in html and 'id="en-subject"' in html
    assert re.search(r'<textarea[^>]*dir="rtl"[^>]*id="ar-body_md"|<textarea[^>]*id="ar-body_md"[^>]*dir="rtl"', html)
    assert re.search(r'id="en-body_md"[^>]*dir="ltr"|dir="ltr"[^>]*id="en-body_md"', html)


@pytest.mark.parametrize("lang, expected", [
    ("en", "Please use at most 200 characters."),
    ("ar", "يُرجى ألا يتجاوز عدد الأحرف 200."),
])
def test_form_errors_keep_what_was_typed(client, session, owned, lang, expected, login):
    owner, _, campaign = owned
    login(client, owner)
    url = f"/{lang}/manage/campaigns/{campaign.id}/updates"
    response = _compose(client, url, en_subject="x" * 201, ar_body="نص كتبته بعناية")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "نص كتبته بعناية" in html and "x" * 201 in html
    assert 'aria-invalid="true"' in html
    assert session.scalar(sa.select(sa.func.count()).select_from(Update)) == 0


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_test_send_refused_until_both_languages_are_written(client, session, owned, lang, login):
    owner, _, campaign = owned
    login(client, owner)
    url = f"/{lang}/manage/campaigns/{campaign.id}/updates"
    response = _compose(client, url, action="test", en_body="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="en-body_md-error"' in html and "Campaign news" in html
    assert session.scalar(sa.select(sa.func.count()).select_from(Update)) == 0
    assert update_messages(session, "update_test") == []


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_preview_renders_markdown_without_saving(client, session, owned, lang, login):
    owner, _, campaign = owned
    login(client, owner)
    response = _compose(client, f"/{lang}/manage/campaigns/{campaign.id}/updates", action="preview",
                        en_body="Hello <script>alert(1)</script> **world**")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>world</strong>" in html and "<script>alert" not in html
    assert session.scalar(sa.select(sa.func.count()).select_from(Update)) == 0


def send_form(client, send_url: str) -> dict:
    """What the send button posts: the form token and the version of the text shown."""
    page = client.get(send_url).get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
            "version": re.search(r'name="version" type="hidden" value="([^"]+)"', page).group(1)}


def test_owner_composes_tests_confirms_and_sends(client, session, owned, add_signature, deliver, login):
    owner, _, campaign = owned
    add_signature(campaign, "ليلى حداد", "layla@mail.example", opt_in=True, locale="ar")
    add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True, locale="en")
    add_signature(campaign, "Ola", "ola@mail.example", opt_in=True, locale="en")
    owner_id, campaign_id = owner.id, campaign.id
    session.commit()
    deliver()
    login(client, session.get(Organiser, owner_id))
    response = _compose(client, f"/en/manage/campaigns/{campaign_id}/updates", action="test")
    assert response.status_code == 303
    edit_url = response.headers["Location"]
    page = client.get(edit_url).get_data(as_text=True)
    assert "A test in both languages is on its way to owner@org.example" in page
    tests = deliver()
    assert sorted((m["To"], m["Subject"]) for m in tests) == [
        ("owner@org.example", "[Test] Campaign news"), ("owner@org.example", "[تجربة] أخبار الحملة")]
    login(client, session.get(Organiser, owner_id))  # the worker ended the session the test shares

    send_url = edit_url + "/send"
    page = client.get(send_url).get_data(as_text=True)
    assert "This update goes to 3 signers" in page
    assert "1 in Arabic" in page and "2 in English" in page
    # The whole text is on the page the sender confirms, and the form names its version.
    assert "<h3>أخبار الحملة</h3>" in page and "<h3>Campaign news</h3>" in page
    shown = send_form(client, send_url)
    # A teammate changes the draft meanwhile: nothing is sent, the new text is shown.
    update = session.scalars(sa.select(Update)).one()
    services.save_draft(session, session.get(Organiser, owner_id), update, {
        "ar": UpdateTextInput("أخبار الحملة", "نص معدّل"), "en": UpdateTextInput("Campaign news", "Edited text")})
    session.commit()
    login(client, session.get(Organiser, owner_id))
    refused = client.post(send_url, data={**shown, "csrf_token": csrf_token(client, send_url)})
    assert refused.status_code == 409
    assert "the update was changed after you opened this page" in refused.get_data(as_text=True)
    assert "Edited text" in refused.get_data(as_text=True)
    assert session.get(Update, update.id).state == UpdateState.draft
    response = client.post(send_url, data=send_form(client, send_url))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert "Sending to 3 signers" in client.get(edit_url).get_data(as_text=True)
    mails = deliver()
    login(client, session.get(Organiser, owner_id))
    assert sorted((m["To"], m["Subject"], m["Content-Language"]) for m in mails) == [
        ("layla@mail.example", "أخبار الحملة", "ar"),
        ("ola@mail.example", "Campaign news", "en"),
        ("sam@mail.example", "Campaign news", "en"),
    ]
    # Sent once: the confirmation page refuses, and so does a replayed POST.
    response = client.post(send_url, data={"csrf_token": csrf_token(client, edit_url)})
    assert response.status_code == 303
    assert deliver() == []
    login(client, session.get(Organiser, owner_id))
    assert "E-mails queued in English" in client.get(edit_url).get_data(as_text=True)


def test_editor_cannot_send_but_sees_why(client, session, owned, login):
    owner, editor, campaign = owned
    update = services.create_draft(session, editor, campaign, TEXTS)
    session.commit()
    login(client, editor)
    page = client.get(f"/en/manage/campaigns/{campaign.id}/updates/{update.id}").get_data(as_text=True)
    assert "An owner of the organisation sends updates" in page
    assert client.get(f"/en/manage/campaigns/{campaign.id}/updates/{update.id}/send").status_code == 403


def test_other_organisations_cannot_see_updates(client, session, owned, make_organiser, login):
    owner, _, campaign = owned
    update = services.create_draft(session, owner, campaign, TEXTS)
    session.commit()
    login(client, make_organiser("owner", organisation="Another Group"))
    assert client.get(f"/en/manage/campaigns/{campaign.id}/updates").status_code == 403
    assert client.get(f"/en/manage/campaigns/{campaign.id}/updates/{update.id}").status_code == 403


@pytest.mark.parametrize("lang, button, done", [
    ("en", "Stop the updates", "You will receive no more updates"),
    ("ar", "أوقف الرسائل", "لن تصلك رسائل أخرى"),
])
def test_unsubscribe_page_confirms_with_a_button(client, session, owned, add_signature, lang, button, done):
    owner, _, campaign = owned
    signer = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True, locale=lang)
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    services.queue_batch(session, update)
    session.commit()
    url = re.search(r"http://sawt\.test(/\w+/unsubscribe/\S+)", update_messages(session)[0].payload["text"]).group(1)
    assert url.startswith(f"/{lang}/")
    page = client.get(url)
    assert page.status_code == 200 and button in page.get_data(as_text=True)
    assert session.get(Signature, signer.id).opt_in is True  # opening the link changes nothing
    assert client.post(url, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403  # not from our page
    assert session.get(Signature, signer.id).opt_in is True
    response = client.post(url, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200 and done in response.get_data(as_text=True)
    assert session.get(Signature, signer.id).opt_in is False
    assert client.get(f"/{lang}/unsubscribe/made-up").status_code == 404


def test_one_click_unsubscribe_from_the_mail_client(client, session, owned, add_signature):
    owner, _, campaign = owned
    signer = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True)
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    services.queue_batch(session, update)
    session.commit()
    header = update_messages(session)[0].payload["headers"]["List-Unsubscribe"]
    path = header.strip("<>").removeprefix("http://sawt.test")
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert session.get(Signature, signer.id).opt_in is False
    assert "Set-Cookie" not in response.headers


# --- End to end -------------------------------------------------------------------

def _as_new_request():
    """The test app context outlives requests; a real request starts without the
    language (and organiser) the previous one cached."""
    from flask import g

    g.pop("_flask_babel", None)
    g.pop("organiser", None)


def test_end_to_end_each_signer_reads_the_update_in_their_language(client, session, owned, deliver, login):
    """Two people sign through the site, one in Arabic and one in English, both asking
    for updates, and confirm from their e-mails. The owner writes an update in both
    languages and sends it: each receives it in the language they signed in, and the
    Arabic signer stops the updates from the link in theirs."""
    from tests.test_signing_flow import sign

    owner, _, campaign = owned
    owner_id, campaign_id, slug = owner.id, campaign.id, campaign.slug
    for lang, name, address in (("ar", "ليلى حداد", "layla@mail.example"), ("en", "Sam Jones", "sam@mail.example")):
        _as_new_request()
        assert sign(client, slug, lang, name=name, email=address, opt_in="y").status_code == 303
    _as_new_request()
    sign(client, slug, "en", name="Quiet Person", email="quiet@mail.example")  # no updates wanted
    for confirmation in deliver():
        _as_new_request()
        path = link_in(confirmation, "/confirm/").removeprefix("http://sawt.test")
        assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 303
    assert session.get(Campaign, campaign_id).verified_count == 3

    _as_new_request()
    login(client, session.get(Organiser, owner_id))
    response = _compose(client, f"/en/manage/campaigns/{campaign_id}/updates", action="save")
    send_url = response.headers["Location"] + "/send"
    assert "This update goes to 2 signers" in client.get(send_url).get_data(as_text=True)
    assert client.post(send_url, data=send_form(client, send_url)).status_code == 303

    mails = {m["To"]: m for m in deliver()}
    assert set(mails) == {"layla@mail.example", "sam@mail.example"}
    arabic, english = mails["layla@mail.example"], mails["sam@mail.example"]
    assert (arabic["Subject"], arabic["Content-Language"]) == ("أخبار الحملة", "ar")
    # The text part reads as text: Markdown's ** are not shown.
    assert "وصلت العريضة إلى البرلمان." in body_text(arabic) and "أطلقوا سراحهم" in body_text(arabic)
    assert "<strong>العريضة</strong>" in arabic.get_body(preferencelist=("html",)).get_content()
    assert (english["Subject"], english["Content-Language"]) == ("Campaign news", "en")
    assert "The petition reached parliament." in body_text(english) and "Set them free" in body_text(english)

    _as_new_request()
    path = link_in(arabic, "/unsubscribe/").removeprefix("http://sawt.test")
    assert path.startswith("/ar/unsubscribe/")
    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert "لن تصلك رسائل أخرى" in done.get_data(as_text=True)
    layla = session.scalar(sa.select(Signature).where(Signature.name == "ليلى حداد"))
    assert layla.opt_in is False and layla.email is None and layla.state == SignatureState.verified


@pytest.mark.parametrize("action", ["save", "preview", "test"])
def test_nonsense_input_never_fails(client, session, owned, action, login):
    owner, _, campaign = owned
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/updates"
    response = _compose(client, url, action=action, en_subject="Line\x00one\r\nBcc: x@y.example",
                        en_body="Body\x00 with NUL\n\nand lines", ar_subject="\u202e\u200f عنوان")
    assert response.status_code in (200, 303, 422)
    update = session.scalar(sa.select(Update))
    if action != "preview":
        text = update.text("en")
        assert text.subject == "Lineone Bcc: x@y.example" and text.body_md == "Body with NUL\n\nand lines"
    assert client.post(url, data={"csrf_token": csrf_token(client, url), "action": "x", "en-subject": ["a", "b"]}
                       ).status_code in (303, 422)
    assert client.get(f"/en/manage/campaigns/{campaign.id}/updates/999").status_code == 404
    assert client.get(f"/en/manage/campaigns/999/updates").status_code == 404
    assert client.get("/en/unsubscribe/%00").status_code == 404


def test_withdrawing_drops_an_update_still_waiting_for_the_signer(session, owned, add_signature):
    owner, _, campaign = owned
    signer = add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True)
    token, hashed = signing.new_token()  # as a "signature link" e-mail would carry
    signer.withdraw_token_hash = hashed
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    services.queue_batch(session, update)
    signing.withdraw(session, token)
    [message] = update_messages(session)
    assert message.state == MessageState.dead and "sam@" not in repr(message.payload)


@pytest.mark.slow  # 3,000 signers queued under tracemalloc
def test_queueing_a_large_list_uses_flat_memory(session, owned):
    """Each batch is a bounded SELECT and one multi-row INSERT: memory depends on the
    batch size, not on how many signers there are."""
    import tracemalloc

    owner, _, campaign = owned
    session.execute(sa.insert(Signature), [
        dict(campaign_id=campaign.id, state=SignatureState.verified, name="", search_name="", opt_in=True,
             locale="ar" if n % 2 else "en", email=f"s{n}@mail.example", email_key=f"key{n}") for n in range(3000)
    ])
    update = services.create_draft(session, owner, campaign, TEXTS)
    services.start_sending(session, owner, update)
    session.commit()

    def peak_of_batches(count: int) -> int:
        tracemalloc.start()
        for _ in range(count):
            services.queue_due_updates(session, batch_size=250)
            session.commit()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    first = peak_of_batches(2)
    rest = peak_of_batches(11)  # the last call finds nobody left and marks it sent
    assert session.get(Update, update.id).state == UpdateState.sent
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.template == "update")) == 3000
    assert rest < max(2 * first, 8_000_000), (first, rest)
