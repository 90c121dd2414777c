"""The sign form embedded in other sites (campaign/signatures/embed.py), through the
test client, in Arabic and in English: framable only there, no cookie, cacheable;
the same validation, cross-site refusal, proof of work and e-mail confirmation as
the campaign page; the host's referral code; what the host page is told.
tests/test_browser_embeds.py drives it from a page on another origin."""
from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import altcha
import pytest
import sqlalchemy as sa

from campaign.campaigns import services as campaign_services
from campaign.campaigns.models import CampaignState
from campaign.dashboard import services as dashboard
from campaign.extensions import limiter
from campaign.signatures.embed import embed_referral, sign_snippet
from campaign.signatures.models import Signature, SignatureState
from tests.browser_helpers import t
from tests.fixtures.mail import link_in
from tests.fixtures.web import new_client
from tests.fixtures.signatures import take_signatures

LANGS = ["ar", "en"]
DIRECTION = {"ar": "rtl", "en": "ltr"}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}
TYPED = {
    "ar": {"name": "ليلى حداد", "email": "layla@example.org", "country": "LB", "visibility": "initials",
           "comment": "الحرية للجميع", "opt_in": "y"},
    "en": {"name": "Layla Haddad", "email": "layla@example.org", "country": "LB", "visibility": "initials",
           "comment": "Freedom for all", "opt_in": "y"},
}
CROSS_SITE_MESSAGE = ("This form was sent from another website, so nothing was saved. If you meant to send it, "
                      "check what it says and press the button again.")


class Form(HTMLParser):
    """What a page's controls hold (as a browser would send them), its <html>
    attributes and its text."""

    def __init__(self, response):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.root: dict[str, str] = {}
        self.forms: list[str] = []
        self._select = self._textarea = None
        self._text: list[str] = []
        self.feed(response.get_data(as_text=True))
        self.text = " ".join("".join(self._text).split())

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.root = a
        elif tag == "form":
            self.forms.append(a.get("action", ""))
        elif tag == "input" and a.get("type") not in ("radio", "checkbox") or (
                tag == "input" and "checked" in a):
            self.values.setdefault(a.get("name", ""), a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            # As in a browser, the newline right after <textarea> is not content.
            value = self.values[self._textarea]
            self.values[self._textarea] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data
        self._text.append(data)


def stored(session) -> list[Signature]:
    """Every signature, once the worker has taken those the forms queued."""
    session.rollback()
    take_signatures()
    return list(session.scalars(sa.select(Signature).order_by(Signature.id)))


@pytest.fixture
def slug(make_campaign):
    return make_campaign().slug


@pytest.fixture
def web(app):
    return new_client(app)


def sign(client, slug, lang, *, headers=SAME_ORIGIN, query="", **fields):
    data = dict(TYPED[lang], **fields)
    return client.post(f"/embed/{slug}/sign?lang={lang}{query}", data=data, headers=headers)


def assert_framable_and_cookieless(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "'none'" not in csp.split("frame-ancestors")[1]
    assert "X-Frame-Options" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


@pytest.mark.parametrize("lang", LANGS)
def test_the_form_is_framable_cacheable_and_sets_no_cookie(web, slug, lang):
    response = web.get(f"/embed/{slug}/sign?lang={lang}")
    assert response.status_code == 200
    assert_framable_and_cookieless(response)
    assert "public" in response.headers["Cache-Control"] and "s-maxage" in response.headers["Cache-Control"]
    page = Form(response)
    assert (page.root["lang"], page.root["dir"]) == (lang, DIRECTION[lang])
    assert page.root["data-campaign"] == slug and "data-signed" not in page.root
    assert "theme-light" in page.root["class"]
    assert page.forms == [f"/embed/{slug}/sign?lang={lang}&theme=light"]
    assert t(web.application, lang, "Sign") in page.text
    assert "Set them free" in page.text if lang == "en" else "أطلقوا سراحهم" in page.text
    # Nothing from another site: every src and href is ours (relative).
    body = response.get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', body)
    assert not re.search(r"<script(?![^>]*\ssrc=)", body), "no inline script (CSP script-src 'self')"
    # A matching ETag is answered with 304, framable too.
    again = web.get(f"/embed/{slug}/sign?lang={lang}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_language_and_theme_default_and_odd_values_are_ignored(web, slug):
    for query in ("", "?lang=fr", "?lang=%00", "?theme=%3Cscript%3E", "?lang[]=en&theme=dark&theme=blue",
                  "?ref=%3Cscript%3E", "?ref=" + "x" * 500):
        response = web.get(f"/embed/{slug}/sign{query}")
        assert response.status_code == 200, query
        page = Form(response)
        assert page.root["lang"] == "ar", query
        assert re.fullmatch(r"embed theme-(light|dark)", page.root["class"]), query
        assert "<script>" not in response.get_data(as_text=True).split("</head>")[1], query
    dark = Form(web.get(f"/embed/{slug}/sign?lang=en&theme=dark"))
    assert dark.root["class"] == "embed theme-dark"
    assert dark.forms == [f"/embed/{slug}/sign?lang=en&theme=dark"]


def test_only_embed_answers_may_be_framed(web, slug):
    """frame-ancestors * is for the embedded form alone: the campaign page, its
    check-email page and the rest still refuse every frame."""
    for path in (f"/en/c/{slug}", f"/ar/c/{slug}/check-email", "/en/", "/en/manage/login"):
        response = web.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


@pytest.mark.parametrize("lang", LANGS)
def test_a_signature_through_the_frame_is_confirmed_on_the_full_site(web, session, slug, lang, deliver):
    response = sign(web, slug, lang, query="&theme=dark")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/embed/{slug}/sign/check-email?lang={lang}&theme=dark"
    [signature] = stored(session)
    assert (signature.state, signature.locale, signature.referral) == (SignatureState.pending, lang, "embed")

    check = web.get(response.headers["Location"])
    assert check.status_code == 200
    assert_framable_and_cookieless(check)
    page = Form(check)
    assert (page.root["lang"], page.root["dir"]) == (lang, DIRECTION[lang])
    # The host is told that someone signed, by static/js/embed-sign.js; the page
    # itself carries nothing about the signer.
    assert "data-signed" in page.root and page.root["data-campaign"] == slug
    body = check.get_data(as_text=True)
    assert "layla" not in body.lower() and TYPED[lang]["name"] not in body
    assert page.forms == [f"/embed/{slug}/sign/resend?lang={lang}&theme=dark"]
    assert t(web.application, lang, "Check your e-mail") in page.text

    # The link in the e-mail opens the full site, in the signer's language.
    [message] = deliver()
    link = link_in(message, "/confirm/")
    assert urlsplit(link).path.startswith(f"/{lang}/confirm/")
    path = urlsplit(link).path
    assert web.post(path, headers=SAME_ORIGIN).status_code == 303
    assert stored(session)[0].state == SignatureState.verified


@pytest.mark.parametrize("lang", LANGS)
def test_invalid_input_comes_back_translated_with_what_was_typed(web, session, slug, lang):
    response = sign(web, slug, lang, name="", email="not an address")
    assert response.status_code == 422
    assert_framable_and_cookieless(response)
    page = Form(response)
    assert page.root["lang"] == lang
    for msgid in ("Please correct the following:", "Please enter your name.",
                  "This e-mail address does not look right. Please check it."):
        assert t(web.application, lang, msgid) in page.text
    typed = dict(TYPED[lang], name="", email="not an address")
    for name in ("name", "email", "country", "visibility", "comment", "opt_in"):
        assert page.values.get(name) == typed[name], name
    assert page.values["ref"] == "embed"
    assert page.forms == [f"/embed/{slug}/sign?lang={lang}&theme=light"]
    assert stored(session) == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_cross_site_post_is_refused_translated_and_keeps_what_was_typed(web, session, slug, lang):
    """The host page (or any other site) posting to the form is refused; the form
    in the frame, which is our page, posts same-origin and is accepted."""
    for headers in (CROSS_SITE, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://partner.example"}):
        response = sign(web, slug, lang, headers=headers, query="&ref=partner-news")
        assert response.status_code == 403, headers
        assert_framable_and_cookieless(response)
        page = Form(response)
        assert page.root["lang"] == lang
        assert t(web.application, lang, CROSS_SITE_MESSAGE) in page.text
        for name in ("name", "email", "country", "visibility", "comment", "opt_in"):
            assert page.values.get(name) == TYPED[lang][name], (headers, name)
    assert stored(session) == []
    assert sign(web, slug, lang).status_code == 303
    assert len(stored(session)) == 1


def test_the_resend_form_refuses_cross_site_posts(web, slug):
    response = web.post(f"/embed/{slug}/sign/resend?lang=en", data={"email": "layla@example.org"},
                        headers=CROSS_SITE)
    assert response.status_code == 403
    page = Form(response)
    assert page.values["email"] == "layla@example.org"
    assert t(web.application, "en", CROSS_SITE_MESSAGE) in page.text


def test_the_host_referral_code_is_recorded_and_nothing_about_the_host(web, session, make_campaign):
    campaign = make_campaign()
    cases = [("partner-news", "partner-news"), ("", "embed"), ("WA", "embed"), ("qr", "embed"),
             ("embed", "embed"), ("no spaces", "embed"), ("<b>", "embed"), ("x" * 33, "embed")]
    for n, (code, recorded) in enumerate(cases):
        form = Form(web.get(f"/embed/{campaign.slug}/sign?lang=en&ref={code}"))
        assert form.values["ref"] == recorded, code
        response = web.post(f"/embed/{campaign.slug}/sign?lang=en", headers={
            **SAME_ORIGIN, "Referer": "https://partner.example/2026/11/an-article-about-my-brother"},
            data=dict(TYPED["en"], email=f"signer{n}@example.org", ref=form.values["ref"]))
        assert response.status_code == 303
    # A tampered hidden field is cleaned the same way.
    web.post(f"/embed/{campaign.slug}/sign?lang=en", headers=SAME_ORIGIN,
             data=dict(TYPED["en"], email="tampered@example.org", ref="tg"))
    rows = stored(session)
    assert [r.referral for r in rows] == [recorded for _, recorded in cases] + ["embed"]
    # No column of a signature holds the host's page or address.
    for row in rows:
        for column in Signature.__table__.columns:
            value = getattr(row, column.key)
            assert "partner.example" not in str(value) and "article" not in str(value), column.key
    # The organisers' dashboard shows the embedded form as a channel, and the host's own code.
    channels = {r.channel: r.signed for r in dashboard.by_channel(session, campaign)}
    assert channels == {"embed": len(cases), "partner-news": 1}  # with the tampered one
    with web.application.test_request_context("/ar/"):
        from campaign.amplify.share import channel_label
        from flask_babel import force_locale

        with force_locale("ar"):
            assert channel_label("embed") == t(web.application, "ar", "Sign form on other websites")


def test_embed_referral():
    assert embed_referral(None) == "embed"
    assert embed_referral(" Partner_1 ") == "partner_1"
    assert embed_referral("fb") == "embed"


def test_a_closed_or_unknown_campaign_says_so_in_the_frame(web, session, make_campaign):
    closed = make_campaign()
    campaign_services.change_state(session, closed, CampaignState.closed)
    session.commit()
    for lang in LANGS:
        response = web.get(f"/embed/{closed.slug}/sign?lang={lang}")
        assert response.status_code == 200
        page = Form(response)
        assert page.forms == []
        assert t(web.application, lang, "This campaign is closed and no longer accepts signatures. Thank you "
                                         "to everyone who signed.") in page.text
        refused = sign(web, closed.slug, lang)
        assert refused.status_code == 409
        assert_framable_and_cookieless(refused)

        missing = web.get(f"/embed/no-such-campaign/sign?lang={lang}")
        assert missing.status_code == 404
        assert_framable_and_cookieless(missing)
        page = Form(missing)
        assert page.root["lang"] == lang
        assert t(web.application, lang, "Page not found") in page.text
    assert stored(session) == []


@pytest.fixture
def limited_app(app, make_app, monkeypatch):
    """Limits on (allowance 1 a minute, resend 3), a one-try proof of work."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="1 per minute", RATELIMIT_RESEND="3 per minute",
                       ALTCHA_COST=1, ALTCHA_KEY_PREFIX="0")
    with limited.app_context():
        limiter.reset()
    return limited


def solve(body: str) -> str:
    match = re.search(r"<altcha-widget challenge='([^']*)'", body)
    challenge = altcha.Challenge.from_dict(json.loads(html.unescape(match.group(1))))
    solution = altcha.solve_challenge(challenge, timeout=10)
    return altcha.Payload(challenge, solution).to_base64()


@pytest.mark.parametrize("lang", LANGS)
def test_a_crowded_connection_gets_the_check_in_the_frame(limited_app, session, make_campaign, lang):
    slug = make_campaign().slug
    client = new_client(limited_app)
    assert sign(client, slug, lang, email="first@example.org").status_code == 303
    asked = sign(client, slug, lang, email="second@example.org", ref="partner-news")
    assert asked.status_code == 200
    assert_framable_and_cookieless(asked)
    body = asked.get_data(as_text=True)
    assert "<altcha-widget" in body
    page = Form(asked)
    assert page.root["lang"] == lang and page.values["email"] == "second@example.org"
    assert page.values["ref"] == "partner-news"
    assert page.forms == [f"/embed/{slug}/sign?lang={lang}&theme=light"]
    assert t(limited_app, lang, "Many people are signing from your connection right now (a family, a university "
                                "or a mobile network share one). To tell people from scripts, your browser does "
                                "a short automatic check, then sends your signature.") in page.text
    solved = sign(client, slug, lang, email="second@example.org", ref=page.values["ref"],
                  crowd_check="offered", altcha=solve(body))
    assert solved.status_code == 303
    # Without the work done (no JavaScript), kept but held for review.
    asked = sign(client, slug, lang, email="third@example.org")
    assert asked.status_code == 200
    assert sign(client, slug, lang, email="third@example.org", crowd_check="offered").status_code == 303
    assert [(s.email, s.state, s.referral) for s in stored(session)] == [
        ("first@example.org", SignatureState.pending, "embed"),
        ("second@example.org", SignatureState.pending, "partner-news"),
        ("third@example.org", SignatureState.held, "embed"),
    ]


def test_both_resend_forms_share_one_allowance(limited_app, make_campaign):
    slug = make_campaign().slug
    client = new_client(limited_app)
    data = {"email": "layla@example.org"}
    assert client.post(f"/en/c/{slug}/resend", data=data, headers=SAME_ORIGIN).status_code == 303
    for _ in range(2):
        response = client.post(f"/embed/{slug}/sign/resend?lang=ar", data=data, headers=SAME_ORIGIN)
        assert response.status_code == 303
        location = urlsplit(response.headers["Location"])
        assert location.path == f"/embed/{slug}/sign/check-email"
        assert parse_qs(location.query) == {"lang": ["ar"], "theme": ["light"], "resent": ["1"]}
    resent = client.get(response.headers["Location"])
    assert "data-signed" not in Form(resent).root, "the host hears of a signature once"
    refused = client.post(f"/embed/{slug}/sign/resend?lang=ar", data=data, headers=SAME_ORIGIN)
    assert refused.status_code == 429
    assert_framable_and_cookieless(refused)
    page = Form(refused)
    assert page.root["lang"] == "ar" and t(limited_app, "ar", "Too many attempts") in page.text
    assert client.post(f"/en/c/{slug}/resend", data=data, headers=SAME_ORIGIN).status_code == 429


def test_the_snippet_hosts_paste(app, make_campaign):
    campaign = make_campaign()
    with app.test_request_context("/"):
        plain = str(sign_snippet(campaign, "ar"))
        dark = str(sign_snippet(campaign, "en", theme="dark", ref="Partner-News"))
    public = app.config["PUBLIC_URL"].rstrip("/")
    assert f'src="{public}/embed/{campaign.slug}/sign?lang=ar"' in plain
    assert f'src="{public}/embed/{campaign.slug}/sign?lang=en&amp;theme=dark&amp;ref=partner-news"' in dark
    assert f'<script src="{public}/static/embed-host.js" async></script>' in plain
    assert 'referrerpolicy="no-referrer"' in plain
    assert 'title="وقّع على «أطلقوا سراحهم» عبر صوت"' in plain
    assert 'title="Sign “Set them free” on Sawt"' in dark


def test_the_host_script_may_be_loaded_by_other_sites(web):
    """Static files are for our pages only (CORP same-origin), except the script
    hosts paste, which another site's page loads."""
    host_script = web.get("/static/embed-host.js")
    assert host_script.status_code == 200
    assert host_script.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "sawt:height" in host_script.get_data(as_text=True)
    host_script.close()
    other = web.get("/static/js/embed-sign.js")
    assert other.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    other.close()
