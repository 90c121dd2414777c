"""The public JSON API: /api/v1 (counts first; the embeds read them)."""
from __future__ import annotations


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
        response = client.get(f"/api/v1/campaigns/{slug}/count")
        assert response.status_code == 404
        assert response.get_json() == {"error": "not_found", "status": 404}
        assert response.headers["Access-Control-Allow-Origin"] == "*"
