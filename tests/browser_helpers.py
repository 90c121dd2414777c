"""Steps and checks that several browser tests share (fixtures are in
tests/browser_fixtures.py). Import them from here, never from another test module."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

from tests.fixtures.organisers import PASSWORD
ARABIC = re.compile(r"[\u0600-\u06FF]")


def t(app, lang: str, msgid: str, **values) -> str:
    """``msgid`` as the live app shows it in ``lang`` (from the compiled catalogue);
    in Arabic it must have been translated."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(lang):
        text = gettext(msgid, **values)
    assert lang != "ar" or ARABIC.search(text), f"no Arabic for {msgid!r}"
    return text


def log_in(page: Page, organiser, lang: str, *, password: str = PASSWORD, seconds_ahead: int = 0) -> None:
    """Through the real login form: password, then a TOTP code. A code is accepted
    once: to log in again within 30 s, pass ``seconds_ahead=30`` (the next code,
    still inside the accepted window)."""
    page.goto(f"/{lang}/manage/login")
    page.fill("#email", organiser.email)
    page.fill("#password", password)
    page.locator("form[action$='/manage/login'] button[type=submit]").click()
    page.fill("#code", pyotp.TOTP(organiser.totp_secret).at(time.time() + seconds_ahead))
    page.locator("form[action$='/manage/login/code'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/{lang}/manage/$"))


def assert_language(page: Page, lang: str) -> None:
    """The page is in ``lang``: its lang and dir, and every form in the page's direction."""
    direction = "rtl" if lang == "ar" else "ltr"
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang)
    expect(html).to_have_attribute("dir", direction)
    for form in page.locator("main form").all():
        assert form.evaluate("f => getComputedStyle(f).direction") == direction


def workspace_link(page: Page, name: str):
    """A link of the workspace menu; on a phone the menu is folded: open it first."""
    menu = page.locator("nav.workspace-nav details.workspace-menu")
    if menu.locator("summary").is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()
    return page.locator("nav.workspace-nav").get_by_role("link", name=name, exact=True)


# axe-core, vendored from the npm registry into tests/vendor/ (never served).
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")


def serious_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now. The
    script is evaluated through the DevTools protocol, so our CSP (no inline
    script) stays in force for the page itself."""
    page.evaluate(AXE)
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
        }"""
    )


def assert_accessible(page: Page, label: str) -> None:
    """No serious or critical violation by axe-core on the page as it is now."""
    found = serious_violations(page)
    assert not found, f"{label} ({page.url}): {found}"
