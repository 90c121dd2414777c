"""Public pages any cache may keep (no cookie, Cache-Control, ETag, 304), rendered
once and served many times (the page cache), and counts without a hot row."""
from __future__ import annotations

import re
import threading
import time

import pytest
import sqlalchemy as sa

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import Campaign, CountChange
from campaign.extensions import db
from campaign.signatures import services
from campaign.signatures.models import Signature, Visibility
from campaign.signatures.services import SignInput
from tests.conftest import link_in
from tests.moderation_helpers import add_signature  # noqa: F401  (fixture)
from tests.fixtures.app import count_queries

LANGS = ["ar", "en"]


def public_paths(slug: str, lang: str) -> list[str]:
    return [f"/{lang}/", f"/{lang}/c/{slug}", f"/{lang}/c/{slug}?ref=wa", f"/{lang}/c/{slug}/check-email",
            f"/{lang}/c/{slug}/thanks"]


@pytest.mark.parametrize("lang", LANGS)
def test_public_pages_set_no_cookie_and_may_be_cached_by_anyone(client, make_campaign, lang):
    slug = make_campaign().slug
    for path in public_paths(slug, lang):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.headers.get("Vary", ""), path
        directives = {d.strip().split("=")[0]: d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert {"public", "max-age", "s-maxage", "stale-while-revalidate"} <= set(directives), path
        assert "no-store" not in directives and "private" not in directives, path
        etag = response.headers["ETag"]

        unchanged = client.get(path, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304, path
        assert unchanged.get_data() == b""
        assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_the_etag_changes_when_the_count_does(client, session, make_campaign, add_signature):
    campaign = make_campaign()
    path = f"/en/c/{campaign.slug}"
    before = client.get(path).headers["ETag"]
    add_signature(campaign)
    session.commit()
    after = client.get(path, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before


@pytest.fixture
def cached_app(make_app):
    """The app with the page cache on (the suite's other tests render every request)."""
    return make_app(PAGE_CACHE_SECONDS=1, VIEW_COUNT_FLUSH_SECONDS=60)



@pytest.mark.parametrize("lang", LANGS)
def test_a_cached_page_costs_no_query_and_still_carries_the_readers_channel(cached_app, make_campaign, lang):
    slug = make_campaign().slug
    client = cached_app.test_client()
    first = client.get(f"/{lang}/c/{slug}?ref=tg")
    assert first.status_code == 200
    statements, stop = count_queries(cached_app)
    try:
        again = client.get(f"/{lang}/c/{slug}?ref=wa")
        hostile = client.get(f"/{lang}/c/{slug}?ref=%22%3E%3Cscript%3E")
        plain = client.get(f"/{lang}/c/{slug}")
    finally:
        stop()
    assert statements == [], "a page cache hit reads nothing from the database"
    assert 'name="ref" type="hidden" value="wa"' in again.get_data(as_text=True)
    assert 'name="ref" type="hidden" value=""' in hostile.get_data(as_text=True)
    assert "<script>" not in hostile.get_data(as_text=True)
    assert 'name="ref" type="hidden" value=""' in plain.get_data(as_text=True)
    assert "__sawt_referral__" not in first.get_data(as_text=True) + again.get_data(as_text=True)
    # Nothing of the first reader's address is kept for the others: the language
    # switcher and the alternates name the page without their ?ref=tg.
    other = "en" if lang == "ar" else "ar"
    assert f'href="/{other}/c/{slug}"' in plain.get_data(as_text=True)
    assert "ref=tg" not in plain.get_data(as_text=True) + again.get_data(as_text=True)


def _headers_but_date(response) -> dict:
    return {k: v for k, v in response.headers.items() if k != "Date"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_page_kept_by_the_process_is_answered_as_flask_answers_it(cached_app, make_campaign, lang):
    """The second and later readers get the copy each process keeps (answered ahead
    of Flask): same body, same headers, the reader's own channel, 304 and HEAD."""
    from campaign.public_cache import _MEMORY

    slug = make_campaign().slug
    path = f"/{lang}/c/{slug}"
    client = cached_app.test_client()
    first = client.get(path)  # rendered by Flask, and kept
    assert path in cached_app.extensions[_MEMORY]
    statements, stop = count_queries(cached_app)
    try:
        again = client.get(path)
        shared = client.get(path + "?utm=x&ref=wa&ref=tg")
        unchanged = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        head = client.head(path + "?ref=wa")
        stale_etag = client.get(path, headers={"If-None-Match": '"other"'})
    finally:
        stop()
    assert statements == []
    assert again.get_data() == first.get_data() and _headers_but_date(again) == _headers_but_date(first)
    assert "Date" in again.headers and "Set-Cookie" not in again.headers
    assert 'name="ref" type="hidden" value="wa"' in shared.get_data(as_text=True)
    assert shared.headers["ETag"] == first.headers["ETag"][:-1] + '-wa"'
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"] and "Content-Type" not in unchanged.headers
    assert unchanged.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == shared.headers["Content-Length"]
    assert stale_etag.status_code == 200 and stale_etag.get_data() == first.get_data()
    # What Flask itself answers for the same requests.
    cached_app.extensions[_MEMORY].clear()
    assert client.get(path + "?utm=x&ref=wa&ref=tg").get_data() == shared.get_data()
    cached_app.extensions[_MEMORY].clear()
    assert _headers_but_date(client.head(path + "?ref=wa")) == _headers_but_date(head)


def test_views_answered_from_the_kept_page_are_counted(make_app, session, make_campaign):
    from campaign.dashboard.models import CampaignDailyView, ReferralDailyView

    app = make_app(PAGE_CACHE_SECONDS=60, VIEW_COUNT_FLUSH_SECONDS=0)
    campaign = make_campaign()
    client = app.test_client()
    for ref in ("", "wa", "wa", "", "%22%3E"):
        assert client.get(f"/en/c/{campaign.slug}?ref={ref}").status_code == 200
    client.get(f"/en/c/{campaign.slug}", headers={"User-Agent": "TelegramBot (like TwitterBot)"})
    client.head(f"/en/c/{campaign.slug}")
    session.expire_all()
    assert session.scalar(sa.select(CampaignDailyView.views)) == 5
    assert session.execute(sa.select(ReferralDailyView.referral, ReferralDailyView.views)).all() == [("wa", 2)]


def test_a_kept_page_is_never_older_than_the_page_cache_allows(make_app, make_campaign, add_signature, session):
    """A process keeps a page only for what is left of its time in the page cache,
    and at most one second: the count shown lags by PAGE_CACHE_SECONDS at most."""
    from campaign.public_cache import _MEMORY

    app = make_app(PAGE_CACHE_SECONDS=1)
    campaign = make_campaign()
    client = app.test_client()
    client.get(f"/en/c/{campaign.slug}")
    kept = app.extensions[_MEMORY][f"/en/c/{campaign.slug}"]
    assert kept.expires - time.monotonic() <= 1.0
    add_signature(campaign, verified=True)
    session.commit()
    time.sleep(1.05)
    assert '<strong class="count-number">1</strong>' in client.get(f"/en/c/{campaign.slug}").get_data(as_text=True)


def test_a_confirmed_signature_shows_on_the_cached_page_within_two_seconds(cached_app, make_campaign):
    from campaign.outbox.cli import run_worker

    slug = make_campaign().slug
    client = cached_app.test_client()
    assert client.get(f"/en/c/{slug}").status_code == 200  # now cached, count 0
    response = client.post(f"/en/c/{slug}/sign", headers={"Sec-Fetch-Site": "same-origin"}, data={
        "name": "Layla Haddad", "email": "layla@example.org", "country": "LB", "visibility": "initials"})
    assert response.status_code == 303
    with cached_app.app_context():
        run_worker(cached_app, once=True)
        message = _last_mail(cached_app)
    confirm = link_in(message, "/confirm/").removeprefix("http://sawt.test")
    assert client.post(confirm, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303
    confirmed_at = time.monotonic()
    while True:
        html = client.get(f"/en/c/{slug}").get_data(as_text=True)
        if '<strong class="count-number">1</strong>' in html:
            break
        assert time.monotonic() - confirmed_at < 2.0, "the cached page lags more than 2 seconds"
        time.sleep(0.1)


def _last_mail(app):
    import email
    from email import policy
    from pathlib import Path

    files = sorted(Path(app.config["MAIL_FILE_DIR"]).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return email.message_from_bytes(files[-1].read_bytes(), policy=policy.default)


def test_closing_a_campaign_shows_at_once_on_its_cached_page(cached_app, make_campaign, make_organiser):
    from tests.conftest import csrf_token, login

    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    client = cached_app.test_client()
    assert 'id="sign"' in client.get(f"/en/c/{campaign.slug}").get_data(as_text=True)
    with cached_app.test_request_context():
        login(client, owner)
    token = csrf_token(client, f"/en/manage/campaigns/{campaign.id}/")
    assert client.post(f"/en/manage/campaigns/{campaign.id}/close", data={"csrf_token": token}).status_code == 303
    anonymous = cached_app.test_client()
    assert 'id="sign"' not in anonymous.get(f"/en/c/{campaign.slug}").get_data(as_text=True)


# --- Counts without a hot row ------------------------------------------------------------------

def sign(session, campaign, email: str):
    signature, _ = services.sign(
        session, campaign,
        SignInput(name="Layla Haddad", email=email, country="LB", comment=None, visibility=Visibility.counted,
                  opt_in=False),
        locale="en", ip_key=None,
    )
    return signature


def test_folding_moves_counts_without_changing_them(session, make_campaign):
    campaign = make_campaign()
    for n in range(5):
        sign(session, campaign, f"s{n}@example.org")
    session.commit()
    before = (campaign.verified_count, campaign.pending_count)
    assert before == (0, 5)
    assert session.scalar(sa.select(sa.func.count()).select_from(CountChange)) == 5
    assert services.fold_counts(session) == 5
    session.commit()
    session.expire_all()
    campaign = session.get(Campaign, campaign.id)
    assert (campaign.verified_count, campaign.pending_count) == before
    assert (campaign.verified_folded, campaign.pending_folded) == before
    assert services.fold_counts(session) == 0
    assert services.reconcile_counts(session) == []


def test_signers_of_one_campaign_do_not_wait_for_each_other(app, session, make_campaign, backend):
    """Before, every signature updated the campaign row, so on PostgreSQL a signer
    waited until the previous signer's transaction ended. Now one signer's open
    transaction does not hold up the next."""
    campaign = make_campaign()
    campaign_id = campaign.id
    session.commit()
    statements, stop = count_queries(app)
    try:
        sign(session, campaign, "probe@example.org")
    finally:
        stop()
    session.rollback()
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE CAMPAIGNS")], statements
    if backend == "sqlite":
        return  # SQLite has one writer at a time by design: no row locks to queue on
    sign(session, campaign, "first@example.org")  # flushed, not committed: its locks are held
    done = threading.Event()
    errors: list[Exception] = []

    def second_signer():
        with app.app_context():
            try:
                db.session.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
                sign(db.session, db.session.get(Campaign, campaign_id), "second@example.org")
                db.session.commit()
                done.set()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=second_signer)
    thread.start()
    finished = done.wait(timeout=5)
    session.commit()
    thread.join(timeout=10)
    assert not errors, errors
    assert finished, "the second signer waited for the first one's transaction"
    session.expire_all()
    assert session.get(Campaign, campaign_id).pending_count == 2


def test_32_signers_at_once_on_one_campaign_are_counted_exactly(app, session, make_campaign):
    campaign = make_campaign()
    campaign_id = campaign.id
    barrier = threading.Barrier(32)
    errors: list[Exception] = []

    def signer(n: int):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                sign(db.session, db.session.get(Campaign, campaign_id), f"crowd{n}@example.org")
                db.session.commit()
                if n % 8 == 0:
                    services.fold_counts(db.session)
                    db.session.commit()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=signer, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    session.expire_all()
    counted = session.get(Campaign, campaign_id)
    rows = session.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.campaign_id == campaign_id))
    assert rows == 32
    assert (counted.verified_count, counted.pending_count) == (0, 32)
    services.fold_counts(session)
    session.commit()
    assert services.reconcile_counts(session) == []


def test_the_country_breakdown_is_counted_once_per_its_interval(make_app, session, make_campaign, add_signature):
    """Even with the page cache off, the signers-by-country table (a GROUP BY over
    every confirmed signature) is counted once per PUBLIC_BREAKDOWN_SECONDS."""
    app = make_app(PUBLIC_BREAKDOWN_SECONDS=60, PUBLIC_BREAKDOWN_MIN=1)
    campaign = make_campaign()
    add_signature(campaign, country="LB", visibility=Visibility.counted)
    session.commit()
    client = app.test_client()

    def table() -> str:
        html = client.get(f"/en/c/{campaign.slug}").get_data(as_text=True)
        assert f'<strong class="count-number">{campaign.verified_count}</strong>' in html, "the count is live"
        return re.search(r'<table class="breakdown">.*?</table>', html, re.DOTALL).group(0)

    assert "Lebanon" in table()
    add_signature(campaign, country="EG", visibility=Visibility.counted)
    session.commit()
    statements, stop = count_queries(app)
    try:
        assert "Egypt" not in table()
    finally:
        stop()
    assert not [s for s in statements if "GROUP BY signatures.country" in s]
    app.config["PUBLIC_BREAKDOWN_SECONDS"] = 0
    assert "Egypt" in table()
