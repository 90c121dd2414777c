"""Sawt's embeds in a page of another site, in a real browser.

A partner's page is served from another origin (its own server on another port,
under the name ``localhost``, so it is another *site* as well: a true third party)
and hosts Sawt's embeds from the live server on 127.0.0.1. A reader signs through
the embedded form in Arabic and in English, confirms by e-mail on the full site,
and the host page sees the count rise and receives the ``postMessage``. Every
request the page and its frames make is recorded: only our origin and the host's
own page appear, and the frames ask nothing of anyone but us.

To add an embed to the host page, add its markup to ``EMBEDS`` (and a check of
what it shows to ``host_sees_the_count``).
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from campaign.extensions import db
from campaign.signatures.models import Signature, SignatureState
from tests.browser_helpers import assert_language, t
from tests.fixtures.signatures import take_signatures
from tests.fixtures.mail import link_in

pytestmark = pytest.mark.browser

NAMES = {"ar": "ليلى حداد", "en": "Layla Haddad"}
THEMES = {"ar": "dark", "en": "light"}
# Each embed as a host pastes it; {ours} is Sawt's origin. The sign form's frame is
# given a small height on purpose: the host script must fit it to the form.
EMBEDS = {
    "sign": '<iframe id="sawt-sign" src="{ours}/embed/{slug}/sign?lang={lang}&theme={theme}&ref=partner-news" '
            'title="Sign" width="100%" height="200" referrerpolicy="no-referrer"></iframe>',
    "counter": '<iframe id="sawt-counter" src="{ours}/embed/{slug}/counter?lang={lang}&theme={theme}" '
               'title="Count" width="100%" height="230" style="border:0"></iframe>',
    "badge": '<img id="sawt-badge" src="{ours}/embed/{slug}/badge.svg?lang={lang}" alt="Count">',
}
# The host's own page: its embeds, Sawt's optional host script, and a script of the
# host's that records every message and "sawt:signed" event, and shows the count it
# reads from Sawt's public API (as a newsroom's own widget would).
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner News</title></head>
<body>
<h1>An article about detainees</h1>
<p>Signatures: <output id="count">…</output></p>
{embeds}
<form id="forged" method="post" action="{ours}/embed/{slug}/sign?lang={lang}">
  <input type="hidden" name="name" value="Forged"><input type="hidden" name="email" value="forged@example.org">
  <input type="hidden" name="country" value="LB"><input type="hidden" name="visibility" value="counted">
</form>
<script src="{ours}/static/embed-host.js" async></script>
<script>
window.sawtMessages = [];
window.sawtSigned = [];
window.addEventListener("message", function (e) {{ window.sawtMessages.push({{origin: e.origin, data: e.data}}); }});
document.addEventListener("sawt:signed", function (e) {{
  window.sawtSigned.push({{frame: e.target.id, detail: e.detail}});
}});
function readCount() {{
  fetch("{ours}/api/v1/campaigns/{slug}/count").then(function (r) {{ return r.json(); }})
    .then(function (count) {{ document.getElementById("count").textContent = String(count.verified); }});
}}
readCount();
window.countTimer = setInterval(readCount, 1000);
</script>
</body></html>
"""


class HostSite:
    """A partner's web server: one page, on its own port."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/article":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # "localhost", not 127.0.0.1: another site, not only another origin.
        self.origin = f"http://localhost:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def host_site():
    sites = []

    def serve(html: str) -> HostSite:
        site = HostSite(html)
        sites.append(site)
        return site

    yield serve
    for site in sites:
        site.close()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def record_what_the_server_is_told(app, monkeypatch) -> list[dict]:
    """The headers each request reached the live server with (Playwright's own view
    of a request's headers leaves out what Chromium adds below interception, such
    as Sec-Fetch-Site)."""
    seen = []
    inner = app.wsgi_app

    def recording(environ, start_response):
        seen.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                     **{name: environ.get(f"HTTP_{name.upper().replace('-', '_')}")
                        for name in ("sec-fetch-site", "sec-fetch-dest", "origin", "cookie", "referer")}})
        return inner(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", recording)
    return seen


def settle(frame) -> None:
    """Let a frame's fonts finish loading before it navigates (a download cut short
    leaves werkzeug's test server with an unclosed file)."""
    frame.wait_for_function("() => document.fonts.ready.then(() => document.fonts.status === 'loaded')")


def frame_fits_its_content(page, frame, timeout: float = 10) -> None:
    """The host page has fitted the frame to the form's height. Both are read afresh
    each time: the form's height moves once itself when the frame's scroll bar goes."""
    deadline = time.monotonic() + timeout
    while True:
        content = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        fitted = page.evaluate("document.getElementById('sawt-sign').clientHeight")
        if content > 600 and abs(fitted - content) <= 2:
            return
        assert time.monotonic() < deadline, f"the frame is {fitted} px high for a form of {content} px"
        time.sleep(0.1)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_signing_through_the_embedded_form_on_another_site(lang, live_server, host_site, make_page, make_campaign,
                                                           monkeypatch):
    app = live_server.app
    app.config["EMBED_REFRESH_SECONDS"] = 1  # the counter asks every 12 s or so; a test need not wait
    told = record_what_the_server_is_told(app, monkeypatch)
    slug = make_campaign().slug
    ours = live_server.url
    values = {"ours": ours, "slug": slug, "lang": lang, "theme": THEMES[lang]}
    embeds = "\n".join(markup.format(**values) for markup in EMBEDS.values())
    host = host_site(HOST_PAGE.format(embeds=embeds, **values))

    page = make_page(base_url=host.origin)
    requests = []
    page.on("request", lambda request: requests.append(request))
    page.goto("/article")
    host_sees_the_count(page, 0, timeout=5_000)
    page.wait_for_function("() => document.getElementById('sawt-badge').naturalWidth > 300")

    # --- The form in the frame: our page, in the host's language and theme, fitted to its height.
    frame_element = page.locator("#sawt-sign")
    frame = frame_element.element_handle().content_frame()
    form = page.frame_locator("#sawt-sign").locator("form.sign-form")
    expect(form).to_be_visible()
    assert_language(frame, lang)
    assert frame.evaluate("document.documentElement.className") == f"embed theme-{THEMES[lang]}"
    settle(frame)
    frame_fits_its_content(page, frame)

    # A mistake first: the errors come back in the frame, translated, with what was typed.
    form.locator("#name").fill(NAMES[lang])
    form.locator("#email").fill("layla@")
    form.get_by_role("button", name=t(app, lang, "Sign"), exact=True).click()
    summary = page.frame_locator("#sawt-sign").locator("#error-summary")
    expect(summary).to_contain_text(t(app, lang, "This e-mail address does not look right. Please check it."))
    expect(summary).to_contain_text(t(app, lang, "Please choose your country."))
    expect(form.locator("#name")).to_have_value(NAMES[lang])
    frame = frame_element.element_handle().content_frame()
    settle(frame)

    form.locator("#email").fill("layla@example.org")
    form.locator("#country").select_option("LB")
    form.get_by_role("button", name=t(app, lang, "Sign"), exact=True).click()
    inner = page.frame_locator("#sawt-sign")
    expect(inner.get_by_role("heading", name=t(app, lang, "Check your e-mail"))).to_be_visible()
    assert page.url == f"{host.origin}/article", "the host page stays where it was"

    # --- The host heard that someone signed, and nothing about who.
    page.wait_for_function("() => window.sawtSigned.length === 1")
    assert page.evaluate("window.sawtSigned") == [{"frame": "sawt-sign", "detail": {"campaign": slug}}]
    messages = page.evaluate("window.sawtMessages")
    assert {"origin": ours, "data": {"type": "sawt:signed", "campaign": slug}} in messages
    for message in messages:
        assert message["origin"] == ours
        assert set(message["data"]) <= {"type", "campaign", "height"}
        assert message["data"]["type"] in ("sawt:signed", "sawt:height")
    said = json.dumps(messages, ensure_ascii=False)
    assert "layla" not in said.lower() and NAMES[lang] not in said and "LB" not in said

    # --- Confirmed from the e-mail, on the full site (first-party, in its own tab).
    [message] = live_server.deliver()
    confirm_url = link_in(message, "/confirm/")
    assert confirm_url.startswith(f"{ours}/{lang}/confirm/")
    confirm_page = make_page(base_url=ours)
    confirm_page.goto(confirm_url)
    confirm_page.get_by_role("button", name=t(app, lang, "Confirm my signature")).click()
    confirm_page.wait_for_url(re.compile(rf"/{lang}/c/{slug}/thanks"))
    confirm_page.wait_for_load_state("networkidle")

    # --- The host page shows the new count within seconds, without reloading.
    host_sees_the_count(page, 1, timeout=5_000)

    with app.app_context():
        [signature] = db.session.scalars(sa.select(Signature)).all()
        assert (signature.state, signature.locale, signature.referral) == (
            SignatureState.verified, lang, "partner-news")

    # --- Every request: our origin or the host's own page; the frames only ours.
    page.evaluate("clearInterval(window.countTimer)")
    embed_requests = [r for r in requests if r.frame != page.main_frame]
    assert embed_requests, "the frame's requests were seen"
    for request in requests:
        assert origin_of(request.url) in (ours, host.origin), request.url
    for request in embed_requests:
        assert origin_of(request.url) == ours, request.url
    assert [r.url for r in requests if origin_of(r.url) == host.origin] == [f"{host.origin}/article"]
    # Chromium says the frame's own post is same-origin, though the frame is
    # cross-site to the page around it: that is what lets it through.
    assert len([r for r in embed_requests if r.method == "POST"]) == 2
    posts = [r for r in told if r["method"] == "POST" and r["path"].startswith("/embed/")]
    assert len(posts) == 2
    for post in posts:
        assert (post["sec-fetch-site"], post["sec-fetch-dest"]) == ("same-origin", "iframe")
        # Our Origin too (Referrer-Policy same-origin; under no-referrer it was
        # "null"): a browser without Fetch Metadata is let through by it.
        assert post["origin"] == ours
        assert post["referer"] is None or post["referer"].startswith(ours + "/")
    assert not [r for r in told if r["cookie"]], "no cookie is ever sent to us"
    # The host page itself loads the frame: cross-site, and it tells us nothing of
    # the article (referrerpolicy="no-referrer" in the embed code).
    [frame_load] = [r for r in told if r["path"] == f"/embed/{slug}/sign" and r["method"] == "GET"]
    assert (frame_load["sec-fetch-site"], frame_load["sec-fetch-dest"]) == ("cross-site", "iframe")
    assert frame_load["referer"] is None
    assert page.context.cookies() == [] and confirm_page.context.cookies() == []

    # --- A post made by the host page itself is cross-site, and refused.
    with page.expect_navigation() as navigation:
        page.evaluate("document.getElementById('forged').submit()")
    assert navigation.value.status == 403
    forged = [r for r in told if r["method"] == "POST"][-1]
    assert (forged["path"], forged["sec-fetch-site"]) == (f"/embed/{slug}/sign", "cross-site")
    expect(page.locator("#error-summary")).to_contain_text(t(
        app, lang, "This form was sent from another website, so nothing was saved. If you meant to send it, "
        "check what it says and press the button again."))
    page.wait_for_load_state("networkidle")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 1


def host_sees_the_count(page, count: int, *, timeout: int) -> None:
    """Every view of the count on the host page shows ``count``: the host's own
    reading of the count API, and the embedded counter (which refreshes itself)."""
    expect(page.locator("#count")).to_have_text(str(count), timeout=timeout)
    counter = page.frame_locator("#sawt-counter").locator(".count-line")
    expect(counter).to_have_attribute("data-count", str(count), timeout=timeout)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_crowded_connection_does_the_check_inside_the_frame(lang, app, make_live_server, host_site, make_page,
                                                             make_campaign):
    """Past the allowance the altcha widget runs inside the third-party frame (its
    worker and Web Crypto from our origin), in the frame's language, and sends the
    form itself once solved."""
    from campaign.extensions import limiter

    slug = make_campaign().slug
    server = make_live_server(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="1 per minute",
                              ALTCHA_COST=10, ALTCHA_KEY_PREFIX="0")
    with server.app.app_context():
        limiter.reset()
    values = {"ours": server.url, "slug": slug, "lang": lang, "theme": THEMES[lang]}
    host = host_site(HOST_PAGE.format(embeds=EMBEDS["sign"].format(**values), **values))
    page = make_page(base_url=host.origin)
    page.goto("/article")
    inner = page.frame_locator("#sawt-sign")
    frame = page.locator("#sawt-sign").element_handle().content_frame()
    for n, email in enumerate(("first@example.org", "second@example.org")):
        if n:
            frame.goto(f"{server.url}/embed/{slug}/sign?lang={lang}&theme={THEMES[lang]}")
        settle(frame)
        form = inner.locator("form.sign-form")
        form.locator("#name").fill(NAMES[lang])
        form.locator("#email").fill(email)
        form.locator("#country").select_option("LB")
        form.get_by_role("button", name=t(server.app, lang, "Sign"), exact=True).click()
        if n:
            expect(inner.locator("altcha-widget")).to_have_count(1)
            if lang == "ar":
                expect(inner.locator("altcha-widget")).to_contain_text(re.compile(r"[\u0600-\u06FF]"))
        expect(inner.get_by_role("heading", name=t(server.app, lang, "Check your e-mail"))).to_be_visible(
            timeout=20_000)
        settle(frame)
    page.wait_for_function("() => window.sawtSigned.length === 2")
    page.evaluate("clearInterval(window.countTimer)")
    with server.app.app_context():
        take_signatures(server.app)
        rows = db.session.scalars(sa.select(Signature).order_by(Signature.id)).all()
        assert [(r.email, r.state, r.referral) for r in rows] == [
            ("first@example.org", SignatureState.pending, "partner-news"),
            ("second@example.org", SignatureState.pending, "embed"),
        ]
