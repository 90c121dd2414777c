"""Browser: an account from `flask users create` is set up through its one-time link
(password, two-factor by "scanning" the QR code, recovery codes), then logs out and
in again with password and TOTP and reaches the workspace. In Arabic on a phone, and
in English on a desktop."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import t

pytestmark = pytest.mark.browser

@pytest.mark.parametrize("lang", ["ar", "en"])
def test_setup_link_to_two_factor_then_login(make_page, live_server, lang):
    app = live_server.app
    page = make_page(**PHONE) if lang == "ar" else make_page()
    email = f"layla-{lang}@example.org"

    result = app.test_cli_runner().invoke(
        args=["users", "create", email, "--organisation", "Beirut Rights Group", "--role", "owner", "--lang", lang]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith(f"{live_server.url}/{lang}/manage/setup/")

    # The setup page: name and password.
    page.goto(link)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    expect(page.locator("h1")).to_have_text(t(app, lang, "Set up your account"))
    assert_controls_labelled(page)
    page.fill("#name", "ليلى حداد" if lang == "ar" else "Layla Haddad")
    page.fill("#password", "too short")
    page.fill("#confirm", "too short")
    page.locator("main form button.primary").click()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#name")).to_have_value("ليلى حداد" if lang == "ar" else "Layla Haddad")
    expect(page.locator("#password")).to_have_value("")
    page.fill("#password", "a long and memorable passphrase")
    page.fill("#confirm", "a long and memorable passphrase")
    page.locator("main form button.primary").click()

    # Two-factor: the QR code is drawn by us; the key is there to type by hand.
    page.wait_for_url(re.compile(rf"/{lang}/manage/two-factor"))
    expect(page.locator(".qr svg")).to_be_visible()
    assert page.locator(".qr svg").bounding_box()["width"] >= 150
    assert_controls_labelled(page)
    if lang == "ar":
        assert_no_horizontal_scroll(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.locator("main form button.primary").click()

    # The recovery codes, shown once.
    codes = page.locator("ol.recovery-codes li")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", c) for c in codes.all_inner_texts())
    if lang == "ar":
        assert_no_horizontal_scroll(page)
    page.get_by_role("link", name=t(app, lang, "I have saved my recovery codes")).click()
    page.wait_for_url(re.compile(rf"/{lang}/manage/$"))

    # Log out (a POST form in the workspace menu), then in again.
    page.get_by_role("button", name=t(app, lang, "Log out")).click()
    page.wait_for_url(re.compile(rf"/{lang}/manage/login$"))
    expect(page.locator(".flash")).to_have_text(t(app, lang, "You are logged out."))
    page.goto(f"/{lang}/manage/")
    page.wait_for_url(re.compile(rf"/{lang}/manage/login\?next="))

    page.fill("#email", email.upper())
    page.fill("#password", "a long and memorable passphrase")
    page.locator("form[action$='/manage/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/{lang}/manage/login/code$"))
    assert_controls_labelled(page)
    # The code that turned two-factor on was used up; the next one (30 s ahead) is
    # inside the accepted window.
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.locator("form[action$='/manage/login/code'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/{lang}/manage/$"))
    expect(page.locator("h1")).to_have_text(t(app, lang, "Campaigns"))
    expect(page.locator(".workspace-me")).to_contain_text("ليلى حداد" if lang == "ar" else "Layla Haddad")
    if lang == "ar":
        assert_no_horizontal_scroll(page)
