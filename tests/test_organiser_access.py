"""Roles and permissions: who sees and does what in the workspace; ids that no row
can have are 404s."""
from __future__ import annotations

from campaign.organiser import access, audit
from campaign.organiser.access import Permission
from campaign.organiser.models import AuditEntry
from tests.fixtures.web import csrf_token


def test_editor_of_one_organisation_cannot_touch_anothers_campaign(session, make_organiser, make_campaign):
    editor_a = make_organiser("editor", "Group A")
    owner_b = make_organiser("owner", "Group B")
    campaign_b = make_campaign(organisation_id=owner_b.memberships[0].organisation_id)

    assert not access.allowed(editor_a, Permission.moderate, campaign_b.organisation_id)
    assert access.allowed(owner_b, Permission.export_signers, campaign_b.organisation_id)
    assert campaign_b not in access.campaigns_visible_to(session, editor_a)
    assert campaign_b in access.campaigns_visible_to(session, owner_b)


def test_editor_may_edit_and_moderate_but_not_export_or_manage_team(make_organiser):
    editor = make_organiser("editor", "Group A")
    org_id = editor.memberships[0].organisation_id
    assert access.allowed(editor, Permission.edit_campaigns, org_id)
    assert access.allowed(editor, Permission.moderate, org_id)
    for permission in (Permission.export_signers, Permission.manage_team, Permission.read_audit,
                       Permission.send_updates):
        assert not access.allowed(editor, permission, org_id)


def test_admin_holds_every_organisation(session, make_organiser, make_campaign):
    admin = make_organiser("admin")
    owner = make_organiser("owner", "Group B")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    assert access.allowed(admin, Permission.export_signers, campaign.organisation_id)
    assert campaign in access.campaigns_visible_to(session, admin)


def test_inactive_organiser_has_no_rights(session, make_organiser):
    owner = make_organiser("owner", "Group A")
    owner.active = False
    assert access.role_in(owner, owner.memberships[0].organisation_id) is None


def test_audit_entries_are_scoped_to_their_organisation(session, make_organiser, make_campaign):
    owner_a = make_organiser("owner", "Group A")
    owner_b = make_organiser("owner", "Group B")
    campaign_a = make_campaign(organisation_id=owner_a.memberships[0].organisation_id)
    audit.record(session, owner_a, "campaign.publish", campaign=campaign_a)
    audit.record(session, owner_b, "team.invite", organisation_id=owner_b.memberships[0].organisation_id)
    session.commit()

    entries_a = audit.entries_for(session, campaign_a.organisation_id)
    assert [e.action for e in entries_a] == ["campaign.publish"]
    assert entries_a[0].organiser_id == owner_a.id
    assert session.query(AuditEntry).count() == 2


def test_workspace_home_lists_only_own_campaigns(client, session, make_organiser, make_campaign, login):
    owner_a = make_organiser("owner", "Group A")
    owner_b = make_organiser("owner", "Group B")
    make_campaign(slug="a-campaign", organisation_id=owner_a.memberships[0].organisation_id)
    make_campaign(slug="b-campaign", organisation_id=owner_b.memberships[0].organisation_id)
    login(client, owner_a)
    for lang in ("ar", "en"):
        response = client.get(f"/{lang}/manage/")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "أطلقوا سراحهم" in html or "Set them free" in html
        assert response.headers["Cache-Control"] == "no-store"
    # Only one campaign row: Group B's campaign is not listed.
    assert html.count("<tr>") == 2


HUGE = "9" * 25


def test_ids_too_big_for_any_column_are_404_not_500(client, session, make_organiser, make_campaign, add_signature,
                                                    login):
    admin = make_organiser("admin")
    owner = make_organiser("owner")
    organisation = owner.memberships[0].organisation_id
    campaign = make_campaign(organisation_id=organisation)
    add_signature(campaign)
    session.commit()
    login(client, admin)
    base = f"/en/manage/campaigns/{campaign.id}"
    for url in (f"/en/manage/campaigns/{HUGE}/", f"/en/manage/campaigns/{HUGE}/dashboard",
                f"/en/manage/campaigns/{HUGE}/signatures", f"/en/manage/campaigns/{HUGE}/export.csv",
                f"{base}/updates/{HUGE}", f"/en/manage/team/{HUGE}",
                f"/en/manage/campaigns/{2**31}/"):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client, f"{base}/signatures")
    for url in (f"{base}/signatures/{HUGE}/invalidate", f"/en/manage/team/{organisation}/members/{HUGE}/remove",
                f"{base}/updates/{HUGE}/delete"):
        assert client.post(url, data={"csrf_token": token, "reason": "fake"}).status_code == 404, url
    audit = client.get(f"/en/manage/audit?organisation={HUGE}&before={HUGE}")
    assert audit.status_code == 200
