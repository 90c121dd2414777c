"""The signing loop in a real browser: open a campaign, sign, open the e-mail, confirm,
see the thank-you page and the count rise. Arabic on a 360 px phone, English on a
desktop; validation errors in both languages; and the whole loop without JavaScript.

The page fixtures (tests/browser_fixtures.py) also fail a test on any request to
another host, console error or CSP violation."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from campaign.campaigns.models import Digits
from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import ARABIC, assert_language, t
from tests.fixtures.mail import link_in

pytestmark = pytest.mark.browser

# Long unbreakable words are what overflow a phone screen: hashtags are typically long.
HASHTAG_AR = "الحرية_لكل_المعتقلين_السياسيين_في_السجون_الآن_وبلا_شروط_مسبقة"
LONG_COMMENT = "https://example.org/" + "a-very-long-unbroken-link-to-a-report-" * 3

NAMES = {"ar": "ليلى حداد", "en": "Layla Haddad"}


def words(app, lang: str) -> dict[str, str]:
    from campaign.i18n import country_name

    found = {
        "sign": t(app, lang, "Sign"),
        "sign_now": t(app, lang, "Sign now"),
        "confirm": t(app, lang, "Confirm my signature"),
        "full_name": t(app, lang, "Show my full name and country"),
        "back": t(app, lang, "Back to the campaign"),
        "name_error": t(app, lang, "Please enter your name."),
        "email_error": t(app, lang, "This e-mail address does not look right. Please check it."),
        "country": country_name("LB", lang),
        "name": NAMES[lang],
    }
    if lang == "ar":
        untranslated = [k for k, v in found.items() if not ARABIC.search(v)]
        assert not untranslated, f"no Arabic for {untranslated}"
    return found


def assert_web_font(page: Page, lang: str) -> None:
    """The site's own font is used and loaded for the page's script."""
    codepoint = 0x0627 if lang == "ar" else 0x0041  # ا / A
    loaded = page.evaluate(
        """async (codepoint) => {
            await document.fonts.ready;
            const covers = (range) => range.split(",").some((part) => {
                const [a, b] = part.trim().replace(/^U\\+/i, "").split("-");
                const lo = parseInt(a, 16), hi = parseInt(b || a, 16);
                return lo <= codepoint && codepoint <= hi;
            });
            return [...document.fonts].filter((f) =>
                f.family.replace(/["']/g, "") === "Sawt Text" && f.status === "loaded" && covers(f.unicodeRange)
            ).map((f) => f.weight);
        }""",
        codepoint,
    )
    assert "400" in loaded, f"the {lang} web font is not loaded (loaded weights: {loaded})"
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Sawt Text"'), family


def check_page(page: Page, lang: str, phone: bool) -> None:
    assert_language(page, lang)
    assert_controls_labelled(page)
    if phone:
        assert_no_horizontal_scroll(page)


def fill_sign_form(page: Page, text: dict, email: str = "layla@example.org", name: str | None = None) -> None:
    form = page.locator("form.sign-form")
    form.locator("#name").fill(text["name"] if name is None else name)
    form.locator("#email").fill(email)
    form.locator("#country").select_option(label=text["country"])
    form.get_by_label(text["full_name"]).check()


def press_sign(page: Page, text: dict) -> None:
    page.locator("form.sign-form").get_by_role("button", name=text["sign"], exact=True).click()


def count_on_page(page: Page):
    return page.locator(".progress .count-line")


def count_sentence(app, lang: str, count: int, digits: str) -> str:
    """The count as the page writes it: "Be the first to sign" for none, then a
    sentence in the plural form of the language ("توقيع واحد مؤكَّد")."""
    from flask_babel import force_locale, get_translations, gettext

    from campaign.i18n import format_number

    with app.test_request_context(), force_locale(lang):
        if count == 0:
            return gettext("Be the first to sign")
        # flask_babel's ngettext fills %(num)s with the bare count: the page's digits are ours.
        form = get_translations().ngettext("%(num)s confirmed signature", "%(num)s confirmed signatures", count)
        return form % {"num": format_number(count, digits, lang)}


def sign_and_confirm(page: Page, live_server, slug: str, lang: str, digits: str, phone: bool = False):
    """The visitor's whole journey, checking each page on the way."""
    text = words(live_server.app, lang)
    app = live_server.app
    page.goto(f"/{lang}/c/{slug}")
    check_page(page, lang, phone)
    assert_web_font(page, lang)
    expect(count_on_page(page)).to_have_text(count_sentence(app, lang, 0, digits))
    jump = page.get_by_role("link", name=text["sign_now"], exact=True)
    # Under the count, on phones and wide screens alike; on a phone the form comes
    # after the whole text, and one tap takes the signer there.
    expect(jump).to_be_visible()
    if phone:
        jump.click()
        expect(page.locator("form.sign-form #name")).to_be_in_viewport()

    fill_sign_form(page, text)
    page.locator("#comment").fill(LONG_COMMENT)
    press_sign(page, text)
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}/check-email$"))
    check_page(page, lang, phone)

    [message] = live_server.deliver()
    assert message["To"] == "layla@example.org"
    assert message["Content-Language"] == lang
    confirm_url = link_in(message, "/confirm/")
    assert confirm_url.startswith(f"{live_server.url}/{lang}/confirm/")

    page.goto(confirm_url)
    check_page(page, lang, phone)
    page.get_by_role("button", name=text["confirm"]).click()

    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}/thanks\?confirmed=1$"))
    check_page(page, lang, phone)
    expect(count_on_page(page)).to_have_text(count_sentence(app, lang, 1, digits))
    share = page.locator(".share-links a")
    expect(share).to_have_count(6)
    hrefs = [share.nth(i).get_attribute("href") for i in range(6)]
    assert {urlsplit(h).hostname or urlsplit(h).scheme for h in hrefs} == {
        "wa.me", "t.me", "x.com", "www.facebook.com", "mailto", "bsky.app"}
    for i in range(6):
        expect(share.nth(i)).to_have_attribute("rel", re.compile(r"\bnoreferrer\b"))
    expect(page.locator("#share-url")).to_have_value(re.compile(rf"^{re.escape(live_server.url)}/{lang}/c/{slug}\?ref="))

    page.get_by_role("link", name=text["back"]).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}$"))
    check_page(page, lang, phone)
    expect(count_on_page(page)).to_have_text(count_sentence(app, lang, 1, digits))
    expect(page.locator(".signers bdi", has_text=text["name"])).to_have_count(1)
    expect(page.locator(".signers blockquote bdi")).to_have_text(LONG_COMMENT)


def test_sign_in_arabic_on_a_phone(phone_page, live_server, make_campaign):
    slug = make_campaign(hashtag=HASHTAG_AR, goal=1000, digits=Digits.arab).slug
    sign_and_confirm(phone_page, live_server, slug, "ar", "arab", phone=True)
    expect(phone_page.locator(".site-header .brand")).to_have_text("صوت")  # once, not twice


def test_sign_in_english(page, live_server, make_campaign):
    slug = make_campaign(hashtag="FreeAllPoliticalPrisonersInEveryPrisonNow", goal=1000).slug
    sign_and_confirm(page, live_server, slug, "en", "latn")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_errors_shown_next_to_their_fields_with_input_kept(phone_page, live_server, make_campaign, lang):
    page = phone_page
    text = words(live_server.app, lang)
    slug = make_campaign(hashtag=HASHTAG_AR).slug
    page.goto(f"/{lang}/c/{slug}")
    fill_sign_form(page, text, email="layla@@example", name="")
    page.locator("#comment").fill("حرية · freedom")
    press_sign(page, text)

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # script moves focus to the summary
    check_page(page, lang, phone=True)

    for field, message in (("name", text["name_error"]), ("email", text["email_error"])):
        control = page.locator(f"form.sign-form #{field}")
        expect(page.locator(f"#{field}-error")).to_have_text(message)
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_accessible_description(re.compile(re.escape(message)))
        # The error sits in the field's own box, with its control.
        assert page.locator(f"#{field}-error").evaluate(
            "(e, id) => e.closest('.field') === document.getElementById(id).closest('.field')", field)

    # What the signer typed is still there.
    expect(page.locator("#email")).to_have_value("layla@@example")
    expect(page.locator("#country option:checked")).to_have_text(text["country"])
    expect(page.get_by_label(text["full_name"])).to_be_checked()
    expect(page.locator("#comment")).to_have_value("حرية · freedom")

    # The summary's links take keyboard focus to the field itself.
    summary.get_by_role("link").first.click()
    expect(page.locator("#name")).to_be_focused()

    # Correcting the mistakes signs.
    page.locator("#name").fill(text["name"])
    page.locator("#email").fill("layla@example.org")
    press_sign(page, text)
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}/check-email$"))
    assert len(live_server.deliver()) == 1


def test_signing_works_without_javascript(make_page, live_server, make_campaign):
    lang = "ar"
    page = make_page(java_script_enabled=False, **PHONE)
    text = words(live_server.app, lang)
    slug = make_campaign().slug
    page.goto(f"/{lang}/c/{slug}")

    # An error round trip without script: the page itself carries the messages, the
    # summary at the top of the page and each error by its field.
    press_sign(page, text)
    expect(page.locator("#name-error")).to_have_text(text["name_error"])
    expect(page.locator("#error-summary")).to_be_in_viewport()
    assert_no_horizontal_scroll(page)

    fill_sign_form(page, text)
    press_sign(page, text)
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}/check-email$"))
    [message] = live_server.deliver()
    page.goto(link_in(message, "/confirm/"))
    page.get_by_role("button", name=text["confirm"]).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/c/{slug}/thanks\?confirmed=1$"))
    expect(count_on_page(page)).to_have_text(count_sentence(live_server.app, lang, 1, "latn"))
    assert_no_horizontal_scroll(page)
    expect(page.locator(".share-links a")).to_have_count(6)
    # Without script the copy button stays hidden; the link is still there to copy.
    expect(page.locator("[data-copy-target]")).to_be_hidden()
    expect(page.locator("#share-url")).to_be_visible()
