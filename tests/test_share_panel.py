"""The share panel (networks with Bluesky, copy link, QR code, the phone's share
sheet) and counting what each referral code brings: visits and signatures, with
no cookie and no other site involved."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from campaign.amplify.share import REFERRAL_CODES, share_panel
from campaign.dashboard import services as dashboard
from campaign.dashboard.models import ReferralDailyView
from campaign.privacy.keys import utcnow
from tests.conftest import csrf_token
from tests.fixtures.signatures import take_signatures


def test_the_panel_has_every_channel_each_with_its_code(app, make_campaign):
    campaign = make_campaign(hashtag="FreeThemDemo")
    with app.test_request_context("/ar/"):
        panel = share_panel(campaign, "ar")
    channels = {link.channel: link.url for link in panel.links}
    assert set(channels) == {"whatsapp", "telegram", "x", "facebook", "email", "bluesky"}
    bsky = parse_qs(urlsplit(channels["bluesky"]).query)["text"][0]
    assert bsky.startswith("وقّعوا #FreeThemDemo http://sawt.test/ar/c/") and bsky.endswith("?ref=bs")
    assert panel.copy_url.endswith("?ref=copy")
    assert panel.native_url.endswith("?ref=ns")
    assert panel.qr_url.endswith("?ref=qr")
    assert panel.qr_svg.startswith("<svg") and "<path" in panel.qr_svg


def test_campaign_and_thank_you_pages_show_the_panel_without_loading_anything_elsewhere(client, make_campaign):
    slug = make_campaign().slug
    for path in (f"/en/c/{slug}", f"/en/c/{slug}/thanks"):
        html = client.get(path).get_data(as_text=True)
        assert 'class="share-panel"' in html
        assert "https://bsky.app/intent/compose?text=" in html
        assert 'class="qr-code"' in html
        assert re.search(r'src="/static/js/share-[0-9a-f]{32}\.js"', html)
        # Other hosts appear only in links a signer may click, never as something loaded.
        assert not re.search(r'(src|srcset|action)="https?://', html)


def test_the_qr_code_downloads_as_svg(client, make_campaign):
    slug = make_campaign().slug
    response = client.get(f"/ar/c/{slug}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "attachment" in response.headers["Content-Disposition"]


def test_visits_and_signatures_are_counted_per_referral_code(client, session, make_campaign):
    campaign = make_campaign()
    slug = campaign.slug
    for ref in ("bs", "bs", "qr", "ns", "Not A Code!", None):
        client.get(f"/en/c/{slug}" + (f"?ref={ref}" if ref else ""))
    client.get(f"/en/c/{slug}?ref=bs", headers={"User-Agent": "Bluesky Cardyb/1.1 (link preview)"})
    for i, ref in enumerate(("bs", "qr")):
        page = f"/en/c/{slug}?ref={ref}"
        html = client.get(page).get_data(as_text=True)
        assert f'name="ref" type="hidden" value="{ref}"' in html
        client.post(f"/en/c/{slug}/sign", data={
            "csrf_token": csrf_token(client, page), "name": f"Signer {i}", "email": f"s{i}@mail.example",
            "country": "LB", "visibility": "counted", "ref": ref})
    take_signatures()
    dashboard.flush_views()
    session.expire_all()
    stored = {(v.referral, v.views) for v in session.scalars(sa.select(ReferralDailyView))}
    # csrf_token() fetched each page once more.
    assert stored == {("bs", 4), ("qr", 3), ("ns", 1)}
    assert {v.day for v in session.scalars(sa.select(ReferralDailyView))} == {utcnow().date()}
    rows = {r.channel: (r.views, r.signed) for r in dashboard.by_channel(session, campaign)}
    assert rows["bluesky"] == (4, 1)
    assert rows["qr"] == (3, 1)
    assert rows["native"] == (1, 0)
    assert "direct" not in rows


def test_referral_codes_are_short_and_distinct():
    codes = list(REFERRAL_CODES.values())
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z0-9_-]{1,32}", code) for code in codes)
