"""Browser: an owner writes an update in both languages side by side, previews it,
sends a test to themself, then sends it to the signers; a signer stops the updates
from the link in their e-mail — with everything in Arabic, and again in English."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from campaign.extensions import db
from campaign.signatures.models import Signature
from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import log_in
from tests.fixtures.mail import link_in

TEXTS = {
    "ar": ("أخبار النداء", "سلّمنا **التوقيعات** إلى البرلمان اليوم."),
    "en": ("News of the appeal", "We handed the **signatures** to parliament today."),
}


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_test_sends_and_sends_an_update_and_a_signer_unsubscribes(
    page, make_page, live_server, session, make_organiser, make_campaign, add_signature, lang
):
    owner = make_organiser("owner", "Tunis Rights Group", email="owner@tunis.example")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    add_signature(campaign, "ليلى حداد", "layla@mail.example", opt_in=True, locale="ar")
    add_signature(campaign, "Sam Jones", "sam@mail.example", opt_in=True, locale="en")
    add_signature(campaign, "Quiet Person", "quiet@mail.example", opt_in=False)
    campaign_id = campaign.id
    session.commit()
    live_server.deliver()  # the confirmation e-mails

    log_in(page, owner, lang)
    page.goto(f"/{lang}/manage/campaigns/{campaign_id}/")
    page.locator(f"ul.campaign-tools a[href='/{lang}/manage/campaigns/{campaign_id}/updates']").click()
    page.wait_for_url(re.compile(r"/updates$"))
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    assert page.get_attribute("#ar-body_md", "dir") == "rtl"
    assert page.get_attribute("#en-body_md", "dir") == "ltr"
    assert_controls_labelled(page)

    for code, (subject, body) in TEXTS.items():
        page.fill(f"#{code}-subject", subject)
        page.fill(f"#{code}-body_md", body)
    page.locator("button[name=action][value=preview]").click()
    page.wait_for_load_state()
    previews = page.locator(".markdown-preview .prose strong")
    assert previews.all_inner_texts() == ["التوقيعات", "signatures"]
    assert page.input_value("#ar-subject") == TEXTS["ar"][0], "the preview keeps what was typed"

    page.locator("button[name=action][value=test]").click()
    page.wait_for_url(re.compile(r"/updates/\d+$"))
    assert "owner@tunis.example" in page.inner_text(".flash-success")
    tests = live_server.deliver()
    assert sorted((m["To"], m["Subject"]) for m in tests) == [
        ("owner@tunis.example", "[Test] News of the appeal"), ("owner@tunis.example", "[تجربة] أخبار النداء")]

    page.locator("a[href$='/send']").click()
    page.wait_for_url(re.compile(r"/send$"))
    recipients = page.locator("ul.update-recipients li").all_inner_texts()
    assert len(recipients) == 2 and all(text.startswith("1") for text in recipients)
    page.locator("form[action$='/send'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/updates/\d+$"))
    assert page.locator(".flash-success").is_visible()

    mails = {m["To"]: m for m in live_server.deliver()}
    assert set(mails) == {"layla@mail.example", "sam@mail.example"}
    assert mails["layla@mail.example"]["Subject"] == TEXTS["ar"][0]
    assert mails["sam@mail.example"]["Subject"] == TEXTS["en"][0]

    # The signer who reads this language follows the link in their e-mail.
    signer_address = "layla@mail.example" if lang == "ar" else "sam@mail.example"
    signer = make_page(**PHONE)
    signer.goto(link_in(mails[signer_address], "/unsubscribe/"))
    assert signer.get_attribute("html", "lang") == lang
    assert_no_horizontal_scroll(signer)
    signer.locator("form[action*='/unsubscribe/'] button[type=submit]").click()
    signer.wait_for_load_state()
    assert signer.locator("h1").inner_text() == ("لن تصلك رسائل أخرى" if lang == "ar"
                                                 else "You will receive no more updates")
    with live_server.app.app_context():
        name = "ليلى حداد" if lang == "ar" else "Sam Jones"
        row = db.session.scalar(sa.select(Signature).where(Signature.campaign_id == campaign_id,
                                                          Signature.name == name))
        assert row.opt_in is False and row.email is None
        db.session.remove()
