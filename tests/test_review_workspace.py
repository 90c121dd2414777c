"""Defects found in a security review of the organiser workspace, one test each."""
from __future__ import annotations

import pytest

from tests.fixtures.organisers import code_at, web_login
from tests.fixtures.web import csrf_token, new_client, post_form
from tests.test_organiser_accounts import limited_owner  # noqa: F401  (fixture)


def _wrong(secret: str) -> str:
    return "000000" if code_at(secret) != "000000" else "111111"


def test_code_step_limit_cannot_be_dodged_with_an_email_field(make_app, make_organiser):
    """The per-account allowance on the code step is keyed by the account being
    logged in, not by an ``email`` field an attacker adds to the form."""
    from campaign.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="100 per minute", RATELIMIT_LOGIN_ACCOUNT="2 per hour")
    with app.app_context():
        limiter.reset()
        owner = make_organiser("owner")
        client = new_client(app)
        assert web_login(client, owner, code=_wrong(owner.totp_secret)).status_code == 422
        for n in range(3):
            response = post_form(client, "/en/manage/login/code",
                                 {"code": _wrong(owner.totp_secret), "email": f"decoy{n}@example.org"},
                                 form_url="/en/manage/login/code")
        assert response.status_code == 429


def test_two_factor_page_limit_cannot_be_dodged_with_an_email_field(limited_owner):
    """Someone holding a stolen session must not guess codes on /two-factor (which
    makes new recovery codes and marks two-factor fresh) without limit."""
    owner, client = limited_owner
    statuses = [
        post_form(client, "/en/manage/two-factor", {"code": "abcdef", "email": f"decoy{n}@example.org"}).status_code
        for n in range(3)
    ]
    assert statuses == [422, 422, 429]
    for n in range(3):
        response = post_form(client, "/en/manage/reauth",
                             {"code": _wrong(owner.totp_secret), "email": f"other{n}@example.org"})
    assert response.status_code == 429


@pytest.fixture
def owner_signature(session, make_organiser, make_campaign, add_signature):
    """(owner, campaign, signature): an owner's campaign with one confirmed signature."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    signature = add_signature(campaign)
    session.commit()
    return owner, campaign, signature


@pytest.mark.parametrize("page", ["²", "٣", "9" * 5000])
def test_refused_moderation_action_with_an_odd_page_in_next_is_not_a_500(client, owner_signature, page, login):
    owner, campaign, signature = owner_signature
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    token = csrf_token(client, url)
    refused = client.post(f"{url}/{signature.id}/invalidate",
                          data={"csrf_token": token, "reason": "", "next": f"{url}?page={page}"})
    assert refused.status_code == 422, "the list is shown again (the first page if the number makes no sense)"


HUGE = "9" * 25


def test_ids_too_big_for_any_column_are_404_not_500(client, session, make_organiser, make_campaign, add_signature, login):
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


@pytest.mark.parametrize("next_url", ["/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/",
                                      "/\t\\evil.example/"])
def test_next_with_a_tab_or_line_break_cannot_leave_the_site(client, make_organiser, owner_signature, next_url, login):
    """Werkzeug's Location header (urllib's urlsplit) drops tabs and line breaks, as
    browsers do, so "/<tab>/evil.example" became "//evil.example"."""
    editor = make_organiser("editor", two_factor=False)
    response = web_login(client, editor, next_url=next_url)
    assert response.status_code == 303 and response.location == "/en/manage/"

    login(client, editor)
    assert client.get("/en/manage/login", query_string={"next": next_url}).location == "/en/manage/"

    owner, campaign, signature = owner_signature
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    done = client.post(f"{url}/{signature.id}/invalidate",
                       data={"csrf_token": csrf_token(client, url), "reason": "fake", "next": next_url})
    assert done.status_code == 303 and done.location == url


@pytest.mark.parametrize("state", [" ", "\r\n"])
def test_a_blank_looking_state_in_the_search_does_not_break_the_signatures_page(
        client, session, make_organiser, make_campaign, add_signature, state, login):
    """Optional() let whitespace past the state's choice check; the saved search
    then made every later view of the list a 500."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    add_signature(campaign, "Layla Haddad")
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    searched = client.post(url, data={"csrf_token": csrf_token(client, url), "q": "", "state": state})
    assert searched.status_code in (303, 422)
    page = client.get(url)
    assert page.status_code == 200 and "Layla Haddad" in page.get_data(as_text=True)


def test_a_nul_in_the_bulk_value_is_not_a_500(client, session, make_organiser, make_campaign, add_signature, login):
    """PostgreSQL refuses NUL in text parameters; no hashed IP or domain holds one."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    add_signature(campaign)
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures/bulk"
    for by in ("ip", "domain"):
        assert client.get(url, query_string={"by": by, "value": "a\x00b"}).status_code in (200, 404)
        token = csrf_token(client, f"/en/manage/campaigns/{campaign.id}/signatures")
        posted = client.post(url, data={"csrf_token": token, "by": by, "value": "a\x00b", "expected": "0",
                                        "reason": "fake"})
        assert posted.status_code in (303, 400, 409)


def test_wrong_current_passwords_on_the_account_page_count_towards_the_account_limit(limited_owner):
    """A stolen session must not be a way to guess the password (and then change it)
    without the limit the login form has."""
    owner, client = limited_owner
    new = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    statuses = [post_form(client, "/en/manage/account", dict(new, current=f"guess {n}")).status_code
                for n in range(3)]
    assert statuses == [422, 422, 429]
    assert client.get("/en/manage/account").status_code == 200, "the page itself still opens"
