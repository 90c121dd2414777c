"""Organisers record targets' answers and what became of each demand; the campaign
page shows both, in the reader's language."""
from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import refresh

from campaign.targets import services
from campaign.targets.services import Refused
from tests.conftest import csrf_token, login
from tests.targets_helpers import addressed  # noqa: F401


def test_an_answer_needs_both_languages_or_a_link(session, addressed):
    campaign, (first, _) = addressed
    with pytest.raises(Refused):
        services.record_response(session, None, campaign, target_id=first.id, received_on=dt.date(2026, 11, 1),
                                 texts={"en": "We are looking into it."}, url=None, demands=[1])
    with pytest.raises(Refused):
        services.record_response(session, None, campaign, target_id=first.id, received_on=dt.date(2026, 11, 1),
                                 texts={}, url="https://un.example.org/answer", demands=[7])
    response = services.record_response(session, None, campaign, target_id=first.id,
                                         received_on=dt.date(2026, 11, 1), texts={},
                                         url="https://un.example.org/answer", demands=[2, 1, 2])
    assert response.demand_positions == [1, 2]


def test_outcomes_survive_the_editor_replacing_demand_rows(session, addressed):
    from campaign.campaigns import services as campaigns
    from campaign.campaigns.services import DemandInput

    campaign, _ = addressed
    services.set_outcome(session, None, campaign, 1, "partly_met", dt.date(2026, 11, 20))
    campaigns.set_demands(session, campaign, [
        DemandInput({"ar": ("مطلب", "شرح"), "en": ("Demand", "Why")}),
        DemandInput({"ar": ("مطلب ٢", "شرح"), "en": ("Demand 2", "Why")})])
    session.commit()
    assert services.outcomes_of(session, campaign)[1].outcome.value == "partly_met"
    services.set_outcome(session, None, campaign, 1, None, None)
    assert services.outcomes_of(session, campaign) == {}


def test_workspace_records_and_the_page_shows_answers_and_results(client, session, addressed, make_organiser):
    campaign, (first, _) = addressed
    slug, campaign_id, first_id = campaign.slug, campaign.id, first.id
    owner = make_organiser("owner")
    owner.memberships[0].organisation_id = campaign.organisation_id
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign_id}/targets"
    response = client.post(f"/en/manage/campaigns/{campaign_id}/responses", data={
        "csrf_token": csrf_token(client, url), "target": str(first_id), "received_on": "2026-11-02",
        "text_ar": "نحن نتابع الأمر.", "text_en": "We are following the matter.", "demands": ["2"]})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    response = client.post(f"/en/manage/campaigns/{campaign_id}/outcomes", data={
        "csrf_token": csrf_token(client, url), "outcome-1": "met", "decided-1": "2026-11-20", "outcome-2": ""})
    assert response.status_code == 303

    page = client.get(f"/en/c/{slug}").get_data(as_text=True)
    assert "<bdi>Body un-desk</bdi> answered on November 2, 2026" in page
    assert "We are following the matter." in page
    assert "Addresses demands: 2" in page
    assert "Demand 1, “Demand 1”: Met since November 20, 2026" in page
    refresh()
    arabic = client.get(f"/ar/c/{slug}").get_data(as_text=True)
    assert "نحن نتابع الأمر." in arabic and "We are following" not in arabic
