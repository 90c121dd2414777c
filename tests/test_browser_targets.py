"""Targets and sharing in a real browser: the share panel (Arabic on a phone,
English on a desktop, and without JavaScript), and a signer writing to a
campaign's targets after confirming, in both languages, with the letters delivered.

The page fixtures fail a test on any request to another host, console error or CSP
violation: Gmail, Outlook, X and Bluesky are only ever links."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import assert_language, t, workspace_link
from tests.conftest import body_text, link_in
from tests.targets_helpers import addressed  # noqa: F401

pytestmark = pytest.mark.browser

SIGNERS = {"ar": ("ليلى حداد", "لبنان"), "en": ("Layla Haddad", "Lebanon")}

# Stands in for a phone's share sheet: records what the page asks it to share.
FAKE_SHARE_SHEET = """
  window.__shared = [];
  Object.defineProperty(navigator, "share", {
    value: (data) => { window.__shared.push(data); return Promise.resolve(); }, configurable: true
  });
"""


def test_share_panel_in_arabic_on_a_phone(make_page, live_server, make_campaign):
    slug = make_campaign(hashtag="الحرية_للمعتقلين").slug
    page = make_page(**PHONE, locale="ar")
    page.add_init_script(FAKE_SHARE_SHEET)
    page.goto(f"/ar/c/{slug}")
    assert_language(page, "ar")
    assert_controls_labelled(page)
    assert_no_horizontal_scroll(page)

    panel = page.locator(".share-section .share-panel")
    links = panel.locator(".share-links a")
    expect(links).to_have_count(6)
    hosts = {urlsplit(links.nth(i).get_attribute("href")).hostname or "mailto" for i in range(6)}
    assert "bsky.app" in hosts
    bsky = panel.locator("a.share-bluesky").get_attribute("href")
    assert "#الحرية_للمعتقلين" in parse_qs(urlsplit(bsky).query)["text"][0]

    # The phone's own share sheet, with the native referral code.
    share = panel.get_by_role("button", name=t(live_server.app, "ar", "Share…"))
    expect(share).to_be_visible()
    share.click()
    shared = page.evaluate("window.__shared")
    assert shared[0]["url"].endswith(f"/ar/c/{slug}?ref=ns")

    # The QR code is drawn in the page, folded away until asked for.
    qr = panel.locator(".share-qr svg.qr-code")
    expect(qr).to_be_hidden()
    panel.locator(".share-qr summary").click()
    expect(qr).to_be_visible()
    assert_no_horizontal_scroll(page)
    expect(panel.locator("#share-url")).to_have_value(re.compile(r"\?ref=copy$"))
    expect(panel.get_by_role("button", name=t(live_server.app, "ar", "Copy link"))).to_be_visible()


def test_share_panel_without_javascript(make_page, live_server, make_campaign):
    slug = make_campaign().slug
    page = make_page(java_script_enabled=False)
    page.goto(f"/en/c/{slug}")
    panel = page.locator(".share-section .share-panel")
    expect(panel.locator(".share-links a")).to_have_count(6)
    expect(panel.locator("[data-native-share]")).to_be_hidden()
    expect(panel.locator("[data-copy-target]")).to_be_hidden()
    panel.locator(".share-qr summary").click()
    expect(panel.locator(".share-qr svg.qr-code")).to_be_visible()
    expect(panel.locator("#share-url")).to_have_value(re.compile(r"\?ref=copy$"))


def write_after_confirming(page, live_server, campaign_slug: str, lang: str, phone: bool):
    app = live_server.app
    name, country = SIGNERS[lang]
    page.goto(f"/{lang}/c/{campaign_slug}")
    section = page.locator(".addressed-to")
    expect(section.locator("bdi")).to_have_count(2)

    form = page.locator("form.sign-form")
    form.locator("#name").fill(name)
    form.locator("#email").fill("layla@mail.example")
    form.locator("#country").select_option(label=country)
    form.get_by_role("button", name=t(app, lang, "Sign"), exact=True).click()
    [confirmation] = live_server.deliver()
    page.goto(link_in(confirmation, "/confirm/"))
    page.get_by_role("button", name=t(app, lang, "Confirm my signature")).click()
    # The pass leaves the address bar (letters.js), so copying the address does not hand it on.
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{campaign_slug}/thanks\?confirmed=1$"))

    page.get_by_role("link", name=t(app, lang, "Write to the targets")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{campaign_slug}/write$"))
    assert_language(page, lang)
    assert_controls_labelled(page)
    if phone:
        assert_no_horizontal_scroll(page)
    # The signer's own mailbox: links only, the name left for them to write.
    mailto = page.locator("a.mailbox-mailto").first.get_attribute("href")
    assert mailto.startswith("mailto:un-desk@un.example.org?subject=")
    expect(page.locator(".warning-what-they-see")).to_be_visible()

    letter_form = page.locator("form.letter-form")
    for box in letter_form.locator("input[name=targets]").all():
        box.check()
    letter_form.get_by_label(t(app, lang, "Sign the letter with my name and country")).check()
    letter_form.get_by_label(t(app, lang, "Let them reply to me: add my e-mail address as Reply-To")).check()
    letter_form.locator("#email").fill("layla@mail.example")
    letter_form.get_by_role("button", name=t(app, lang, "Send the letter")).click()
    expect(page.locator("#letters-sent")).to_be_visible()
    expect(page.locator("form.letter-form")).to_have_count(0)  # one letter per target
    assert_language(page, lang)

    letters = {m["To"]: m for m in live_server.deliver()}
    assert set(letters) == {"un-desk@un.example.org", "consular@embassy.example.org"}
    named = letters["un-desk@un.example.org"]
    assert named["Content-Language"] == lang
    assert named["Reply-To"] == "layla@mail.example"
    assert name in body_text(named) and country in body_text(named)
    guarded = letters["consular@embassy.example.org"]
    assert guarded["Reply-To"] is None
    assert name not in body_text(guarded) and "layla" not in guarded.as_string()

    page.goto(f"/{lang}/c/{campaign_slug}")
    expect(page.locator(".addressed-to .letter-count")).to_have_count(2)


def test_writing_to_targets_in_arabic_on_a_phone(make_page, live_server, addressed):
    campaign, _ = addressed
    page = make_page(**PHONE, locale="ar")
    write_after_confirming(page, live_server, campaign.slug, "ar", phone=True)
    expect(page.locator(".addressed-to")).to_have_css("direction", "rtl")


def test_writing_to_targets_in_english(page, live_server, addressed):
    campaign, _ = addressed
    write_after_confirming(page, live_server, campaign.slug, "en", phone=False)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_owner_builds_the_directory_and_addresses_a_campaign(make_page, live_server, make_organiser,
                                                                 make_campaign, session, lang):
    from tests.browser_helpers import log_in

    app = live_server.app
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    campaign_id = campaign.id
    page = make_page(**PHONE)
    log_in(page, owner, lang)
    workspace_link(page, t(app, lang, "Targets")).click()
    page.get_by_role("link", name=t(app, lang, "Add a target")).click()
    assert_language(page, lang)
    assert_controls_labelled(page)
    assert_no_horizontal_scroll(page)
    page.fill("#code", "icrc")
    page.select_option("#kind", "ngo")
    page.fill("#name_ar", "اللجنة الدولية للصليب الأحمر")
    page.fill("#name_en", "International Committee of the Red Cross")
    page.fill("#email", "detention-desk@icrc.example.org")
    page.fill("#x_handle", "@fake_icrc")
    page.get_by_role("button", name=t(app, lang, "Save"), exact=True).click()
    expect(page.locator(".targets-table bdi")).to_have_text(
        "اللجنة الدولية للصليب الأحمر" if lang == "ar" else "International Committee of the Red Cross")

    page.goto(f"/{lang}/manage/campaigns/{campaign_id}/targets")
    assert_language(page, lang)
    assert_controls_labelled(page)
    page.locator("input[name=target]").check()
    page.get_by_role("button", name=t(app, lang, "Save targets")).click()
    page.fill(f"#{lang}_subject", "Subject {target}")
    page.fill("#ar_subject", "موضوع")
    page.fill("#ar_body", "إلى {target}\n{name}")
    page.fill("#en_subject", "Subject")
    page.fill("#en_body", "To {target}\n{name}")
    page.get_by_role("button", name=t(app, lang, "Save the letter")).click()
    expect(page.locator(".flash")).to_have_text(t(app, lang, "Letter saved."))
    assert_no_horizontal_scroll(page)
