"""Privacy promises, checked through the test client where HTTP is involved: no raw
client address stored or logged, the daily address key, headers and cookies, what
the e-mails contain, the same answer for new and known addresses, small country
cells hidden, and nothing loaded from other hosts."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import re
import secrets
import threading
from html.parser import HTMLParser
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa
from babel import Locale
from flask_babel import force_locale, gettext
from werkzeug.serving import make_server

from campaign.campaigns import services as campaigns
from campaign.extensions import db
from campaign.jobs import run_due_jobs
from campaign.i18n import format_number
from campaign.outbox.models import OutboxMessage
from campaign.privacy.keys import ip_key, utcnow
from campaign.privacy.models import DailyKey
from campaign.signatures.models import Signature
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.web import csrf_token
from tests.test_signing_flow import sign
from tests.fixtures.signatures import take_signatures

PUBLIC_HOST = "sawt.test"  # the tests' PUBLIC_URL
TITLES = ("Set them free", "أطلقوا سراحهم")  # make_campaign's titles
DAY = dt.timedelta(days=1)


def everything_stored(session) -> str:
    """Every value in every row of every table, as one lower-case text."""
    session.rollback()  # end any snapshot: see what the requests committed
    parts = []
    for table in db.metadata.sorted_tables:
        for row in session.execute(sa.select(table)):
            for value in row:
                if isinstance(value, bytes):
                    continue  # LargeBinary columns hold random secrets only
                if isinstance(value, (dict, list)):
                    value = json.dumps(value, ensure_ascii=False)
                parts.append(str(value))
    return "\n".join(parts).lower()


def written_forms(address: str) -> set[str]:
    """The ways an address could be written down (compressed, exploded), lower-case."""
    ip = ipaddress.ip_address(address)
    return {address.lower(), ip.compressed.lower(), ip.exploded.lower()}


def confirm(client, message) -> None:
    """Press the confirmation button of a delivered confirmation e-mail."""
    path = urlsplit(link_in(message, "/confirm/")).path
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303


def stored_ip_keys(session) -> list[str | None]:
    session.rollback()
    take_signatures()
    return list(session.scalars(sa.select(Signature.ip_key).order_by(Signature.id)))


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog


# --- Client addresses ---------------------------------------------------------------

# (TRUSTED_PROXIES, REMOTE_ADDR, X-Forwarded-For, the address the app should key)
ADDRESSES = [
    pytest.param(0, "203.0.113.77", None, "203.0.113.77", id="direct-ipv4"),
    pytest.param(0, "2001:db8:5a7::beef", None, "2001:db8:5a7::beef", id="direct-ipv6"),
    pytest.param(0, "203.0.113.77", "198.51.100.9", "203.0.113.77", id="no-proxy-ignores-xff"),
    pytest.param(0, "2001:db8:5a7::beef", "2001:db8:bad::1", "2001:db8:5a7::beef", id="no-proxy-ignores-xff-ipv6"),
    pytest.param(1, "198.51.100.23", "203.0.113.77", "203.0.113.77", id="one-proxy-ipv4"),
    pytest.param(1, "2001:db8:fe::1", "2001:db8:5a7::beef", "2001:db8:5a7::beef", id="one-proxy-ipv6"),
    # A client may send its own X-Forwarded-For; the proxy appends the real hop.
    pytest.param(1, "198.51.100.23", "192.0.2.66, 2001:db8:5a7::beef", "2001:db8:5a7::beef", id="one-proxy-spoofed"),
]


def addresses_in(remote: str, forwarded: str | None) -> list[str]:
    return [remote] + [part.strip() for part in (forwarded or "").split(",") if part.strip()]


def sign_from(make_app, slug: str, proxies: int, remote: str, forwarded: str | None, **fields):
    """A fresh app with TRUSTED_PROXIES=proxies and a client that comes from
    ``remote`` (through X-Forwarded-For ``forwarded``); signs and returns the client."""
    web = make_app(TRUSTED_PROXIES=proxies)
    client = web.test_client()
    client.environ_base["REMOTE_ADDR"] = remote
    if forwarded:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    assert sign(client, slug, **fields).status_code == 303
    return client


@pytest.mark.parametrize("proxies, remote, forwarded, client_address", ADDRESSES)
def test_no_raw_address_is_stored_or_logged(make_app, session, make_campaign, deliver, logs,
                                            proxies, remote, forwarded, client_address):
    slug = make_campaign().slug
    client = sign_from(make_app, slug, proxies, remote, forwarded, name="Nour Saleh", email="nour@example.org")
    resent = client.post(f"/en/c/{slug}/resend", data={
        "csrf_token": csrf_token(client, f"/en/c/{slug}/check-email"), "email": "nour@example.org"})
    assert resent.status_code == 303
    queued = everything_stored(session)  # the outbox still holds the rendered mails
    [mail] = deliver()  # asking again within minutes is a repeat: one mail, the same link
    confirm(client, mail)
    sign(client, slug, name="Nour Saleh", email="nour+again@example.org")  # already signed
    deliver()

    stored = everything_stored(session)
    assert "nour saleh" in queued and "nour@example.org" in queued, "the dump sees the signature"
    [key] = stored_ip_keys(session)
    assert key, "an address key was stored"
    for address in addresses_in(remote, forwarded):
        for form in written_forms(address):
            assert form not in queued, f"{form} stored while mail was queued"
            assert form not in stored, f"{form} stored"
            assert form not in logs.text.lower(), f"{form} logged"


@pytest.mark.parametrize("proxies, remote, forwarded, client_address", ADDRESSES)
def test_address_key_follows_the_trusted_proxies(make_app, session, make_campaign,
                                                 proxies, remote, forwarded, client_address):
    slug = make_campaign().slug
    sign_from(make_app, slug, proxies, remote, forwarded)
    [key] = stored_ip_keys(session)
    assert key == ip_key(client_address)
    for other in set(addresses_in(remote, forwarded)) - {client_address}:
        assert key != ip_key(other)


def test_the_request_log_shows_no_client_address(make_app, session, make_campaign, logs):
    """A real server (werkzeug's, whose access log names the client) behind one
    trusted proxy: the log line is written, with the address redacted."""
    slug = make_campaign().slug
    web = make_app(TRUSTED_PROXIES=1)
    server = make_server("127.0.0.1", 0, web)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    headers = {"X-Forwarded-For": "203.0.113.77"}
    try:
        with requests.Session() as http:
            http.get(f"{base}/en/c/{slug}", headers=headers, timeout=10)
            response = http.post(
                f"{base}/en/c/{slug}/sign", headers=headers, allow_redirects=False, timeout=10,
                data={"name": "Layla Haddad", "email": "layla@example.org",
                      "country": "LB", "visibility": "initials"},
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert response.status_code == 303
    assert stored_ip_keys(session) == [ip_key("203.0.113.77")]
    access = [r.getMessage() for r in logs.records if r.name == "werkzeug"]
    assert any(f"POST /en/c/{slug}/sign" in line and "[ip]" in line for line in access), access
    assert "203.0.113.77" not in logs.text and "127.0.0.1" not in logs.text
    assert "layla@example.org" not in logs.text


def test_rate_limit_counters_and_their_log_hold_no_raw_address(app, make_app, make_campaign, monkeypatch, logs,
                                                                redis_store):
    """The limiter's counters (in Redis, as in production) and its "exceeded" log line
    are keyed by the hashed address."""
    store = redis_store
    monkeypatch.setenv("REDIS_URL", store.url)
    slug = make_campaign().slug
    # Made last: every create_app() re-initialises the shared limiter.
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN="2 per minute", RATELIMIT_RESEND="1 per minute",
                       TRUSTED_PROXIES=1)
    client = limited.test_client()
    client.environ_base.update(REMOTE_ADDR="198.51.100.23", HTTP_X_FORWARDED_FOR="2001:db8:5a7::beef")
    statuses = [sign(client, slug, email=f"signer{n}@example.org").status_code for n in range(3)]
    # Signing is never refused for its rate: the third is asked for the browser check.
    statuses += [client.post(f"/en/c/{slug}/resend", data={"email": "signer0@example.org"}).status_code
                 for _ in range(2)]
    stored = "\n".join(f"{key!r} {store.dump(key)!r}" for key in store.scan_iter()).lower()
    assert statuses == [303, 303, 200, 303, 429]
    assert ip_key("2001:db8:5a7::beef") in stored, "the counter is keyed by the hashed address"
    assert "exceeded" in logs.text
    for address in ("198.51.100.23", "2001:db8:5a7::beef"):
        for form in written_forms(address):
            assert form not in stored and form not in logs.text.lower(), form


# --- Daily address keys ---------------------------------------------------------------

def test_the_address_key_changes_every_day(app):
    today = utcnow().date()
    assert ip_key("203.0.113.77") == ip_key("203.0.113.77", day=today)
    assert ip_key("203.0.113.77", day=today) != ip_key("203.0.113.77", day=today - DAY)
    assert ip_key("203.0.113.77", day=today) != ip_key("203.0.113.78", day=today)
    assert len(ip_key("203.0.113.77")) == 32


def test_the_worker_s_job_discards_keys_older_than_yesterday(app, session):
    today = utcnow().date()
    ip_key("203.0.113.77", day=today - DAY)
    ip_key("203.0.113.77", day=today)
    old = {today - n * DAY: secrets.token_bytes(32) for n in (2, 3, 10)}
    for day, secret in old.items():
        session.add(DailyKey(day=day, secret=secret))
    session.commit()
    before = {day: ip_key("203.0.113.77", day=day) for day in old}  # the keys were in use

    assert run_due_jobs(app, session, {}, now=0.0)["privacy.discard_old_keys"] == 3
    assert set(session.scalars(sa.select(DailyKey.day))) == {today - DAY, today}
    cached = app.extensions.get("sawt_daily_keys", {})
    assert not set(old) & set(cached), "a discarded key must not live on in memory"
    assert not set(old.values()) & set(cached.values())
    assert len(set(before.values())) == 3


def test_the_first_signature_of_a_day_discards_old_keys(make_app, session, make_campaign):
    """Even before the worker's housekeeping runs, making today's key deletes the day
    before yesterday's: a key lives at most 48 hours past its day's start."""
    slug = make_campaign().slug
    today = utcnow().date()
    session.execute(sa.delete(DailyKey))
    for n in (1, 2, 3):
        session.add(DailyKey(day=today - n * DAY, secret=secrets.token_bytes(32)))
    session.commit()
    sign_from(make_app, slug, 0, "203.0.113.77", None)
    session.rollback()
    assert set(session.scalars(sa.select(DailyKey.day))) == {today - DAY, today}


# --- Headers and cookies ---------------------------------------------------------------

def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def public_pages(slug: str, lang: str) -> list[str]:
    return [f"/{lang}/", f"/{lang}/c/{slug}", f"/{lang}/c/{slug}/check-email", f"/{lang}/c/{slug}/thanks",
            f"/{lang}/confirm/no-such-token", f"/{lang}/c/no-such-campaign"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_public_pages_send_security_headers(make_app, make_campaign, lang):
    slug = make_campaign().slug
    client = make_app().test_client()
    for path in ["/"] + public_pages(slug, lang):
        response = client.get(path)
        assert response.status_code in (200, 302, 404), path
        csp = csp_directives(response)
        policy = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        assert csp["frame-ancestors"] == "'none'", path
        assert csp["default-src"] == csp["script-src"] == csp["style-src"] == "'self'", path
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


def test_no_page_may_be_framed_by_other_sites(make_app, make_campaign):
    """Every GET route, as an anonymous visitor. There are no embed or counter
    endpoints yet; when they come, they (and only they) relax frame-ancestors."""
    campaign = make_campaign()
    web = make_app()
    client = web.test_client()
    values = {"lang_code": "en", "slug": campaign.slug, "token": "no-such-token", "campaign_id": campaign.id,
              "update_id": 1, "organisation_id": 1, "signatory_id": 1, "filename": "css/sawt.css",
              "target_id": 1}
    checked = 0
    for rule in web.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = rule.build({k: values[k] for k in rule.arguments})[1]
        with client.get(path) as response:
            assert response.status_code < 500, path
            framing = csp_directives(response)["frame-ancestors"]
            if rule.endpoint.startswith("embed"):
                assert framing != "'none'" and "X-Frame-Options" not in response.headers, path
            else:
                assert framing == "'none'" and response.headers["X-Frame-Options"] == "DENY", path
        checked += 1
    assert checked > 30


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_no_public_page_sets_a_cookie_only_the_workspace_does(make_app, session, make_campaign, lang):
    open_slug = make_campaign().slug
    closed = make_campaign()
    campaigns.close(session, None, closed)
    session.commit()
    web = make_app()
    client = web.test_client()

    for path in ("/", f"/{lang}/", f"/{lang}/c/{open_slug}", f"/{lang}/c/{closed.slug}",
                 f"/{lang}/c/{open_slug}/check-email", f"/{lang}/c/{open_slug}/thanks", f"/{lang}/erase",
                 f"/{lang}/erase/sent", f"/{lang}/confirm/{'A' * 43}", f"/{lang}/withdraw/{'A' * 43}",
                 f"/{lang}/unsubscribe/{'A' * 43}", f"/{lang}/erase/{'A' * 43}", "/static/css/sawt.css"):
        with client.get(path) as response:
            assert set_cookies(response) == [], path
            assert "Cookie" not in response.headers.get("Vary", ""), path

    # The workspace's forms carry a token bound to a session cookie.
    [cookie] = set_cookies(client.get(f"/{lang}/manage/login"))
    name, _, value = cookie.split(";")[0].partition("=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert name == "sawt_session"
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert not any(a.startswith(("expires", "max-age")) for a in attributes), "a session cookie, not a stored one"
    content = web.session_interface.get_signing_serializer(web).loads(value)
    assert set(content) == {"csrf_token"}

    # The same visitor again: nothing new is set.
    assert set_cookies(client.get(f"/{lang}/manage/login")) == []


def test_secure_cookie_and_hsts_when_served_over_https(make_app, make_campaign):
    slug = make_campaign().slug
    client = make_app(SESSION_COOKIE_SECURE=True).test_client()
    assert "max-age=" in client.get(f"/en/c/{slug}").headers["Strict-Transport-Security"]
    response = client.get("/en/manage/login")
    [cookie] = set_cookies(response)
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


# --- The e-mails ---------------------------------------------------------------------

class Links(HTMLParser):
    """Every tag and every URL-bearing attribute of an HTML document."""

    URL_ATTRIBUTES: ClassVar[set[str]] = {"href", "src", "srcset", "action", "formaction", "poster", "data", "background", "cite"}

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.anchors: list[dict[str, str]] = []
        self.inline: list[str] = []  # inline scripts and styles (the CSP blocks them)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for attribute, value in attrs.items():
            if attribute in self.URL_ATTRIBUTES:
                for url in (value.split(",") if attribute == "srcset" else [value]):
                    self.urls.append((tag, attribute, url.strip().split(" ")[0]))
            if attribute == "style":
                self.urls += [(tag, "style", u) for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", value)]
            if attribute.startswith("on"):
                self.inline.append(f"{tag} {attribute}")
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            self.urls.append((tag, "content", attrs.get("content", "").partition("url=")[2]))
        if tag == "a":
            self.anchors.append(attrs)
        if tag == "script" and not attrs.get("src"):
            self.inline.append("script")
        if tag == "style":
            self.inline.append("style")


def host_of(url: str) -> str | None:
    """The host a URL points at, or None for a relative one."""
    parts = urlsplit(url)
    return parts.hostname if parts.netloc else None


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_mails_name_no_campaign_in_the_subject_and_link_only_to_us(make_app, make_campaign, deliver, lang):
    slug = make_campaign().slug
    client = make_app().test_client()
    sign(client, slug, lang)
    age_outbox()  # asked again later, so the link is mailed again (within minutes it would not be)
    client.post(f"/{lang}/c/{slug}/resend", data={"csrf_token": csrf_token(client, f"/{lang}/c/{slug}/check-email"),
                                                   "email": "layla@example.org"})
    confirmation, resent = deliver()
    confirm(client, resent)  # the same link as in the first mail
    sign(client, slug, lang)
    [already] = deliver()
    assert "/confirm/" in body_text(confirmation) and "/confirm/" in body_text(resent)
    assert "/withdraw/" in body_text(already) and "/confirm/" not in body_text(already)

    for message in (confirmation, resent, already):
        subject = message["Subject"]
        assert subject.strip()
        assert not any(title.casefold() in subject.casefold() for title in TITLES), subject
        assert slug not in subject
        html = message.get_body(preferencelist=("html",)).get_content()
        links = Links(html)
        assert "img" not in links.tags and "picture" not in links.tags, "no tracking pixels"
        assert not {"script", "link", "iframe", "object", "embed"} & set(links.tags)
        assert links.urls, "the mail links back to us"
        for tag, attribute, url in links.urls:
            assert urlsplit(url).scheme == "http" and host_of(url) == PUBLIC_HOST, (tag, attribute, url)
        for url in re.findall(r"https?://[^\s<>\"']+", body_text(message)):
            assert host_of(url) == PUBLIC_HOST, url


# --- The same answer whatever the address ------------------------------------------------

def age_outbox(hours: int = 1) -> None:
    """Let time pass for the mails queued so far (a link asked for again within
    minutes is a repeat and is not mailed again)."""
    db.session.execute(sa.update(OutboxMessage).values(created_at=utcnow() - dt.timedelta(hours=hours)))
    db.session.commit()


def scrub_token(html: str) -> str:
    return re.sub(r'(name="csrf_token" type="hidden" value=")[^"]+"', r'\1…"', html)


def test_signing_answers_the_same_for_new_and_known_addresses(make_app, make_campaign, deliver):
    slug = make_campaign().slug
    web = make_app()

    def attempt(email: str):
        client = web.test_client()  # a new visitor each time: nothing carried over
        response = sign(client, slug, email=email)
        follow = client.get(response.headers["Location"])
        return response, follow

    first = attempt("layla@example.org")  # new
    pending_again = attempt("LAYLA@example.org")  # known, not yet confirmed
    [fresh_link] = deliver()  # the repeat within minutes is not mailed again
    confirm(web.test_client(), fresh_link)
    confirmed_again = attempt("layla+x@example.org")  # known and confirmed
    other_new = attempt("sami@example.org")  # another new one

    # The known address's mail is written by the worker (after the task the sign
    # form queued for it), so it may go after the new signer's.
    already, new = sorted(deliver(), key=lambda mail: mail["To"] != "layla+x@example.org")
    assert "already signed" in body_text(already), "the known address was recognised"
    assert new["To"] == "sami@example.org" and "/confirm/" in body_text(new)

    def headers(response):
        # Date is the clock (every server sends it), not the answer.
        return sorted((k, v) for k, v in response.headers.items() if k != "Date")

    def shape(pair):
        response, follow = pair
        return (response.status_code, headers(response), response.get_data(),
                follow.status_code, headers(follow), scrub_token(follow.get_data(as_text=True)))

    assert shape(first) == shape(pending_again) == shape(confirmed_again) == shape(other_new)


@pytest.mark.parametrize("state", ["pending", "verified"])
def test_asking_for_a_new_link_does_the_same_work_for_unknown_addresses(make_app, make_campaign, deliver, state):
    """"Send the link again" answers with the same page for any address; rendering the
    mail only for addresses that signed made the answer ~3 ms slower for them, enough
    to tell, over repeated requests, who signed a campaign. The request now only queues
    a task, whatever the address, and renders nothing; the worker mails the owner."""
    from flask import template_rendered

    web = make_app()
    with web.app_context():
        slug = make_campaign().slug
    client = web.test_client()
    sign(client, slug, "en", email="layla@example.org")
    if state == "verified":
        confirm(web.test_client(), deliver()[0])
    else:
        deliver()
    age_outbox()

    rendered: list[str] = []

    def record(sender, template, context, **extra):
        if template.name.startswith("email/"):
            rendered.append(template.name)

    def ask(address: str) -> tuple[list[str], int]:
        rendered.clear()
        with template_rendered.connected_to(record, web):
            response = client.post(f"/en/c/{slug}/resend", data={
                "csrf_token": csrf_token(client, f"/en/c/{slug}/check-email"), "email": address})
        assert response.status_code == 303
        return sorted(rendered), len(deliver())

    known_templates, known_mails = ask("layla@example.org")
    unknown_templates, unknown_mails = ask("nobody@example.org")
    assert (known_mails, unknown_mails) == (1, 0)
    assert known_templates == unknown_templates == [], "nothing is rendered inside the request"


# --- Country breakdown ------------------------------------------------------------------

def breakdown_rows(html: str) -> list[tuple[str, str]] | None:
    """The public country table as (country, count) rows; None when not shown."""
    table = re.search(r'<table class="breakdown">(.*?)</table>', html, re.DOTALL)
    if table is None:
        return None
    return re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(1))


@pytest.mark.parametrize("per_country, shown", [
    # Egypt's 9 alone would single people out: not shown, not even as "other".
    ({"LB": 12, "EG": 9}, [("LB", 12)]),
    # Small countries together reach the threshold: one "other" cell.
    ({"LB": 12, "EG": 6, "JO": 4}, [("LB", 12), ("other", 10)]),
    ({"LB": 10, "SY": 11}, [("SY", 11), ("LB", 10)]),
    # Everything small but enough together: only the "other" cell.
    ({"LB": 9, "EG": 3}, [("other", 12)]),
    # Everything small, and too few even together: no table at all.
    ({"LB": 5, "EG": 3}, None),
])
def test_public_country_breakdown_hides_cells_under_ten(make_app, session, make_campaign, add_signature,
                                                        per_country, shown):
    campaign = make_campaign()
    for country, count in per_country.items():
        for _ in range(count):
            add_signature(campaign, country=country)
    add_signature(campaign, country="EG", verified=False)  # unconfirmed: not counted
    session.commit()
    assert campaign.verified_count == sum(per_country.values())

    client = make_app().test_client()
    for lang in ("ar", "en"):
        html = client.get(f"/{lang}/c/{campaign.slug}").get_data(as_text=True)
        with force_locale(lang):
            other = gettext("Other countries")
        names = Locale.parse(lang).territories
        expected = None if shown is None else [
            (other if code == "other" else names[code], format_number(count, lang=lang)) for code, count in shown
        ]
        assert breakdown_rows(html) == expected, lang
        table = re.search(r'<table class="breakdown">.*?</table>', html, re.DOTALL)
        for code in set(per_country) - {code for code, _ in shown or []}:
            assert not table or names[code] not in table.group(0), f"{code} has under ten and is shown"


# --- Nothing from other hosts -------------------------------------------------------------

SHARE_HOSTS = {"wa.me", "t.me", "x.com", "www.facebook.com", "bsky.app"}


def walk_signing_loop(client, slug: str, lang: str, deliver) -> dict[str, str]:
    """Visit every public page of the signing loop once; returns {path: html}."""
    pages = {}

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code in (200, 404, 410), (path, response.status_code)
        pages[path] = response.get_data(as_text=True)

    for path in (f"/{lang}/", f"/{lang}/c/{slug}", f"/{lang}/c/no-such-campaign",
                 f"/{lang}/confirm/no-such-token"):
        get(path)
    response = sign(client, slug, lang, email=f"walk-{lang}@example.org")
    get(urlsplit(response.headers["Location"]).path)
    [message] = deliver()
    confirm_path = urlsplit(link_in(message, "/confirm/")).path
    get(confirm_path)
    confirm(client, message)
    get(f"/{lang}/c/{slug}/thanks?confirmed=1")
    withdraw_path = urlsplit(link_in(message, "/withdraw/")).path
    get(withdraw_path)
    done = client.post(withdraw_path, data={"csrf_token": csrf_token(client, withdraw_path)})
    pages[withdraw_path + " (done)"] = done.get_data(as_text=True)
    invalid_form = client.post(f"/{lang}/c/{slug}/sign", data={"csrf_token": csrf_token(client, f"/{lang}/c/{slug}")})
    assert invalid_form.status_code == 422
    pages[f"/{lang}/c/{slug}/sign (errors)"] = invalid_form.get_data(as_text=True)
    return pages


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_pages_load_nothing_from_other_hosts(make_app, make_campaign, deliver, lang):
    slug = make_campaign().slug
    client = make_app().test_client()
    pages = walk_signing_loop(client, slug, lang, deliver)
    assets: set[str] = set()
    share_links = 0
    for path, html in pages.items():
        links = Links(html)
        assert links.inline == [], f"{path}: inline script or style (blocked by the CSP)"
        assert not {"iframe", "object", "embed"} & set(links.tags), path
        for tag, attribute, url in links.urls:
            host = host_of(url)
            if tag == "a" and attribute == "href":
                continue  # links are followed only if clicked; checked below
            assert host in (None, "localhost", PUBLIC_HOST), f"{path}: <{tag} {attribute}={url}>"
            asset = urlsplit(urljoin(path, url)).path
            if tag in ("link", "script") and host is None and asset.startswith("/static/"):
                assets.add(asset)
        for anchor in links.anchors:
            href = anchor.get("href", "")
            if href.startswith("mailto:") or host_of(href) in (None, "localhost", PUBLIC_HOST):
                continue
            assert host_of(href) in SHARE_HOSTS, f"{path}: link to {href}"
            assert "noreferrer" in anchor.get("rel", "").split(), f"{path}: share link without noreferrer"
            share_links += 1
    # Five networks (and e-mail) in the share panel of the campaign page, each time the
    # walk shows it, and of the thanks page.
    assert share_links and share_links % 5 == 0, "the campaign and thanks pages offer the share links"

    # Served under content-hashed names (campaign/static_files.py).
    plain = {re.sub(r"-[0-9a-f]{32}(\.\w+)$", r"\1", asset) for asset in assets}
    assert {"/static/css/sawt.css", "/static/vendor/fonts.css", "/static/js/sawt.js"} <= plain
    for asset in assets:
        with client.get(asset) as response:
            text = response.get_data(as_text=True)
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(r"@import\s+['\"]([^'\"]+)", text):
            assert host_of(url) is None, f"{asset}: {url}"
        assert not re.search(r"""["'`](?:https?:)?//""", text), f"{asset} names another host"
