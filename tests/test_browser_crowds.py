"""A crowded connection in a real browser: past the allowance the altcha widget
appears (in the page's language, right to left in Arabic), solves its proof of work
with our vendored worker under our CSP, and the signature goes through."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from campaign.extensions import db, limiter
from campaign.signatures.models import Signature, SignatureState
from tests.browser_helpers import assert_language, t
from tests.fixtures.signatures import take_signatures

pytestmark = pytest.mark.browser

NAMES = {"ar": "ليلى حداد", "en": "Layla Haddad"}


def settle(page) -> None:
    """Let the page's fonts finish loading before leaving it: a font download cut
    short by a navigation leaves werkzeug's test server with an unclosed file
    (a ResourceWarning, which fails whichever test is running)."""
    page.wait_for_load_state("networkidle")


def sign(page, app, lang: str, email: str) -> None:
    settle(page)
    form = page.locator("form.sign-form")
    form.locator("#name").fill(NAMES[lang])
    form.locator("#email").fill(email)
    form.locator("#country").select_option("LB")
    form.get_by_role("button", name=t(app, lang, "Sign"), exact=True).click()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_check_appears_past_the_allowance_and_signing_succeeds(lang, app, make_live_server, make_page,
                                                                    make_campaign):
    slug = make_campaign().slug
    server = make_live_server(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="1 per minute",
                              ALTCHA_COST=10, ALTCHA_KEY_PREFIX="0")
    with server.app.app_context():
        limiter.reset()
    page = make_page(base_url=server.url)
    check_email = re.compile(rf"/{lang}/c/{slug}/check-email$")

    page.goto(f"/{lang}/c/{slug}")
    expect(page.locator("altcha-widget")).to_have_count(0)
    sign(page, server.app, lang, "first@example.org")
    page.wait_for_url(check_email)
    settle(page)

    # The worker's script is held back until the page has been looked at: solved,
    # the form sends itself at once.
    held_back = []
    page.route(re.compile(r"/workers/pbkdf2"), lambda route: held_back.append(route))
    page.goto(f"/{lang}/c/{slug}")
    expect(page.locator("altcha-widget")).to_have_count(0), "the cached page never carries the widget"
    sign(page, server.app, lang, "second@example.org")
    # The form comes back with the check, in the page's language, and sends itself once solved.
    explanation = t(server.app, lang, "Many people are signing from your connection right now (a family, a "
                    "university or a mobile network share one). To tell people from scripts, your browser does "
                    "a short automatic check, then sends your signature.")
    expect(page.get_by_text(explanation)).to_be_visible()
    assert_language(page, lang)
    widget = page.locator("altcha-widget")
    expect(widget).to_have_count(1)
    no_script = t(server.app, lang, "Without JavaScript the check cannot run. Press Sign all the same: your "
                  "signature is kept, and counts once the campaign's organisers have looked at it.")
    expect(page.get_by_text(no_script)).to_be_hidden()
    if lang == "ar":
        assert widget.evaluate("w => getComputedStyle(w).direction") == "rtl"
        # The widget speaks Arabic too (its own vendored strings).
        expect(widget).to_contain_text(re.compile(r"[\u0600-\u06FF]"))
    page.wait_for_function("() => document.fonts.ready.then(() => true)")
    for route in held_back:
        route.continue_()
    page.unroute(re.compile(r"/workers/pbkdf2"))
    page.wait_for_url(check_email, timeout=20_000)
    settle(page)

    with server.app.app_context():
        take_signatures(server.app)
        rows = db.session.scalars(sa.select(Signature).order_by(Signature.id)).all()
        assert [(r.email, r.state) for r in rows] == [
            ("first@example.org", SignatureState.pending), ("second@example.org", SignatureState.pending)]


def test_without_javascript_the_signature_is_held(app, make_live_server, make_page, make_campaign):
    slug = make_campaign().slug
    server = make_live_server(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="1 per minute")
    with server.app.app_context():
        limiter.reset()
    page = make_page(base_url=server.url, java_script_enabled=False)
    for email in ("first@example.org", "second@example.org"):
        page.goto(f"/ar/c/{slug}")
        sign(page, server.app, "ar", email)
    # The check cannot run: the page says so, and pressing Sign again keeps the signature.
    note = t(server.app, "ar", "Without JavaScript the check cannot run. Press Sign all the same: your "
             "signature is kept, and counts once the campaign's organisers have looked at it.")
    expect(page.get_by_text(note)).to_be_visible()
    settle(page)
    page.locator("form.sign-form").get_by_role("button", name=t(server.app, "ar", "Sign"), exact=True).click()
    page.wait_for_url(re.compile(rf"/ar/c/{slug}/check-email$"))
    settle(page)
    with server.app.app_context():
        take_signatures(server.app)
        states = db.session.scalars(sa.select(Signature.state).order_by(Signature.id)).all()
        assert states == [SignatureState.pending, SignatureState.held]
