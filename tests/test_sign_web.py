"""The public signing pages through the test client, in Arabic and in English: every
sign-form error, the form token and the honeypot, bad, expired and used links, the
language switcher and `/`, 404s, rate limits (memory and Redis), odd input, and
left-to-right e-mail fields on Arabic pages.

Expected Arabic comes from translations/ar/LC_MESSAGES/messages.po itself, so a
page that shows an untranslated (or wrongly looked-up) string fails here."""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from campaign.campaigns import services as campaign_services
from campaign.campaigns.models import Campaign
from campaign.config import ROOT
from campaign.outbox.models import OutboxMessage
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Signature, SignatureState
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.web import new_client
from tests.fixtures.signatures import take_signatures

LANGS = ["ar", "en"]
OTHER = {"ar": "en", "en": "ar"}
DIRECTION = {"ar": "rtl", "en": "ltr"}
LANGUAGE_NAME = {"ar": "العربية", "en": "English"}
ARABIC = re.compile(r"[\u0600-\u06FF]")
PO = ROOT / "translations" / "ar" / "LC_MESSAGES" / "messages.po"

# What a signer types, per language: a comment and a non-default visibility and
# opt-in, so that "kept in the form" covers every kind of control.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
# What browsers send with a post from another site's page (Fetch Metadata), and
# what an older browser sends (Origin only).
CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://sawt.test.evil.example"},
]
# Our own pages: same origin (also inside another site's iframe: the post comes
# from our page, so the browser says same-origin), typed or bookmarked (none), an
# older browser sending our Origin, and a client that is no browser at all.
OURS = [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://sawt.test"},
    {"Sec-Fetch-Site": "none"},
    {"Origin": "http://sawt.test"},
    {"Origin": "http://localhost"},
    {},
]

TYPED = {
    "ar": {"name": "ليلى حداد", "email": "layla@example.org", "country": "LB", "visibility": "initials",
           "comment": "الحرية للجميع", "opt_in": "y"},
    "en": {"name": "Layla Haddad", "email": "layla@example.org", "country": "LB", "visibility": "initials",
           "comment": "Freedom for all", "opt_in": "y"},
}


# --- Reading pages ------------------------------------------------------------------------

@functools.cache
def _arabic_catalogue():
    with open(PO, "rb") as fh:
        return read_po(fh, locale="ar")


def t(lang: str, msgid: str, **values) -> str:
    """``msgid`` as a page in ``lang`` shows it; the Arabic is read from messages.po."""
    text = msgid
    if lang == "ar":
        message = _arabic_catalogue().get(msgid)
        assert message is not None and not message.fuzzy and ARABIC.search(message.string or ""), (
            f"no Arabic for {msgid!r} in {PO.name}"
        )
        text = message.string
    return text % values if values else text


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]):
        self.tag = tag
        self.attrs = {name: "" if value is None else value for name, value in attrs}
        self.parts: list[str] = []
        self.inside: list[Element] = []  # every element nested in this one

    @property
    def raw_text(self) -> str:
        return "".join(self.parts)

    @property
    def text(self) -> str:
        return " ".join(self.raw_text.split())

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class Page(HTMLParser):
    """A response parsed into its elements (attributes and text, entities decoded)."""

    def __init__(self, response):
        super().__init__(convert_charrefs=True)
        self.status = response.status_code
        self.headers = response.headers
        self.html = response.get_data(as_text=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._text: list[str] = []
        self.feed(self.html)
        self.close()
        self.text = " ".join("".join(self._text).split())

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs)
        self.elements.append(element)
        for parent in self._open:
            parent.inside.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self._open.pop()

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                return

    def handle_data(self, data):
        self._text.append(data)
        for element in self._open:
            element.parts.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements of ``tag`` whose attributes have these values (``class_`` for class)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [
            e for e in self.elements
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, f"expected one {tag} {attrs}, found {found}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        return self.one(id=element_id)

    @property
    def h1(self) -> str:
        return self.one("h1").text


def link_texts(page: Page, href: str) -> list[str]:
    return [a.text for a in page.find("a", href=href)]


def assert_language(page: Page, lang: str) -> None:
    html = page.one("html")
    assert (html.attrs.get("lang"), html.attrs.get("dir")) == (lang, DIRECTION[lang])


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def in_language(path: str, lang: str) -> str:
    """The same address under another language prefix."""
    return f"/{lang}/" + path.split("/", 2)[2]


# --- Acting as a signer ---------------------------------------------------------------------

@pytest.fixture
def web(app):
    """A client whose requests each run in a context of their own, as on a server."""
    return new_client(app)


@pytest.fixture
def slug(make_campaign) -> str:
    return make_campaign().slug


def post_sign(client, slug: str, lang: str, *, headers: dict | None = None, **fields):
    """POST the sign form as a browser would from our own page: typed fields (None
    leaves one out); ``headers`` replace the browser's Sec-Fetch-Site: same-origin."""
    data = {k: v for k, v in dict(TYPED[lang], **fields).items() if v is not None}
    return client.post(f"/{lang}/c/{slug}/sign", data=data,
                       headers=headers if headers is not None else SAME_ORIGIN)


def post_form(client, path: str, data: dict | None = None):
    """POST a public form as a browser does from our own page."""
    return client.post(path, data=data or {}, headers=SAME_ORIGIN)


def signed(client, slug: str, lang: str, deliver, **fields) -> tuple[str, str]:
    """Sign through the web and deliver the mail: (confirm path, withdraw path)."""
    response = post_sign(client, slug, lang, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    [message] = deliver()
    return path_of(link_in(message, "/confirm/")), path_of(link_in(message, "/withdraw/"))


def counts(session, slug: str) -> tuple[int, int]:
    """(verified, pending) as the requests, and the worker taking what they queued, left them."""
    session.rollback()
    take_signatures()
    campaign = session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
    return campaign.verified_count, campaign.pending_count


def signatures(session) -> list[Signature]:
    """Every signature row, as the requests and the worker's taking them left them."""
    session.rollback()
    take_signatures()
    return list(session.scalars(sa.select(Signature).order_by(Signature.id)))


# --- Sign form errors -------------------------------------------------------------------------

FIELD_ERRORS = [
    # (case, what the signer changed, field in error, message, message values)
    ("missing-name", {"name": ""}, "name", "Please enter your name.", {}),
    ("blank-name", {"name": "   "}, "name", "Please enter your name.", {}),
    ("no-name-field", {"name": None}, "name", "Please enter your name.", {}),
    ("missing-email", {"email": None}, "email", "Please enter your e-mail address.", {}),
    ("invalid-email", {"email": "layla@"}, "email", "This e-mail address does not look right. Please check it.", {}),
    ("email-without-at", {"email": "layla at example.org"}, "email",
     "This e-mail address does not look right. Please check it.", {}),
    ("too-long-email", {"email": "l" * 250 + "@example.org"}, "email",
     "This e-mail address does not look right. Please check it.", {}),
    ("missing-country", {"country": ""}, "country", "Please choose your country.", {}),
    ("not-a-country", {"country": "EU"}, "country", "Please choose your country.", {}),
    ("invalid-country", {"country": "LBN"}, "country", "Please choose your country.", {}),
    ("too-long-name", {"name": "ن" * 121}, "name", "Please use at most %(max)d characters.", {"max": 120}),
    ("too-long-comment", {"comment": "c" * 501}, "comment", "Please use at most %(max)d characters.", {"max": 500}),
    ("bad-visibility", {"visibility": "everyone"}, "visibility", "Please choose what may be shown.", {}),
    ("empty-visibility", {"visibility": ""}, "visibility", "Please choose what may be shown.", {}),
]


def assert_typed_values_kept(page: Page, typed: dict) -> None:
    """The re-shown form holds what was typed (valid choices stay chosen)."""
    assert page.one("input", name="name").attrs.get("value", "") == (typed.get("name") or "")
    assert page.one("input", name="email").attrs.get("value", "") == (typed.get("email") or "")
    comment = page.one("textarea", name="comment").raw_text
    assert comment.removeprefix("\r\n").removeprefix("\n") == (typed.get("comment") or "")
    options = page.find("option")
    selected = [o["value"] for o in options if "selected" in o.attrs]
    if typed.get("country") and typed["country"] in {o["value"] for o in options}:
        assert selected == [typed["country"]]
    else:
        assert selected in ([], [""]), "an invalid country leaves nothing (or the prompt) chosen"
    radios = page.find("input", type="radio", name="visibility")
    checked = [r["value"] for r in radios if "checked" in r.attrs]
    if typed.get("visibility") in {r["value"] for r in radios}:
        assert checked == [typed["visibility"]]
    assert ("checked" in page.one("input", name="opt_in").attrs) == bool(typed.get("opt_in"))


@pytest.mark.parametrize("lang", LANGS)
def test_sign_form_errors_are_translated_tied_to_their_field_and_keep_the_input(web, session, slug, lang, subtests):
    for case, change, field, msgid, values in FIELD_ERRORS:
        with subtests.test(case):
            assert_one_field_error(web, slug, lang, change, field, t(lang, msgid, **values))
    assert not signatures(session) and counts(session, slug) == (0, 0)


def assert_one_field_error(web, slug: str, lang: str, change: dict, field: str, message: str) -> None:
    response = post_sign(web, slug, lang, **change)
    assert response.status_code == 422
    page = Page(response)
    assert_language(page, lang)

    # The summary comes first and leads to the field…
    summary = page.by_id("error-summary")
    assert summary["role"] == "alert"
    assert t(lang, "Please correct the following:") in summary.text
    target = f"{field}-0" if field == "visibility" else field
    link = page.one("a", href=f"#{target}")
    assert message in link.text
    page.by_id(target)

    # …and the field itself carries the error, tied by id.
    assert page.by_id(f"{field}-error").text == message
    if field == "visibility":
        tied = page.one("fieldset", aria_describedby="visibility-error")
    else:
        tied = page.one(None, name=field)
        assert tied.attrs.get("aria-invalid") == "true"
    described = tied["aria-describedby"].split()
    assert f"{field}-error" in described
    for element_id in described:
        page.by_id(element_id)

    # Only that field is in error, and everything typed is still there.
    assert [e["id"] for e in page.find(class_="field-error")] == [f"{field}-error"]
    assert_typed_values_kept(page, dict(TYPED[lang], **change))
    assert not page.find("input", name="csrf_token"), "public forms carry no session-bound token"


@pytest.mark.parametrize("lang", LANGS)
def test_several_errors_at_once_each_have_their_own_message(web, session, slug, lang):
    response = post_sign(web, slug, lang, name="", email="nope", country="", visibility="x")
    assert response.status_code == 422
    page = Page(response)
    errors = {e["id"]: e.text for e in page.find(class_="field-error")}
    assert errors == {
        "name-error": t(lang, "Please enter your name."),
        "email-error": t(lang, "This e-mail address does not look right. Please check it."),
        "country-error": t(lang, "Please choose your country."),
        "visibility-error": t(lang, "Please choose what may be shown."),
    }
    summary_links = [e["href"] for e in page.by_id("error-summary").inside if e.tag == "a"]
    assert summary_links == ["#name", "#email", "#country", "#visibility-0"]
    assert page.one("input", name="email")["value"] == "nope"
    assert not signatures(session)


# --- The form token -----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_a_cross_site_sign_is_refused_and_keeps_what_was_typed(app, session, slug, lang, subtests):
    for n, headers in enumerate(CROSS_SITE):
        with subtests.test(headers=headers):
            client = new_client(app)
            response = post_sign(client, slug, lang, headers=headers, email=f"signer{n}@example.org")
            assert response.status_code == 403
            assert "Set-Cookie" not in response.headers
            page = Page(response)
            assert_language(page, lang)
            assert t(lang, "This form was sent from another website, so nothing was saved. If you meant to send "
                           "it, check what it says and press the button again.") in page.by_id("error-summary").text
            assert_typed_values_kept(page, dict(TYPED[lang], email=f"signer{n}@example.org"))
            assert counts(session, slug) == (0, n)

            # Sent again from the page it came back on (ours), it is accepted.
            again = post_sign(client, slug, lang, email=f"signer{n}@example.org")
            assert again.status_code == 303
            assert counts(session, slug) == (0, n + 1)


def test_posts_from_our_own_pages_are_accepted(app, session, slug, subtests):
    for n, headers in enumerate(OURS):
        with subtests.test(headers=headers):
            response = post_sign(new_client(app), slug, "en", headers=headers, email=f"ours{n}@example.org")
            assert response.status_code == 303, headers
    assert counts(session, slug) == (0, len(OURS))


@pytest.mark.parametrize("lang", LANGS)
def test_other_public_forms_refuse_cross_site_posts(web, session, slug, lang, deliver):
    confirm, withdraw = signed(web, slug, lang, deliver)
    cross = CROSS_SITE[0]
    for path in (confirm, withdraw):
        response = web.post(path, headers=cross)
        assert response.status_code == 403, path
        page = Page(response)
        assert_language(page, lang)
        assert page.h1 == t(lang, "Sent from another website"), path
        assert t(lang, "See all campaigns") in link_texts(page, f"/{lang}/")
    for path in (f"/{lang}/c/{slug}/resend", f"/{lang}/erase"):
        response = web.post(path, data={"email": "layla@example.org"}, headers=cross)
        assert response.status_code == 403, path
        page = Page(response)
        assert_language(page, lang)
        assert page.one("input", name="email")["value"] == "layla@example.org"
    assert deliver() == []
    assert [s.state for s in signatures(session)] == [SignatureState.pending]


def test_every_public_post_refuses_cross_site(app, web, slug):
    """Every form outside the workspace is guarded: a new public POST route that
    forgot to use PublicForm fails here."""
    posted = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or "/manage/" in rule.rule:
            continue
        values = {name: {"lang_code": "en", "slug": slug}.get(name, "A" * 43) for name in rule.arguments}
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<{name}>", value).replace(f"<int:{name}>", "1")
        response = web.post(path, data={"email": "layla@example.org"}, headers=CROSS_SITE[0])
        assert response.status_code in (403, 404), (rule.rule, response.status_code)
        posted += 1
    assert posted >= 6


# --- Honeypot ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_a_filled_honeypot_looks_like_success_and_stores_nothing(app, web, session, slug, lang, deliver):
    bot = post_sign(web, slug, lang, email="bot@example.org", website="https://spam.example")
    person = post_sign(new_client(app), slug, lang, email="person@example.org")
    assert bot.status_code == person.status_code == 303
    assert bot.location == person.location == f"/{lang}/c/{slug}/check-email"
    page = Page(web.get(bot.location))
    assert page.status == 200 and page.h1 == t(lang, "Check your e-mail")

    [stored] = signatures(session)
    assert stored.email == "person@example.org"
    assert [m["To"] for m in deliver()] == ["person@example.org"]
    # The person's form queued one task, which queued one mail; the bot's queued nothing.
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2
    assert counts(session, slug) == (0, 1)


# --- Resend form ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_resend_form_errors_and_answers(web, session, slug, lang, deliver):
    check_email = f"/{lang}/c/{slug}/check-email"
    resend = f"/{lang}/c/{slug}/resend"
    page = Page(web.get(check_email))
    assert_language(page, lang)
    assert page.one("form", action=resend)["method"] == "post"
    assert page.one("button").text == t(lang, "Send the link again")

    for typed, msgid in [("", "Please enter your e-mail address."),
                         ("not-an-address", "This e-mail address does not look right. Please check it.")]:
        response = post_form(web, resend, {"email": typed})
        assert response.status_code == 422
        page = Page(response)
        assert_language(page, lang)
        assert page.by_id("email-error").text == t(lang, msgid)
        email = page.one("input", name="email")
        assert email.attrs.get("value", "") == typed
        assert "email-error" in email["aria-describedby"].split()
        assert email["aria-invalid"] == "true"

    # An address that never signed gets the same answer as one that did, and no mail.
    nobody = post_form(web, resend, {"email": "nobody@example.org"})
    assert nobody.status_code == 303 and nobody.location == f"{check_email}?resent=1"
    page = Page(web.get(nobody.location))
    assert t(lang, "If that address signed this campaign, we have sent it a new link.") in page.text
    assert deliver() == []

    signed(web, slug, lang, deliver)
    expire(session, "created_at")  # asked again later: within minutes it would be a repeat, not mailed
    again = post_form(web, resend, {"email": "layla@example.org"})
    assert again.status_code == 303 and again.location == nobody.location
    [message] = deliver()
    assert message["Subject"] == t(lang, "Please confirm your signature")
    assert urlsplit(link_in(message, "/confirm/")).path.startswith(f"/{lang}/confirm/")


# --- Links: bad, expired, used ------------------------------------------------------------------------------

BAD_TOKENS = {
    "garbage": lambda real: "not-a-token",
    "truncated": lambda real: real[:-6],
    "one-more-char": lambda real: real + "A",
    "very-long": lambda real: real * 300,
    "non-ascii": lambda real: "تأكيد-" + real[:20],
    "rtl-override": lambda real: "\u202e" + real,
    "emoji": lambda real: "✊🏽" + real,
    "nul": lambda real: real[:10] + "\x00" + real[10:],
    "script": lambda real: "\"><script>alert(1)<",
}


def assert_link_does_not_work(page: Page, lang: str) -> None:
    assert page.status == 404
    assert_language(page, lang)
    assert page.h1 == t(lang, "This link does not work")
    assert t(lang, "The link may be incomplete, or it has already been used to withdraw a signature. "
                   "Check that you copied the whole link from the e-mail.") in page.text
    # No campaign is known from a bad link: the way on is the list of campaigns,
    # where signing again with the same address sends a fresh link.
    assert t(lang, "See all campaigns") in link_texts(page, f"/{lang}/")
    assert "<script>alert(1)" not in page.html


@pytest.mark.parametrize("lang", LANGS)
def test_bad_links_get_a_clear_translated_page(web, session, slug, lang, deliver, subtests):
    confirm, withdraw = signed(web, slug, lang, deliver)
    for kind, real_path in [("confirm", confirm), ("withdraw", withdraw)]:
        real = real_path.rsplit("/", 1)[1]
        for bad, make in BAD_TOKENS.items():
            with subtests.test(kind=kind, token=bad):
                path = f"/{lang}/{kind}/" + quote(make(real), safe="")
                assert_link_does_not_work(Page(web.get(path)), lang)
                posted = post_form(web, path)
                assert_link_does_not_work(Page(posted), lang)
    assert counts(session, slug) == (0, 1)
    assert Page(web.get(confirm)).status == Page(web.get(withdraw)).status == 200, "the real links still work"


def expire(session, column: str) -> None:
    """Move the signature's link into the past, as time would (and the mails sent
    with it: a link asked for again much later is mailed, not taken for a repeat)."""
    session.rollback()
    session.execute(sa.update(Signature).values({column: utcnow() - dt.timedelta(minutes=1)}))
    session.execute(sa.update(OutboxMessage).values(created_at=utcnow() - dt.timedelta(days=3)))
    session.commit()


def assert_expired_with_resend_form(page: Page, lang: str, slug: str) -> Element:
    assert page.status == 410
    assert_language(page, lang)
    assert page.h1 == t(lang, "This link has expired")
    form = page.one("form", action=f"/{lang}/c/{slug}/resend")
    assert form["method"] == "post"
    assert page.one("button", type="submit").text == t(lang, "Send me a new link")
    assert not page.find("input", name="csrf_token")
    return page.one("input", name="email")


@pytest.mark.parametrize("lang", LANGS)
def test_an_expired_confirmation_link_offers_a_new_one(web, session, slug, lang, deliver):
    confirm, _ = signed(web, slug, lang, deliver)
    expire(session, "verify_expires_at")

    assert_expired_with_resend_form(Page(web.get(confirm)), lang, slug)
    page = Page(post_form(web, confirm))
    assert_expired_with_resend_form(page, lang, slug)
    assert counts(session, slug) == (0, 1)

    sent = post_form(web, f"/{lang}/c/{slug}/resend", {"email": "layla@example.org"})
    assert sent.status_code == 303 and sent.location == f"/{lang}/c/{slug}/check-email?resent=1"
    [message] = deliver()
    fresh = path_of(link_in(message, "/confirm/"))
    assert fresh == confirm, "the same link, given its time again: every mail about a signature has the same links"
    assert post_form(web, fresh).status_code == 303
    assert counts(session, slug) == (1, 0)


@pytest.mark.parametrize("lang", LANGS)
def test_an_expired_withdrawal_link_offers_a_new_one(web, session, slug, lang, deliver):
    confirm, withdraw = signed(web, slug, lang, deliver)
    assert post_form(web, confirm).status_code == 303
    expire(session, "withdraw_expires_at")

    assert_expired_with_resend_form(Page(web.get(withdraw)), lang, slug)
    assert_expired_with_resend_form(Page(post_form(web, withdraw)), lang, slug)
    assert counts(session, slug) == (1, 0)

    sent = post_form(web, f"/{lang}/c/{slug}/resend", {"email": "layla@example.org"})
    assert sent.status_code == 303
    [message] = deliver()
    assert "/confirm/" not in body_text(message), "already confirmed: only a withdrawal link"
    fresh = path_of(link_in(message, "/withdraw/"))
    assert fresh == withdraw, "the same link, given its time again"
    assert post_form(web, fresh).status_code == 200
    assert counts(session, slug) == (0, 0)


@pytest.mark.parametrize("lang", LANGS)
def test_used_links(web, session, slug, lang, deliver):
    confirm, withdraw = signed(web, slug, lang, deliver)
    done = post_form(web, confirm)
    assert done.status_code == 303 and done.location == f"/{lang}/c/{slug}/thanks?confirmed=1"
    thanks = Page(web.get(done.location))
    assert thanks.h1 == t(lang, "Thank you: your signature is confirmed")

    # A used confirmation link leads to the thank-you page; the count moves once.
    again = web.get(confirm)
    assert again.status_code == 302 and again.location == f"/{lang}/c/{slug}/thanks"
    posted_again = post_form(web, confirm)
    assert posted_again.status_code == 303
    assert counts(session, slug) == (1, 0)

    # A used withdrawal link no longer works, nor does the confirmation link after it.
    assert post_form(web, withdraw).status_code == 200
    assert_link_does_not_work(Page(web.get(withdraw)), lang)
    assert_link_does_not_work(Page(post_form(web, withdraw)), lang)
    assert_link_does_not_work(Page(web.get(confirm)), lang)
    assert counts(session, slug) == (0, 0)


@pytest.mark.parametrize("lang", LANGS)
def test_links_only_act_on_post(web, session, slug, lang, deliver):
    confirm, withdraw = signed(web, slug, lang, deliver)
    for _ in range(2):
        page = Page(web.get(confirm))
        assert page.status == 200
        assert_language(page, lang)
        assert page.h1 == t(lang, "Confirm your signature")
        form = page.one("form", action=confirm)
        assert form["method"] == "post"
        assert page.one("button", type="submit").text == t(lang, "Confirm my signature")
    assert web.head(confirm).status_code == 200
    page = Page(web.get(withdraw))
    assert page.h1 == t(lang, "Withdraw your signature")
    assert page.one("form", action=withdraw)["method"] == "post"
    assert page.one("button", type="submit").text == t(lang, "Withdraw my signature")

    [signature] = signatures(session)
    assert signature.state == SignatureState.pending and signature.name == TYPED[lang]["name"]
    assert counts(session, slug) == (0, 1)


@pytest.mark.parametrize("lang", LANGS)
def test_a_link_to_a_closed_campaign_says_so(web, session, slug, lang, deliver):
    confirm, _ = signed(web, slug, lang, deliver)
    campaign_services.close(session, None, session.scalar(sa.select(Campaign).where(Campaign.slug == slug)))
    session.commit()

    page = Page(web.get(confirm))
    assert page.status == 409
    assert_language(page, lang)
    assert page.h1 == t(lang, "This campaign has closed")
    assert page.one("a", href=f"/{lang}/c/{slug}").text == t(lang, "Back to the campaign")

    # The closed campaign's page has no form any more: a post from an old open tab.
    refused = post_sign(web, slug, lang, email="late@example.org")
    assert refused.status_code == 409
    assert t(lang, "This campaign is closed and no longer accepts signatures. Thank you to everyone who signed.") \
        in Page(refused).text
    assert counts(session, slug) == (0, 1)


# --- Withdrawing from the e-mail --------------------------------------------------------------------------

def shown_count(client, lang: str, slug: str) -> str:
    # The count is written in words where Arabic says it so ("توقيع واحد مؤكَّد"),
    # and a campaign without signatures says "Be the first to sign": the number is
    # on the count box itself.
    return Page(client.get(f"/{lang}/c/{slug}")).one(class_="progress").attrs["data-count"]


@pytest.mark.parametrize("lang", LANGS)
def test_withdraw_link_from_the_email_takes_the_signature_off(web, session, slug, lang, deliver):
    confirm, withdraw = signed(web, slug, lang, deliver, visibility="full_name")
    assert post_form(web, confirm).status_code == 303
    assert shown_count(web, lang, slug) == "1"
    names = [e.text for e in Page(web.get(f"/{lang}/c/{slug}")).find("bdi")]
    assert TYPED[lang]["name"] in names

    page = Page(web.get(withdraw))
    assert page.status == 200 and page.h1 == t(lang, "Withdraw your signature")
    done = Page(post_form(web, withdraw))
    assert done.status == 200
    assert_language(done, lang)
    assert done.h1 == t(lang, "Your signature has been withdrawn")
    assert done.one("a", href=f"/{lang}/c/{slug}").text == t(lang, "Back to the campaign")

    assert counts(session, slug) == (0, 0)
    assert shown_count(web, lang, slug) == "0"
    campaign_page = Page(web.get(f"/{lang}/c/{slug}"))
    assert TYPED[lang]["name"] not in campaign_page.text
    [signature] = signatures(session)
    assert signature.state == SignatureState.withdrawn and signature.name == "" and signature.email is None


# --- Languages: `/`, the switcher, hreflang ---------------------------------------------------------------

ACCEPT_LANGUAGE = [
    ("ar", "ar"),
    ("en", "en"),
    ("en-GB,en;q=0.9", "en"),
    ("ar-EG,ar;q=0.9,en;q=0.8", "ar"),
    ("fr", "ar"),
    ("fr-FR,fr;q=0.9,de;q=0.8", "ar"),
    ("fr;q=1.0, en;q=0.5, ar;q=0.8", "ar"),
    ("fr, en;q=0.7, ar;q=0.3", "en"),
    ("ar;q=0.2, en", "en"),
    ("en;q=0, ar;q=0.1", "ar"),
    ("*", "ar"),
    (None, "ar"),
]


def test_root_redirects_by_accept_language(web, subtests):
    for header, lang in ACCEPT_LANGUAGE:
        with subtests.test(accept_language=header):
            response = web.get("/", headers={"Accept-Language": header} if header else {})
            assert response.status_code == 302
            assert response.location == f"/{lang}/"
            assert "Accept-Language" in response.headers["Vary"]


def assert_switches_language(page: Page, path: str, lang: str) -> None:
    """The switcher offers this very page in the other language, hreflang lists it
    in every language, and <html> says the language and direction."""
    assert_language(page, lang)
    other = OTHER[lang]
    switcher = page.one("nav", class_="language-switcher")
    assert switcher["aria-label"] == t(lang, "Language")
    [link] = [a for a in page.find("a", hreflang=other)]
    assert link["href"] == in_language(path, other)
    assert (link["lang"], link["dir"], link.text) == (other, DIRECTION[other], LANGUAGE_NAME[other])
    assert language_alternates(page) == {code: in_language(path, code) for code in LANGS}


def language_alternates(page) -> dict[str, str]:
    """The page in each language, as <link rel="alternate" hreflang> names it (other
    alternates, such as a campaign's oEmbed, name a type instead)."""
    return {e["hreflang"]: e["href"] for e in page.find("link", rel="alternate") if "hreflang" in e.attrs}


@pytest.mark.parametrize("lang", LANGS)
def test_every_public_page_links_to_itself_in_the_other_language(web, session, slug, lang, deliver):
    confirm, withdraw = signed(web, slug, lang, deliver)
    pages = {
        f"/{lang}/": 200,
        f"/{lang}/c/{slug}": 200,
        f"/{lang}/c/{slug}?ref=wa": 200,
        f"/{lang}/c/{slug}/check-email": 200,
        f"/{lang}/c/{slug}/check-email?resent=1": 200,
        f"/{lang}/c/{slug}/thanks?confirmed=1": 200,
        confirm: 200,
        withdraw: 200,
        f"/{lang}/erase": 200,
        f"/{lang}/erase/sent": 200,
        f"/{lang}/erase/done": 200,
        f"/{lang}/erase/not-a-token": 404,
        f"/{lang}/unsubscribe/not-a-token": 404,
        f"/{lang}/confirm/not-a-token": 404,
        f"/{lang}/withdraw/not-a-token": 404,
        f"/{lang}/c/no-such-campaign": 404,
    }
    for path, status in pages.items():
        page = Page(web.get(path))
        assert page.status == status, path
        assert_switches_language(page, path, lang)
        # Following the switcher lands on the same page in the other language.
        other = Page(web.get(in_language(path, OTHER[lang])))
        assert other.status == status, path
        assert_switches_language(other, in_language(path, OTHER[lang]), OTHER[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_switcher_after_a_failed_post_leads_to_a_page(web, slug, lang):
    failed = [
        post_sign(web, slug, lang, name=""),
        post_form(web, f"/{lang}/c/{slug}/resend", {"email": "nope"}),
    ]
    for response in failed:
        page = Page(response)
        assert page.status == 422
        link = page.one("a", hreflang=OTHER[lang])
        assert link["href"] == f"/{OTHER[lang]}/c/{slug}", "not the POST-only address (405)"
        assert language_alternates(page) == {
            code: f"/{code}/c/{slug}" for code in LANGS
        }
        assert web.get(link["href"]).status_code == 200


@pytest.mark.parametrize("lang", LANGS)
def test_query_string_cannot_break_the_switcher(web, slug, lang):
    path = f"/{lang}/c/{slug}?slug=other&lang_code=fr&endpoint=x&_external=1&_anchor=top&ref=wa"
    page = Page(web.get(path))
    assert page.status == 200
    assert page.one("a", hreflang=OTHER[lang])["href"] == f"/{OTHER[lang]}/c/{slug}?ref=wa"


# --- Not found ------------------------------------------------------------------------------------------

def assert_not_found(page: Page, lang: str) -> None:
    assert page.status == 404
    assert_language(page, lang)
    assert page.h1 == t(lang, "Page not found")
    assert t(lang, "See all campaigns") in link_texts(page, f"/{lang}/")


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_addresses_are_translated_404s(web, slug, lang, subtests):
    for path in ["/c/no-such-campaign", "/c/no-such-campaign/check-email", "/c/no-such-campaign/thanks",
                 "/c/%00", "/c/" + "x" * 3000, "/c/%D8%AD%D9%85%D9%84%D8%A9", "/no-such-page", "/c/"]:
        with subtests.test(path=path[:40]):
            assert_not_found(Page(web.get(f"/{lang}{path}")), lang)
    with subtests.test("wrong method"):
        page = Page(web.get(f"/{lang}/c/{slug}/sign"))
        assert page.status == 405
        assert_language(page, lang)
        assert page.h1 == t(lang, "Not allowed")


def test_unknown_language_prefixes_are_404s_in_the_visitors_language(web, slug, subtests):
    for accept, lang in [("en", "en"), ("ar", "ar"), ("fr, en;q=0.5", "en"), (None, "ar")]:
        headers = {"Accept-Language": accept} if accept else {}
        for prefix in ["fr", "xx", "EN", "ar-EG", "en_GB", "%D8%B9", "%00"]:
            for path in [f"/{prefix}/", f"/{prefix}/c/{slug}", f"/{prefix}/c/{slug}/check-email"]:
                with subtests.test(path=path, accept_language=accept):
                    assert_not_found(Page(web.get(path, headers=headers)), lang)


@pytest.mark.parametrize("lang", LANGS)
def test_draft_campaigns_are_404_to_the_public(web, session, make_campaign, slug, lang):
    draft = make_campaign(publish=False).slug
    for path in [f"/{lang}/c/{draft}", f"/{lang}/c/{draft}/check-email", f"/{lang}/c/{draft}/thanks"]:
        assert_not_found(Page(web.get(path)), lang)
    for headers in (SAME_ORIGIN, {}, CROSS_SITE[0]):
        assert_not_found(Page(post_sign(web, draft, lang, headers=headers)), lang)
    assert_not_found(Page(post_form(web, f"/{lang}/c/{draft}/resend", {"email": "layla@example.org"})), lang)
    assert not signatures(session)
    assert draft not in web.get(f"/{lang}/").get_data(as_text=True)


# --- Rate limits --------------------------------------------------------------------------------------------

@pytest.fixture(params=["memory", "redis"])
def limited_app(request, app, make_app, monkeypatch):
    """An app with the sign limit on, its counters in memory or in Redis (set the
    way production does: REDIS_URL). Asks for ``app`` first: every create_app()
    re-initialises the shared Flask-Limiter, and a later one would switch it off."""
    from campaign.extensions import limiter

    redis_client = None
    if request.param == "redis":
        redis_client = request.getfixturevalue("redis_store")
        monkeypatch.setenv("REDIS_URL", redis_client.url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="3 per minute", RATELIMIT_RESEND="3 per minute")
    expected = os.environ.get("REDIS_URL") or "memory://"
    assert limited.config["RATELIMIT_STORAGE_URI"] == expected
    with limited.app_context():
        limiter.reset()
        yield limited, redis_client


def test_signing_past_the_allowance_asks_for_the_check_and_resending_is_rate_limited(
        limited_app, make_campaign, session):
    """Past the allowance the form asks for the browser check, in the page's language
    (tests/test_crowds.py has the rest); resending links is refused with a 429."""
    app, redis_client = limited_app
    slug = make_campaign().slug
    client = new_client(app)
    for i in range(3):
        assert post_sign(client, slug, "en", email=f"signer{i}@example.org").status_code == 303
    for lang in LANGS:
        asked = post_sign(client, slug, lang, email=f"late-{lang}@example.org")
        assert asked.status_code == 200
        assert_language(Page(asked), lang)
        assert "<altcha-widget" in asked.get_data(as_text=True)
        assert t(lang, "Many people are signing from your connection right now (a family, a university or a "
                       "mobile network share one). To tell people from scripts, your browser does a short "
                       "automatic check, then sends your signature.") in Page(asked).text
    for _ in range(3):
        assert post_form(client, f"/en/c/{slug}/resend", {"email": "signer0@example.org"}).status_code == 303
    for lang in LANGS:
        refused = post_form(client, f"/{lang}/c/{slug}/resend", {"email": "signer0@example.org"})
        assert refused.status_code == 429
        page = Page(refused)
        assert_language(page, lang)
        assert page.h1 == t(lang, "Too many attempts")
        assert t(lang, "We received many requests from your connection in a short time. Please wait a few "
                       "minutes and try again. If you share a connection with others, one of them may have "
                       "signed just now.") in page.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert counts(session, slug) == (0, 3)

    # Another connection is not held back.
    other = new_client(app)
    other.environ_base["REMOTE_ADDR"] = "192.0.2.77"
    assert post_sign(other, slug, "ar", email="other@example.org").status_code == 303
    if redis_client is not None:
        assert redis_client.dbsize() > 0, "the counters live in Redis"


# --- Odd input -------------------------------------------------------------------------------------------------

ODD_ACCEPTED = [
    # (case, typed fields, name shown, comment shown)
    ("nul-in-name", {"name": "Lay\x00la Had\x00dad"}, "Layla Haddad", "Freedom"),
    ("nul-in-comment", {"comment": "free\x00dom"}, "Layla Haddad", "freedom"),
    ("rtl-override", {"name": "\u202eevil\u202c Haddad"}, "\u202eevil\u202c Haddad", "Freedom"),
    ("bidi-marks", {"name": "ليلى \u200fLayla\u200e حداد"}, "ليلى \u200fLayla\u200e حداد", "Freedom"),
    ("emoji", {"name": "✊🏽 Layla 🇵🇸", "comment": "💪🏾✌️"}, "✊🏽 Layla 🇵🇸", "💪🏾✌️"),
    ("html", {"name": "<script>alert(1)</script>", "comment": "<img src=x onerror=alert(1)>"},
     "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"),
    ("breaking-out", {"name": '"><svg onload=alert(1)>', "comment": "</bdi></blockquote><script>x()</script>"},
     '"><svg onload=alert(1)>', "</bdi></blockquote><script>x()</script>"),
    ("template-syntax", {"name": "{{ 7*7 }} {% raw %}", "comment": "%(max)d %s"}, "{{ 7*7 }} {% raw %}",
     "%(max)d %s"),
    ("long-odd-referral", {"name": "Rana", "ref": "<x>" * 1000}, "Rana", "Freedom"),
    ("arabic-address", {"name": "سلمى", "email": "سلمى@مثال.مصر"}, "سلمى", "Freedom"),
]

DANGEROUS = ["<script>alert(1)", "<img src=x", "<svg onload", "<script>x()", "</bdi></blockquote><script>"]


@pytest.mark.parametrize("lang", LANGS)
def test_odd_input_is_kept_whole_escaped_and_isolated(web, session, slug, lang, deliver, subtests):
    for n, (case, fields, name, comment) in enumerate(ODD_ACCEPTED):
        with subtests.test(case):
            typed = {"name": "Layla Haddad", "comment": "Freedom", "visibility": "full_name",
                     "email": f"signer{n}@example.org"} | fields
            confirm, _ = signed(web, slug, lang, deliver, **typed)
            assert post_form(web, confirm).status_code == 303

            page = Page(web.get(f"/{lang}/c/{slug}"))
            assert page.status == 200
            shown = [e.raw_text for e in page.find("bdi")]
            assert name in shown, "each name sits in its own <bdi>"
            assert comment in shown
            for markup in DANGEROUS:
                assert markup not in page.html
            assert "\x00" not in page.html
    assert counts(session, slug) == (len(ODD_ACCEPTED), 0)


ODD_REJECTED = [
    # (case, typed fields, field in error)
    ("very-long-name", {"name": "L" * 10_000}, "name"),
    ("very-long-comment", {"comment": "ب" * 20_000}, "comment"),
    ("very-long-address", {"email": "a" * 5_000 + "@example.org"}, "email"),
    ("only-nul-name", {"name": "\x00\x00"}, "name"),
    ("nul-in-address", {"email": "layla\x00@example.org"}, "email"),
    ("script-in-address", {"email": "<script>alert(1)</script>@example.org", "name": '"><script>alert(1)</script>'},
     "email"),
    ("script-as-country", {"country": "<img src=x>", "comment": "<img src=x onerror=alert(1)>"}, "country"),
    ("rtl-override-visibility", {"visibility": "\u202efull_name"}, "visibility"),
]


@pytest.mark.parametrize("lang", LANGS)
def test_odd_input_that_is_refused_is_shown_back_escaped(web, session, slug, lang, subtests):
    for case, fields, field in ODD_REJECTED:
        with subtests.test(case):
            response = post_sign(web, slug, lang, **fields)
            assert response.status_code == 422
            page = Page(response)
            assert_language(page, lang)
            assert [e["id"] for e in page.find(class_="field-error")] == [f"{field}-error"]
            for markup in DANGEROUS:
                assert markup not in page.html
            typed = dict(TYPED[lang], **fields)
            if field != "name":
                assert page.one("input", name="name")["value"] == typed["name"]
            if field != "comment":
                assert page.one("textarea", name="comment").raw_text.lstrip("\r\n") == typed["comment"]
            if field != "email":
                assert page.one("input", name="email")["value"] == typed["email"]
    assert not signatures(session)


@pytest.mark.parametrize("page", ["/ar/c/{slug}", "/ar/c/{slug}/check-email", "/ar/erase"])
def test_email_fields_are_left_to_right_on_arabic_pages(make_app, make_campaign, page):
    """An address is Latin text: in an RTL field 'layla@example.org' is shown as
    'example.org@layla' while typing, and the signer cannot check what they typed."""
    app = make_app()
    with app.app_context():
        slug = make_campaign().slug
    html = app.test_client().get(page.format(slug=slug)).get_data(as_text=True)
    [field] = re.findall(r'<input[^>]*type="email"[^>]*>', html)
    assert 'dir="ltr"' in field, field
    assert 'autocomplete="email"' in field, field
