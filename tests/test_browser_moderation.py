"""Browser: an owner logs in with two-factor, finds a signature by typing the name in
another Arabic spelling (no hamza, no diacritics, ي for ى), invalidates it with a
reason and sees the count drop — in the Arabic workspace and in the English one."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import log_in


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_finds_a_signature_in_another_spelling_and_invalidates_it(
    page, make_page, live_server, session, make_organiser, make_campaign, add_signature, lang
):
    owner = make_organiser("owner", "Amman Rights Group")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    target = add_signature(campaign, "أحمد مُصطفى")
    add_signature(campaign, "ليلى حداد")
    add_signature(campaign, "Omar Khalil")
    session.commit()

    log_in(page, owner, lang)
    page.goto(f"/{lang}/manage/campaigns/{campaign.id}/")
    page.locator(f"a[href='/{lang}/manage/campaigns/{campaign.id}/signatures']").first.click()
    page.wait_for_url(re.compile(r"/signatures$"))
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    assert page.inner_text("#verified-count") == "3"
    assert_controls_labelled(page)

    page.fill("#q", "إحمد مصطفي")
    page.locator("form.moderation-search button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "%D8" not in page.url and "q=" not in page.url, "the name stays out of the URL"
    rows = page.locator("tr.signature-row")
    assert rows.count() == 1
    assert rows.first.locator(".signer-name").inner_text() == "أحمد مُصطفى"

    rows.first.locator("select[name=reason]").select_option("duplicate")
    rows.first.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").is_visible()
    assert page.inner_text("#verified-count") == "2"
    assert page.input_value("#q") == "إحمد مصطفي", "back to the same search"
    assert page.locator("tr.signature-row").count() == 1
    row = page.locator(f"#signature-{target.id}")
    assert row.locator(f"form[action$='/signatures/{target.id}/restore']").count() == 1

    # The public page counts one fewer.
    page.goto(f"/{lang}/c/{campaign.slug}")
    expect(page.locator(".progress")).to_have_attribute("data-count", "2")

    # The moderation page fits a phone.
    phone = make_page(**PHONE)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"/{lang}/manage/campaigns/{campaign.id}/signatures")
    assert_no_horizontal_scroll(phone)
