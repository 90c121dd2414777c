"""The public JSON API: /api/v1 — campaigns, counts, signed snapshots; open to every
origin, cacheable by anyone, and silent about signers."""
from __future__ import annotations

import datetime as dt
import time
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from campaign import create_app
from campaign.campaigns import services as campaigns
from campaign.campaigns.models import Campaign, CampaignState
from campaign.extensions import db
from campaign.organiser.models import Organisation
from campaign.privacy.keys import utcnow
from tests.fixtures.app import count_queries

LANGS = ["ar", "en"]


def read_paths(slug: str) -> list[str]:
    """Every read of the API about one campaign, and about the API itself."""
    return ["/api/v1/campaigns", f"/api/v1/campaigns/{slug}", f"/api/v1/campaigns/{slug}/count",
            f"/api/v1/campaigns/{slug}/snapshot", "/api/v1/keys", "/api/v1/openapi.json"]


def test_the_count_is_exact_open_to_every_origin_and_cacheable(client, session, make_campaign, add_signature):
    campaign = make_campaign(goal=500)
    add_signature(campaign)
    add_signature(campaign, verified=False)
    session.commit()

    response = client.get(f"/api/v1/campaigns/{campaign.slug}/count")

    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("slug", "state", "verified", "pending", "goal")} == {
        "slug": campaign.slug, "state": "published", "verified": 1, "pending": 1, "goal": 500}
    assert body["as_of"].endswith("Z")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")
    again = client.get(f"/api/v1/campaigns/{campaign.slug}/count", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code in (200, 304)  # as_of moves with the second


def test_a_draft_or_unknown_campaign_is_a_json_404(client, make_campaign):
    draft = make_campaign(publish=False)
    for slug in (draft.slug, "no-such-campaign", "nul%00"):
        for path in (f"/api/v1/campaigns/{slug}", f"/api/v1/campaigns/{slug}/count",
                     f"/api/v1/campaigns/{slug}/snapshot"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.get_json() == {"error": "not_found", "status": 404}
            assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_addresses_no_view_answers_are_json_errors_too(client):
    for path in ("/api/v1", "/api/v1/nothing", "/api/v1/campaigns/a/b/c", "/api/v1/campaigns/a%2Fb"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json() == {"error": "not_found", "status": 404}, path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    refused = client.post("/api/v1/campaigns", data={"slug": "x"})
    assert refused.status_code == 405
    assert refused.get_json() == {"error": "method_not_allowed", "status": 405}
    assert set(refused.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_a_draft_archived_without_ever_being_published_never_becomes_public(client, session, make_campaign):
    draft = make_campaign(publish=False)
    campaigns.archive(session, None, draft)
    session.commit()
    assert client.get(f"/en/c/{draft.slug}").status_code == 404
    assert client.get(f"/api/v1/campaigns/{draft.slug}").status_code == 404
    assert client.get(f"/api/v1/campaigns/{draft.slug}/count").status_code == 404
    assert client.get("/api/v1/campaigns").get_json()["campaigns"] == []


# --- the list ---

def _publish_at(session, campaign: Campaign, moment: dt.datetime) -> None:
    campaign.published_at = moment
    session.commit()


def test_the_list_has_public_campaigns_only_newest_first_with_a_state_filter(client, session, make_campaign):
    draft = make_campaign(publish=False)
    open_one = make_campaign()
    closed = make_campaign()
    archived = make_campaign()
    campaigns.close(session, None, closed)
    campaigns.close(session, None, archived)
    campaigns.archive(session, None, archived)
    base = utcnow() - dt.timedelta(days=3)
    for days, campaign in enumerate((archived, closed, open_one)):
        _publish_at(session, campaign, base + dt.timedelta(days=days))

    body = client.get("/api/v1/campaigns").get_json()
    assert [c["slug"] for c in body["campaigns"]] == [open_one.slug, closed.slug, archived.slug]
    assert draft.slug not in str(body)
    assert body["next"] is None and body["next_cursor"] is None
    assert [c["state"] for c in body["campaigns"]] == ["published", "closed", "archived"]
    for state, campaign in (("published", open_one), ("closed", closed), ("archived", archived)):
        only = client.get(f"/api/v1/campaigns?state={state}").get_json()["campaigns"]
        assert [c["slug"] for c in only] == [campaign.slug]

    item = body["campaigns"][0]
    assert item["texts"] == {"ar": {"title": "أطلقوا سراحهم", "summary": "ملخص النداء"},
                             "en": {"title": "Set them free", "summary": "The appeal in short"}}
    assert item["links"]["page"] == {lang: f"http://sawt.test/{lang}/c/{open_one.slug}" for lang in LANGS}
    assert item["links"]["self"] == f"http://sawt.test/api/v1/campaigns/{open_one.slug}"


def test_the_list_pages_with_a_cursor_and_a_hard_maximum(client, session, make_campaign):
    made = [make_campaign() for _ in range(5)]
    same_moment = utcnow()
    for campaign in made:  # a tie on published_at: the id decides, nothing is skipped
        campaign.published_at = same_moment
    session.commit()

    seen, url = [], "/api/v1/campaigns?limit=2"
    while url:
        body = client.get(url).get_json()
        assert len(body["campaigns"]) <= 2
        seen += [c["slug"] for c in body["campaigns"]]
        url = body["next"] and body["next"].removeprefix("http://sawt.test")
        if url:
            assert "limit=2" in url and body["next_cursor"] in url
    assert seen == [c.slug for c in reversed(made)]

    for query, detail in (("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
                          ("limit=%D9%A3", "limit"), ("state=draft", "state"), ("cursor=not-ours", "cursor"),
                          ("cursor=" + "A" * 300, "cursor")):
        response = client.get(f"/api/v1/campaigns?{query}")
        assert response.status_code == 400, query
        body = response.get_json()
        assert body["error"] == "invalid_parameter" and body["detail"].startswith(detail), query
    assert len(client.get("/api/v1/campaigns?limit=100").get_json()["campaigns"]) == 5


# --- one campaign ---

def test_a_campaign_in_both_languages_with_its_demands_counts_and_organisation(
        client, session, make_campaign, add_signature):
    organisation = Organisation(name="Cairo Rights Group", slug="crg")
    session.add(organisation)
    session.flush()
    closes = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    campaign = make_campaign(goal=1000, hashtag="#FreeThem", closes_at=closes, organisation_id=organisation.id)
    add_signature(campaign)
    add_signature(campaign)
    add_signature(campaign, verified=False)
    session.commit()

    response = client.get(f"/api/v1/campaigns/{campaign.slug}")
    body = response.get_json()

    assert {k: body[k] for k in ("slug", "kind", "state", "goal", "hashtag", "verified", "pending")} == {
        "slug": campaign.slug, "kind": "appeal", "state": "published", "goal": 1000, "hashtag": "FreeThem",
        "verified": 2, "pending": 1}
    assert body["closes_at"] == closes.isoformat() + "Z"
    assert body["closed_at"] is None
    assert body["published_at"] == campaign.published_at.replace(microsecond=0).isoformat() + "Z"
    assert body["updated_at"] == campaign.updated_at.replace(microsecond=0).isoformat() + "Z"
    assert body["texts"]["en"] == {"title": "Set them free", "summary": "The appeal in short",
                                   "body_html": "<p>The <strong>appeal</strong> text</p>\n"}
    assert body["texts"]["ar"]["body_html"] == "<p>نص <strong>النداء</strong></p>\n"
    assert body["demands"] == [
        {"position": i, "texts": {"ar": {"title": f"المطلب {i}", "body": f"شرح المطلب {i}"},
                                  "en": {"title": f"Demand {i}", "body": f"Why demand {i}"}}}
        for i in (1, 2)
    ]
    assert body["organisation"] == {
        "name": {"ar": "Cairo Rights Group", "en": "Cairo Rights Group"},
        "page": {lang: f"http://sawt.test/{lang}/org/crg" for lang in LANGS},
    }
    assert body["links"] == {
        "self": f"http://sawt.test/api/v1/campaigns/{campaign.slug}",
        "count": f"http://sawt.test/api/v1/campaigns/{campaign.slug}/count",
        "snapshot": f"http://sawt.test/api/v1/campaigns/{campaign.slug}/snapshot",
        "page": {lang: f"http://sawt.test/{lang}/c/{campaign.slug}" for lang in LANGS},
    }
    # Arabic travels as UTF-8, not as \u escapes.
    assert "أطلقوا سراحهم".encode() in response.get_data()


def test_the_text_given_is_the_sanitised_html_never_the_authors_markdown(client, session, make_campaign):
    campaign = make_campaign()
    campaigns.set_text(session, campaign, "en", title="T", summary="S",
                       body_md='Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>')
    session.commit()
    body = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    html = body["texts"]["en"]["body_html"]
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as the text it is
    assert "body_md" not in str(body)


def test_updated_at_moves_with_edits_and_states_not_with_signatures(session, make_campaign, add_signature):
    campaign = make_campaign(publish=False)
    stamps = [campaign.updated_at]

    def moved() -> bool:
        stamps.append(campaign.updated_at)
        return stamps[-1] > stamps[-2]

    def changes(goal: int) -> campaigns.CampaignChanges:
        texts = {lang: campaigns.TextInput(t.title, t.summary, t.body_md, t.share_text)
                 for lang in LANGS if (t := campaign.text(lang))}
        demands = [campaigns.DemandInput({lang: (d.text(lang).title, d.text(lang).body) for lang in LANGS})
                   for d in campaign.demands]
        return campaigns.CampaignChanges(texts=texts, demands=demands, goal=goal, digits=campaign.digits)

    time.sleep(0.002)
    campaigns.publish(session, None, campaign)
    assert moved()
    time.sleep(0.002)
    assert campaigns.save(session, None, campaign, changes(12345)) == ["goal"]
    assert moved()
    add_signature(campaign)
    session.commit()
    session.refresh(campaign)
    assert not moved()
    assert campaigns.save(session, None, campaign, changes(12345)) == []  # nothing changed: nothing moves
    assert not moved()
    for change in (campaigns.close, campaigns.reopen, campaigns.close, campaigns.archive):
        time.sleep(0.002)
        change(session, None, campaign)
        assert moved(), change.__name__


# --- caching, conditional requests, CORS ---

@pytest.fixture
def cached_app(make_app):
    """The API with its cache on, long enough that a test's requests all hit it."""
    return make_app(PAGE_CACHE_SECONDS=60)


def test_every_read_is_cacheable_by_anyone_and_sets_no_cookie(cached_app, make_campaign):
    slug = make_campaign().slug
    client = cached_app.test_client()
    for path in read_paths(slug):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "application/json", path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.headers.get("Vary", ""), path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "ETag" in response.headers["Access-Control-Expose-Headers"], path
        directives = dict(d.strip().partition("=")[::2] for d in response.headers["Cache-Control"].split(","))
        assert "public" in directives, path
        assert int(directives["max-age"]) > 0 and int(directives["s-maxage"]) > 0, path
        assert int(directives["stale-while-revalidate"]) > 0, path
        assert response.headers["ETag"], path
        if path.startswith(("/api/v1/campaigns")):
            assert response.headers["Last-Modified"], path
        head = client.head(path)
        assert head.status_code == 200 and head.get_data() == b"" and head.headers["ETag"] == response.headers["ETag"]


def test_a_count_stays_fresh_within_seconds(make_app, session, make_campaign, add_signature):
    app = make_app(PAGE_CACHE_SECONDS=1)
    campaign = make_campaign()
    client = app.test_client()
    assert client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()["verified"] == 0
    add_signature(campaign)
    session.commit()
    deadline = time.monotonic() + 3
    for path in (f"/api/v1/campaigns/{campaign.slug}", f"/api/v1/campaigns/{campaign.slug}/count"):
        while client.get(path).get_json()["verified"] != 1:
            assert time.monotonic() < deadline, f"{path}: the count stayed stale"
            time.sleep(0.1)


def test_conditional_requests_get_304_by_etag_and_by_date(cached_app, make_campaign):
    slug = make_campaign().slug
    client = cached_app.test_client()
    for path in read_paths(slug):
        first = client.get(path)
        etag = first.headers["ETag"]
        unchanged = client.get(path, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304, path
        assert unchanged.get_data() == b"" and unchanged.headers["ETag"] == etag, path
        assert unchanged.headers["Access-Control-Allow-Origin"] == "*", path
        assert "public" in unchanged.headers["Cache-Control"], path
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200, path
        if "Last-Modified" not in first.headers:
            continue
        since = first.headers["Last-Modified"]
        assert client.get(path, headers={"If-Modified-Since": since}).status_code == 304, path
        earlier = format_datetime(first.last_modified - dt.timedelta(seconds=1), usegmt=True)
        assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200, path


def test_the_list_is_modified_when_any_public_campaign_changes(client, session, make_campaign):
    campaign = make_campaign()
    first = client.get("/api/v1/campaigns")
    assert first.last_modified == campaign.updated_at.replace(microsecond=0, tzinfo=dt.timezone.utc)
    assert client.get("/api/v1/campaigns?state=published",
                      headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    campaigns.close(session, None, campaign)
    campaign.updated_at += dt.timedelta(seconds=2)  # a second later, as HTTP dates count
    session.commit()
    # It left the filtered list: that list changed although no campaign in it did.
    after = client.get("/api/v1/campaigns?state=published", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert after.status_code == 200 and after.get_json()["campaigns"] == []


def test_a_cached_answer_costs_no_sql(cached_app, make_campaign):
    slug = make_campaign().slug
    client = cached_app.test_client()
    for path in read_paths(slug):
        client.get(path)
    statements, stop = count_queries(cached_app)
    try:
        for path in read_paths(slug):
            assert client.get(path).status_code == 200, path
    finally:
        stop()
    assert statements == []


def test_a_preflight_from_another_site_is_answered_for_reads_only(client, make_campaign):
    slug = make_campaign().slug
    for path in read_paths(slug):
        response = client.options(path, headers={
            "Origin": "https://news.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match, if-modified-since"})
        assert response.status_code == 204, path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "HEAD", "OPTIONS"}
        allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"if-none-match", "if-modified-since"} <= allowed
        assert int(response.headers["Access-Control-Max-Age"]) > 0
        assert "Set-Cookie" not in response.headers
        assert response.get_data() == b""


def test_a_database_outage_is_a_json_503_with_a_time_to_come_back():
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATA_KEY": "t", "API_SIGNING_KEY": "t",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/nothing",
                      "DB_CONNECT_TIMEOUT": 1, "DB_RETRY_AFTER_SECONDS": 17, "PAGE_CACHE_SECONDS": 0})
    try:
        response = app.test_client().get("/api/v1/campaigns/some-campaign/count")
        assert response.status_code == 503
        assert response.get_json() == {"error": "service_unavailable", "status": 503}
        assert response.headers["Retry-After"] == "17"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        with app.app_context():
            db.engine.dispose()


# --- privacy ---

def test_no_answer_names_a_signer_or_their_address(client, session, make_campaign, add_signature):
    from campaign.signatures.models import Signature, Visibility

    campaign = make_campaign()
    add_signature(campaign, "Zaynab Qadri-Visible", "zaynab.visible@leak.example", opt_in=True,
                  comment="CommentThatMustNotLeak")
    add_signature(campaign, "Counted Rashidova", "counted@leak.example", visibility=Visibility.counted, opt_in=True)
    add_signature(campaign, "Pending Petrossian", "pending@leak.example", verified=False)
    session.commit()
    keys = session.execute(sa.select(Signature.email_key, Signature.ip_key)).all()
    secrets = ["Zaynab", "Qadri", "Rashidova", "Petrossian", "leak.example", "CommentThatMustNotLeak"]
    secrets += [value for row in keys for value in row if value]

    answers = [client.get(path).get_data(as_text=True) for path in read_paths(campaign.slug)]
    answers += [client.get(f"/api/v1/campaigns?state={s}").get_data(as_text=True) for s in ("published", "closed")]
    for answer in answers:
        for secret in secrets:
            assert secret not in answer


# --- signed snapshots ---

def test_a_snapshot_says_what_was_counted_when_and_where(client, session, make_campaign, add_signature):
    campaign = make_campaign(goal=10)
    add_signature(campaign)
    session.commit()
    response = client.get(f"/api/v1/campaigns/{campaign.slug}/snapshot")
    body = response.get_json()
    snapshot = body["snapshot"]
    assert {k: snapshot[k] for k in ("type", "version", "site", "slug", "state", "verified", "pending", "goal")} == {
        "type": "sawt.count-snapshot", "version": 1, "site": "http://sawt.test", "slug": campaign.slug,
        "state": "published", "verified": 1, "pending": 0, "goal": 10}
    assert snapshot["titles"] == {"ar": "أطلقوا سراحهم", "en": "Set them free"}
    assert response.last_modified == dt.datetime.fromisoformat(snapshot["as_of"])
    assert body["signature"]["alg"] == "Ed25519"
    assert body["keys"] == "http://sawt.test/api/v1/keys"

    refused = client.get(f"/api/v1/campaigns/{campaign.slug}/snapshot?at=2026-01-01T00:00:00Z")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "at_not_supported"


def test_the_signing_key_is_published_and_stable_across_restarts(tmp_path, monkeypatch, database_url):
    from campaign import config as config_module

    monkeypatch.setattr(config_module, "INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("API_SIGNING_KEY", raising=False)
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "t", "DATA_KEY": "t"}

    def published_keys(app) -> list[dict]:
        try:
            return app.test_client().get("/api/v1/keys").get_json()["keys"]
        finally:
            with app.app_context():
                db.engine.dispose()

    first = published_keys(create_app(config))
    assert (tmp_path / "api_signing_key").stat().st_mode & 0o777 == 0o600
    assert published_keys(create_app(config)) == first  # a restart, or another web node
    [key] = first
    assert {k: key[k] for k in ("kty", "crv", "alg", "use", "status")} == {
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "status": "current"}
    other = published_keys(create_app({**config, "API_SIGNING_KEY": "another secret",
                                       "API_RETIRED_PUBLIC_KEYS": key["x"]}))
    assert [k["status"] for k in other] == ["current", "retired"]
    assert other[1]["kid"] == key["kid"] and other[0]["kid"] != key["kid"]


def test_a_snapshot_checks_with_the_published_key_and_the_documented_recipe(live_server, make_campaign,
                                                                           add_signature, session):
    """The Python recipe on the API page, run as printed, against a live server."""
    import html
    import re
    import urllib.request

    campaign = make_campaign()
    add_signature(campaign)
    session.commit()
    page = urllib.request.urlopen(f"{live_server.url}/en/api").read().decode()
    recipe = html.unescape(re.search(r'<pre class="recipe" dir="ltr"><code>(.*?)</code></pre>', page, re.S).group(1))
    assert f'SITE = "{live_server.url}"' in recipe  # the site's own address, ready to run
    recipe = re.sub(r'SLUG = "[^"]*"', f'SLUG = "{campaign.slug}"', recipe)

    namespace: dict = {"print": lambda *args: None}
    exec(compile(recipe, "recipe", "exec"), namespace)  # raises InvalidSignature on a bad one
    signed = namespace["signed"]
    assert signed["snapshot"]["verified"] == 1 and signed["snapshot"]["slug"] == campaign.slug

    # The same check refuses a snapshot whose count was changed after signing.
    from cryptography.exceptions import InvalidSignature

    signed["snapshot"]["verified"] = 1000
    with pytest.raises(InvalidSignature):
        namespace["check"](signed)


def test_web_nodes_share_the_rendered_answers_through_redis(make_app, redis_store, make_campaign):
    """Two web nodes with one Redis: what one rendered, the other serves without SQL,
    and a snapshot either signs checks with the one published key."""
    config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_store.url, "PAGE_CACHE_SECONDS": 60}
    one, other = make_app(**config), make_app(**config)
    assert one is not other
    slug = make_campaign().slug
    answers = {path: one.test_client().get(path) for path in read_paths(slug)}

    statements, stop = count_queries(other)
    try:
        for path, answer in answers.items():
            again = other.test_client().get(path)
            assert again.get_data() == answer.get_data() and again.headers["ETag"] == answer.headers["ETag"], path
    finally:
        stop()
    assert statements == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_api_page_for_people_in_both_languages(client, lang):
    response = client.get(f"/{lang}/api")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")
    assert client.get(f"/{lang}/api", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    page = response.get_data(as_text=True)
    assert ("البيانات وواجهة البرمجة" if lang == "ar" else "Data and API") in page
    for path in ("/api/v1/campaigns", "/api/v1/keys", "/api/v1/openapi.json", "/snapshot"):
        assert path in page
    assert f'href="/{lang}/api"' in client.get(f"/{lang}/").get_data(as_text=True)  # the footer's link
