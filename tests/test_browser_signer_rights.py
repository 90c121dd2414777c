"""Browser: what a signer can undo on their own. They erase every signature made with
their address, starting from the footer link, and they withdraw one signature with
the link in their confirmation e-mail; each time their name leaves the campaign page
and the count drops. Arabic on a 360 px phone, English on a desktop.

Stopping updates from an update e-mail's link is in test_browser_updates.py (both
languages)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from campaign.campaigns.models import Campaign, Digits
from campaign.extensions import db
from campaign.i18n import normalise_digits
from campaign.signatures.models import Signature
from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import assert_language, t
from tests.fixtures.mail import link_in

pytestmark = pytest.mark.browser

SIGNER = {"ar": "ليلى حداد", "en": "Layla Haddad"}
OTHER = "Omar Khalil"
DIGITS = {"ar": Digits.arab, "en": Digits.latn}
NUMBERS = {Digits.arab: "٠١٢", Digits.latn: "012"}


def open_page(make_page, lang: str) -> Page:
    return make_page(**PHONE) if lang == "ar" else make_page()


def check(page: Page, lang: str) -> None:
    assert_language(page, lang)
    assert_controls_labelled(page)
    if lang == "ar":
        assert_no_horizontal_scroll(page)


def assert_campaign_shows(page: Page, count: str, names: list[str], absent: list[str]) -> None:
    # The number is on the count box: its text says 1 and 2 in words in Arabic.
    expect(page.locator(".progress")).to_have_attribute("data-count", normalise_digits(count))
    signers = page.locator(".signers bdi")
    for name in names:
        expect(signers.filter(has_text=name)).to_have_count(1)
    for name in absent:
        expect(signers.filter(has_text=name)).to_have_count(0)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_signer_erases_their_data_from_the_footer_link(
    make_page, live_server, session, make_campaign, add_signature, lang
):
    app = live_server.app
    address = f"layla.{lang}@mail.example"
    digits = NUMBERS[DIGITS[lang]]
    campaign = make_campaign(digits=DIGITS[lang])
    other_campaign = make_campaign()
    add_signature(campaign, SIGNER[lang], address, locale=lang)
    add_signature(campaign, OTHER)
    add_signature(other_campaign, SIGNER[lang], address.upper(), locale=lang)  # the same mailbox
    slug, other_slug = campaign.slug, other_campaign.slug
    session.commit()
    live_server.deliver()  # the confirmation e-mails

    page = open_page(make_page, lang)
    page.goto(f"/{lang}/c/{slug}")
    assert_campaign_shows(page, digits[2], [SIGNER[lang], OTHER], [])

    # The footer of every public page leads to the request form.
    page.locator("footer.site-footer").get_by_role("link", name=t(app, lang, "Erase your data")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/erase$"))
    expect(page.locator("h1")).to_have_text(t(app, lang, "Erase your data"))
    check(page, lang)

    # A mistyped address is answered next to the field, in the page's language.
    email = page.get_by_label(t(app, lang, "Your e-mail address"))
    email.fill("layla@@mail")
    page.get_by_role("button", name=t(app, lang, "Send me the link")).click()
    expect(page.locator("#email-error")).to_have_text(
        t(app, lang, "This e-mail address does not look right. Please check it."))
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("layla@@mail")
    check(page, lang)
    assert live_server.deliver() == []

    email.fill(address)
    page.get_by_role("button", name=t(app, lang, "Send me the link")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/erase/sent$"))
    expect(page.locator("h1")).to_have_text(t(app, lang, "Check your e-mail"))
    check(page, lang)

    [message] = live_server.deliver()
    assert message["To"] == address
    assert message["Subject"] == t(app, lang, "Your request to erase your data")
    assert message["Content-Language"] == lang
    link = link_in(message, "/erase/")
    assert link.startswith(f"{live_server.url}/{lang}/erase/")

    # Opening the link erases nothing yet; the button does.
    page.goto(link)
    expect(page.locator("h1")).to_have_text(t(app, lang, "Erase your data"))
    check(page, lang)
    page.goto(f"/{lang}/c/{slug}")
    assert_campaign_shows(page, digits[2], [SIGNER[lang]], [])
    page.goto(link)
    page.get_by_role("button", name=t(app, lang, "Erase my data")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/erase/done$"))
    expect(page.locator("h1")).to_have_text(t(app, lang, "Your data has been erased"))
    check(page, lang)

    # Gone from both campaigns, and the counts dropped; the other signer stays.
    page.goto(f"/{lang}/c/{slug}")
    check(page, lang)
    assert_campaign_shows(page, digits[1], [OTHER], [SIGNER[lang]])
    page.goto(f"/{lang}/c/{other_slug}")
    assert_campaign_shows(page, "0", [], [SIGNER[lang]])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 1
        db.session.remove()

    # The link worked once.
    page.goto(link)
    expect(page.locator("h1")).to_have_text(t(app, lang, "This link does not work"))
    assert_language(page, lang)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_signer_withdraws_with_the_link_in_their_confirmation_email(
    make_page, live_server, session, make_campaign, add_signature, lang
):
    app = live_server.app
    digits = NUMBERS[DIGITS[lang]]
    campaign = make_campaign(digits=DIGITS[lang])
    add_signature(campaign, OTHER)
    slug, campaign_id = campaign.slug, campaign.id
    session.commit()
    # Signed on the live app, so that the links in the e-mail lead back to it.
    with app.app_context():
        add_signature(db.session.get(Campaign, campaign_id), SIGNER[lang], f"layla.{lang}@mail.example",
                      verified=False, locale=lang)
        db.session.commit()
        db.session.remove()
    mails = {m["To"]: m for m in live_server.deliver()}
    message = mails[f"layla.{lang}@mail.example"]
    assert message["Content-Language"] == lang

    # Confirmed first, from the same e-mail.
    page = open_page(make_page, lang)
    page.goto(link_in(message, "/confirm/"))
    page.get_by_role("button", name=t(app, lang, "Confirm my signature")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}/thanks\?confirmed=1$"))
    page.goto(f"/{lang}/c/{slug}")
    assert_campaign_shows(page, digits[2], [SIGNER[lang], OTHER], [])

    # Then changed their mind: the link under the confirmation link.
    withdraw_url = link_in(message, "/withdraw/")
    assert withdraw_url.startswith(f"{live_server.url}/{lang}/withdraw/")
    page.goto(withdraw_url)
    expect(page.locator("h1")).to_have_text(t(app, lang, "Withdraw your signature"))
    expect(page.locator("main")).to_contain_text("أطلقوا سراحهم" if lang == "ar" else "Set them free")
    check(page, lang)
    page.get_by_role("button", name=t(app, lang, "Withdraw my signature")).click()
    expect(page.locator("h1")).to_have_text(t(app, lang, "Your signature has been withdrawn"))
    check(page, lang)

    page.get_by_role("link", name=t(app, lang, "Back to the campaign")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}$"))
    check(page, lang)
    assert_campaign_shows(page, digits[1], [OTHER], [SIGNER[lang]])

    # The link is spent: opening it again changes nothing.
    page.goto(withdraw_url)
    expect(page.get_by_role("button", name=t(app, lang, "Withdraw my signature"))).to_have_count(0)
    assert_language(page, lang)
    page.goto(f"/{lang}/c/{slug}")
    expect(page.locator(".progress")).to_have_attribute("data-count", "1")
