"""The dashboard: aggregates on known data (per-day buckets on SQLite and PostgreSQL
alike), the cookie-free view counter, share-channel referrals, and the SVG charts."""
from __future__ import annotations

import datetime as dt
import itertools
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from campaign.amplify.share import REFERRAL_CODES, share_links
from campaign.dashboard import charts, services
from campaign.dashboard.charts import Series
from campaign.dashboard.models import CampaignDailyView
from campaign.signatures.models import Signature, SignatureState as S
from campaign.privacy.keys import utcnow
from tests.fixtures.web import csrf_token
from tests.fixtures.signatures import take_signatures

_keys = itertools.count()


def add(session, campaign, state, created, *, verified=None, country=None, referral=None):
    """A signature row as signing and moderation would have left it."""
    session.add(Signature(
        campaign_id=campaign.id, state=state, name="Signer", locale="en", email_key=f"key-{next(_keys)}",
        country=country, referral=referral, created_at=created, verified_at=verified,
    ))


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2030, 3, day, hour, minute, second)


@pytest.fixture
def campaign(make_campaign):
    return make_campaign()


def test_daily_buckets_fill_gaps_and_split_at_midnight_utc(session, campaign, backend):
    campaign.published_at = dt.datetime(2030, 2, 28, 9)
    add(session, campaign, S.verified, at(1, 23, 59, 59), verified=at(2, 0, 30))
    add(session, campaign, S.pending, at(1, 8))
    add(session, campaign, S.verified, at(2, 0, 0, 0), verified=at(2, 0, 5))
    add(session, campaign, S.withdrawn, at(2, 13))
    add(session, campaign, S.invalidated, at(2, 14))          # fraud: counted nowhere
    add(session, campaign, S.pending, at(4, 18))
    services.record_views(session, campaign, dt.date(2030, 3, 1), 10)
    services.record_views(session, campaign, dt.date(2030, 3, 3), 5)
    services.record_views(session, campaign, dt.date(2030, 3, 3), 2)  # upsert adds
    session.commit()

    rows = services.daily(session, campaign, today=dt.date(2030, 3, 5))
    table = [(r.day.day, r.views, r.signed, r.verified, r.pending, r.confirmed_total) for r in rows]
    assert table == [
        (28, 0, 0, 0, 0, 0),
        (1, 10, 2, 1, 1, 0),
        (2, 0, 2, 1, 0, 2),
        (3, 7, 0, 0, 0, 2),
        (4, 0, 1, 0, 1, 2),
        (5, 0, 0, 0, 0, 2),
    ]
    assert all(isinstance(r.day, dt.date) for r in rows)

    weeks = services.by_week(rows)
    assert all(w.day.weekday() == 0 for w in weeks)
    assert sum(w.signed for w in weeks) == 5 and sum(w.views for w in weeks) == 17
    assert weeks[-1].confirmed_total == 2

    assert services.funnel(session, campaign) == services.Funnel(views=17, signed=5, verified=2)


def test_a_closed_campaign_s_days_end_when_it_closed(session, campaign):
    campaign.published_at, campaign.closed_at = at(1), at(3)
    campaign.state = campaign.state.__class__.closed
    session.commit()
    rows = services.daily(session, campaign, today=dt.date(2030, 6, 1))
    assert [r.day.day for r in rows] == [1, 2, 3]


def test_countries_top_n_then_other_and_unknown(session, campaign):
    counts = {"EG": 5, "LB": 4, "JO": 3, "MA": 2, "TN": 1}
    for code, n in counts.items():
        for _ in range(n):
            add(session, campaign, S.verified, at(1), verified=at(1), country=code)
    add(session, campaign, S.verified, at(1), verified=at(1), country=None)
    add(session, campaign, S.pending, at(1), country="EG")  # not confirmed: not counted
    session.commit()
    ranked = services.by_country(session, campaign, top=3)
    assert ranked.rows == [("EG", 5), ("LB", 4), ("JO", 3)]
    assert (ranked.other, ranked.unknown, ranked.total) == (3, 1, 16)


def test_share_channels_from_referral_codes(session, campaign):
    for ref, state in [("wa", S.verified), ("wa", S.pending), ("tg", S.verified), (None, S.verified),
                       ("newsletter", S.pending), ("copy", S.verified), ("x", S.invalidated)]:
        add(session, campaign, state, at(1), verified=at(1) if state == S.verified else None, referral=ref)
    session.commit()
    rows = [(r.channel, r.signed, r.verified) for r in services.by_channel(session, campaign)]
    assert rows == [("whatsapp", 2, 1), ("copy", 1, 1), ("newsletter", 1, 0), ("telegram", 1, 1), ("direct", 1, 1)]


def test_every_share_link_carries_its_channel_code(app, campaign):
    with app.test_request_context("/en/"):
        links = {link.channel: link.url for link in share_links(campaign, "en")}
    assert set(links) == {"whatsapp", "telegram", "x", "facebook", "email", "bluesky"}
    for channel, url in links.items():
        assert f"ref%3D{REFERRAL_CODES[channel]}" in url or f"ref={REFERRAL_CODES[channel]}" in url, channel
    telegram_target = parse_qs(urlsplit(links["telegram"]).query)["url"][0]
    assert parse_qs(urlsplit(telegram_target).query)["ref"] == ["tg"]


def test_public_views_are_counted_and_bots_are_not(client, session, campaign):
    for _ in range(3):
        client.get(f"/en/c/{campaign.slug}")
    client.get(f"/ar/c/{campaign.slug}")
    client.get(f"/en/c/{campaign.slug}", headers={"User-Agent": "WhatsApp/2.23 facebookexternalhit/1.1"})
    client.get(f"/en/c/{campaign.slug}", headers={"User-Agent": "TelegramBot (like TwitterBot)"})
    client.head(f"/en/c/{campaign.slug}")
    views = session.scalars(sa.select(CampaignDailyView)).all()
    assert [(v.campaign_id, v.day, v.views) for v in views] == [(campaign.id, utcnow().date(), 4)]


def test_view_counter_buffers_until_its_interval(make_app, make_campaign):
    app = make_app(VIEW_COUNT_FLUSH_SECONDS=3600)
    with app.app_context():
        from campaign.extensions import db

        slug = make_campaign().slug
        client = app.test_client()
        client.get(f"/en/c/{slug}")
        client.get(f"/en/c/{slug}")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CampaignDailyView)) == 0
        services.flush_views()
        assert db.session.scalar(sa.select(CampaignDailyView.views)) == 2


def test_a_share_link_s_ref_reaches_the_signature_and_the_dashboard(client, session, campaign, make_organiser, login):
    html = client.get(f"/en/c/{campaign.slug}?ref=wa").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="ref"[^>]*value="wa"', html)
    token = csrf_token(client, f"/en/c/{campaign.slug}?ref=wa")
    response = client.post(f"/en/c/{campaign.slug}/sign", data={
        "csrf_token": token, "ref": "wa", "name": "Layla Haddad", "email": "layla@example.org",
        "country": "LB", "visibility": "counted"})
    assert response.status_code == 303
    take_signatures()
    assert session.scalar(sa.select(Signature.referral)) == "wa"

    owner = make_organiser("owner", "Group A")
    campaign.organisation_id = owner.memberships[0].organisation_id
    session.commit()
    login(client, owner)
    html = client.get(f"/en/manage/campaigns/{campaign.id}/dashboard").get_data(as_text=True)
    assert re.search(r"<th scope=\"row\"><bdi>WhatsApp</bdi></th><td>1</td><td>0</td>", html)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_dashboard_page_charts_and_tables_in_both_languages(client, session, make_campaign, make_organiser, login,
                                                            lang):
    from campaign.campaigns.models import Digits

    owner = make_organiser("owner", "Group A")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id, digits=Digits.arab)
    today = utcnow()
    for i in range(12):
        add(session, campaign, S.verified, today - dt.timedelta(days=1), verified=today, country="EG", referral="wa")
    add(session, campaign, S.pending, today, country="LB")
    services.record_views(session, campaign, today.date(), 40)
    session.commit()
    login(client, owner)
    response = client.get(f"/{lang}/manage/campaigns/{campaign.id}/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for chart_id in ("chart-daily", "chart-total", "chart-funnel", "chart-countries", "chart-channels"):
        assert re.search(rf'<svg [^>]*role="img"[^>]*aria-labelledby="{chart_id}-title {chart_id}-desc"', html)
        assert f'<title id="{chart_id}-title">' in html
    assert html.count("<table") == 4
    assert 'direction="rtl"' in html if lang == "ar" else 'direction="ltr"' in html
    # Arabic-Indic digits, as the campaign chose, on Arabic pages only: 40 views,
    # 13 signatures, 12 confirmed.
    if lang == "ar":
        assert "<dd>٤٠</dd>" in html and "<dd>١٣</dd>" in html and "<dd>١٢</dd>" in html
    else:
        assert "<dd>40</dd>" in html and "<dd>13</dd>" in html and "<dd>12</dd>" in html
    assert ("مرات عرض الصفحة" if lang == "ar" else "Page views") in html
    assert "<script" not in html.split("<main", 1)[1]


def test_dashboard_is_for_the_campaign_s_organisation_only(client, make_campaign, make_organiser, login):
    owner_b = make_organiser("owner", "Group B")
    campaign = make_campaign(organisation_id=owner_b.memberships[0].organisation_id)
    login(client, make_organiser("editor", "Group A"))
    assert client.get(f"/en/manage/campaigns/{campaign.id}/dashboard").status_code == 403
    login(client, make_organiser("editor", "Group B"))
    assert client.get(f"/en/manage/campaigns/{campaign.id}/dashboard").status_code == 200


# --- charts ---

def test_nice_ticks():
    assert charts.nice_ticks(0) == [0, 1]
    for maximum in (1, 3, 7, 10, 99, 1234, 50_001):
        ticks = charts.nice_ticks(maximum)
        steps = {b - a for a, b in zip(ticks, ticks[1:])}
        assert ticks[0] == 0 and ticks[-1] >= maximum and len(steps) == 1 and len(ticks) <= 6


def _rect_xs(svg: str) -> list[float]:
    return [float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)]


def test_charts_mirror_for_right_to_left_and_escape_labels():
    kwargs = dict(chart_id="c", title="T <b>", description="D", categories=["first", "second"],
                  series=[Series("verified", "Confirmed", [3, 0])], fmt=str)
    ltr, rtl = str(charts.column_chart(rtl=False, **kwargs)), str(charts.column_chart(rtl=True, **kwargs))
    [x_ltr], [x_rtl] = _rect_xs(ltr), _rect_xs(rtl)
    assert x_ltr < 360 < x_rtl, "the first day is at the start of the reading direction"
    assert "<title id=\"c-title\">T &lt;b&gt;</title>" in ltr
    assert 'role="img"' in ltr and 'direction="rtl"' in rtl

    bars = dict(chart_id="b", title="T", description="D", labels=["<script>x</script>", "b"],
                series=[Series("signed", "S", [4, 2])], fmt=str)
    ltr, rtl = str(charts.bar_chart(rtl=False, **bars)), str(charts.bar_chart(rtl=True, **bars))
    assert "<script>" not in ltr and "&lt;script&gt;" in ltr
    # Bars grow from the start side: from x=170 rightwards, or from x=560-170 leftwards.
    assert _rect_xs(ltr)[0] == 170
    x, width = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', rtl).groups()
    assert float(x) + float(width) == 390
    line = str(charts.line_chart(chart_id="l", title="T", description="D", categories=["a", "b"],
                                 series=Series("verified", "V", [1, 2]), fmt=str, rtl=True))
    points = re.search(r'points="([^"]+)"', line).group(1).split()
    assert float(points[0].split(",")[0]) > float(points[1].split(",")[0])
