"""Browser: the organiser workspace around the campaigns. An owner invites an editor,
who sets up their account from the e-mail in a browser of their own and sees only
their organisation's campaigns; the owner makes them an owner and the audit log
says so. A campaign's dashboard on a phone: charts and tables in the page's
direction, numbers in the campaign's digits. An owner changes their password and
logs in with the new one. Each in the Arabic workspace and in the English one."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from campaign.campaigns.models import Digits
from campaign.dashboard.services import record_views
from campaign.i18n import country_name
from campaign.privacy.keys import utcnow
from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import PASSWORD, assert_language, log_in, t, workspace_link
from tests.fixtures.mail import link_in

pytestmark = pytest.mark.browser

EDITOR_NAME = {"ar": "سامي نصر", "en": "Sami Nasr"}
NEW_PASSWORD = "a lantern over the harbour at dusk"
PHONE_BROWSER = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/131.0 Mobile Safari/537.36")


def campaign_links(page: Page) -> list[str]:
    """The campaigns listed on the workspace's home page, as their workspace paths."""
    return page.locator("main table.data-table tbody a").evaluate_all("links => links.map(a => a.pathname)")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_invites_an_editor_who_sets_up_and_is_made_owner(
    page, make_page, live_server, make_organiser, make_campaign, lang
):
    app = live_server.app
    owner = make_organiser("owner", "Beirut Rights Group", name="Rana Owner")
    own = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    other_owner = make_organiser("owner", "Cairo Rights Group")
    elsewhere = make_campaign(organisation_id=other_owner.memberships[0].organisation_id)
    own_path, elsewhere_id = f"/{lang}/manage/campaigns/{own.id}/", elsewhere.id
    invitee_address = f"sami.{lang}@team.example"

    log_in(page, owner, lang)
    workspace_link(page, t(app, lang, "Team")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/manage/team/\d+$"))
    team_url = page.url
    assert_language(page, lang)
    assert_controls_labelled(page)

    page.get_by_label(t(app, lang, "E-mail address"), exact=True).fill(invitee_address)
    expect(page.get_by_label(t(app, lang, "Role"), exact=True)).to_have_value("editor")
    expect(page.get_by_label(t(app, lang, "Language of the invitation"))).to_have_value(lang)
    page.get_by_role("button", name=t(app, lang, "Send invitation")).click()
    expect(page.locator(".flash-success")).to_have_text(t(app, lang, "Invitation sent to %(email)s.",
                                                         email=invitee_address))
    row = page.locator("table.team-table tbody tr", has_text=invitee_address)
    expect(row).to_contain_text(t(app, lang, "Invited, not set up yet"))

    [invitation] = live_server.deliver()
    assert invitation["To"] == invitee_address
    assert invitation["Content-Language"] == lang
    assert invitation["Subject"] == t(app, lang, "You are invited to %(organisation)s on Sawt",
                                      organisation="Beirut Rights Group")
    setup_link = link_in(invitation, "/manage/setup/")
    assert setup_link.startswith(f"{live_server.url}/{lang}/manage/setup/")

    # The invitee, in a browser of their own, on a phone.
    invitee = make_page(**PHONE)
    invitee.goto(setup_link)
    expect(invitee.locator("h1")).to_have_text(t(app, lang, "Set up your account"))
    assert_language(invitee, lang)
    assert_controls_labelled(invitee)
    assert_no_horizontal_scroll(invitee)
    invitee.get_by_label(t(app, lang, "Your name")).fill(EDITOR_NAME[lang])
    invitee.get_by_label(t(app, lang, "New password"), exact=True).fill("twelve chars")  # 12 exactly
    invitee.get_by_label(t(app, lang, "New password again")).fill("twelve chars")
    invitee.get_by_role("button", name=t(app, lang, "Set password and continue")).click()

    # Two-factor is recommended to editors, not required: they may go on without it.
    expect(invitee).to_have_url(re.compile(rf"/{lang}/manage/two-factor$"))
    expect(invitee.locator("h1")).to_have_text(t(app, lang, "Set up two-factor"))
    expect(invitee.locator("main .notice")).to_have_count(0)
    assert_no_horizontal_scroll(invitee)
    invitee.get_by_role("link", name=t(app, lang, "Not now")).click()
    expect(invitee).to_have_url(re.compile(rf"/{lang}/manage/$"))
    expect(invitee.locator("h1")).to_have_text(t(app, lang, "Campaigns"))
    expect(invitee.locator(".workspace-me")).to_have_text(EDITOR_NAME[lang])
    assert campaign_links(invitee) == [own_path], "only their organisation's campaigns"
    assert invitee.goto(f"/{lang}/manage/campaigns/{elsewhere_id}/").status == 403
    invitee.goto(f"/{lang}/manage/")
    expect(workspace_link(invitee, t(app, lang, "Team"))).to_have_count(0)
    assert_no_horizontal_scroll(invitee)

    # The owner sees them set up, and makes them an owner.
    page.goto(team_url)
    row = page.locator("table.team-table tbody tr", has_text=invitee_address)
    expect(row).to_contain_text(EDITOR_NAME[lang])
    expect(row).to_contain_text(t(app, lang, "Active"))
    role = page.get_by_label(t(app, lang, "Role of %(name)s", name=EDITOR_NAME[lang]))
    expect(role).to_have_value("editor")
    role.select_option("owner")
    row.get_by_role("button", name=t(app, lang, "Change role")).click()
    expect(page.locator(".flash-success")).to_have_text(t(app, lang, "Role changed."))
    expect(page.get_by_label(t(app, lang, "Role of %(name)s", name=EDITOR_NAME[lang]))).to_have_value("owner")

    # Owners must use two-factor: the new owner's next page asks for it.
    invitee.goto(f"/{lang}/manage/")
    expect(invitee).to_have_url(re.compile(rf"/{lang}/manage/two-factor\?next="))
    expect(invitee.locator("main .notice")).to_have_text(t(
        app, lang, "Owners must use two-factor: it protects your supporters' data if your password is ever stolen. "
        "Set it up to continue."))
    expect(invitee.get_by_role("link", name=t(app, lang, "Not now"))).to_have_count(0)

    # The audit log tells the story, newest first.
    workspace_link(page, t(app, lang, "Audit log")).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/manage/audit$"))
    assert_language(page, lang)
    rows = page.locator("table.audit-table tbody tr")
    actions = rows.locator("td:nth-child(3)").all_inner_texts()
    story = [t(app, lang, "Role changed"), t(app, lang, "Account set up"), t(app, lang, "Invited to the team")]
    assert [a for a in actions if a in story] == story, actions
    changed = rows.filter(has_text=t(app, lang, "Role changed"))
    expect(changed.locator("td:nth-child(2)")).to_have_text("Rana Owner")
    for detail in (EDITOR_NAME[lang], t(app, lang, "Editor"), t(app, lang, "Owner")):
        expect(changed.locator(".audit-detail")).to_contain_text(detail)
    invited = rows.filter(has_text=t(app, lang, "Invited to the team"))
    expect(invited.locator(".audit-detail")).to_contain_text(EDITOR_NAME[lang])


ARABIC_INDIC = re.compile(r"[٠-٩]")
LATIN = re.compile(r"[0-9]")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_dashboard_on_a_phone_in_the_page_s_direction_and_the_campaign_s_digits(
    make_page, live_server, session, make_organiser, make_campaign, add_signature, lang
):
    app = live_server.app
    digits = Digits.arab if lang == "ar" else Digits.latn
    owner = make_organiser("owner", "Amman Rights Group")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id, digits=digits)
    slug, campaign_id = campaign.slug, campaign.id
    today = utcnow()
    for days_ago, views, signers in ((2, 40, [("LB", True), ("EG", True)]), (1, 25, [("LB", True), ("LB", False)])):
        record_views(session, campaign, (today - dt.timedelta(days=days_ago)).date(), views)
        for country, verified in signers:
            add_signature(campaign, f"Signer {country}", country=country, verified=verified,
                          created_at=today - dt.timedelta(days=days_ago))
    session.commit()

    # Someone follows a WhatsApp share link to the campaign, signs and confirms (on a
    # phone's ordinary browser: headless browsers are not counted as readers).
    signer = make_page(**PHONE, user_agent=PHONE_BROWSER)
    signer.goto(f"/{lang}/c/{slug}?ref=wa")
    expect(signer.locator("form.sign-form input[name=ref]")).to_have_value("wa")
    signer.get_by_label(t(app, lang, "Your name")).fill("Layla Haddad")
    signer.get_by_label(t(app, lang, "Your e-mail address")).fill("layla@mail.example")
    signer.get_by_label(t(app, lang, "Country"), exact=True).select_option("LB")
    signer.get_by_role("button", name=t(app, lang, "Sign"), exact=True).click()
    expect(signer).to_have_url(re.compile(r"/check-email$"))
    confirmation = [m for m in live_server.deliver() if m["To"] == "layla@mail.example"]
    signer.goto(link_in(confirmation[0], "/confirm/"))
    signer.get_by_role("button", name=t(app, lang, "Confirm my signature")).click()
    expect(signer).to_have_url(re.compile(r"/thanks\?confirmed=1$"))

    page = make_page(**PHONE)
    log_in(page, owner, lang)
    page.goto(f"/{lang}/manage/campaigns/{campaign_id}/")
    workspace_link(page, t(app, lang, "Dashboard")).click()
    expect(page).to_have_url(re.compile(rf"/manage/campaigns/{campaign_id}/dashboard$"))
    assert_language(page, lang)
    assert_controls_labelled(page)
    assert_no_horizontal_scroll(page)

    # 66 views (40 + 25 + the signer's), 5 signatures, 4 confirmed, in the campaign's digits.
    def number(value: int) -> str:
        text = f"{value:,}"
        return text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) if digits == Digits.arab else text

    figures = dict(zip(page.locator("dl.figures dt").all_inner_texts(),
                       page.locator("dl.figures dd").all_inner_texts(), strict=True))
    assert figures[t(app, lang, "Page views")] == number(66)
    assert figures[t(app, lang, "Signatures")] == number(5)
    assert figures[t(app, lang, "Confirmed")] == number(4)
    cells = page.locator("main dl.figures dd, main table td, main table tbody th").all_inner_texts()
    wrong, right = (LATIN, ARABIC_INDIC) if digits == Digits.arab else (ARABIC_INDIC, LATIN)
    assert not [c for c in cells if wrong.search(c)], f"numbers not in {digits.value} digits: {cells}"
    assert sum(1 for c in cells if right.search(c)) > 10

    # The tables: share channels and countries, read in the page's direction.
    channels = page.locator("section[aria-labelledby=channels-heading] table")
    # Signatures, confirmed, and visits through the channel's links (the signer's one).
    expect(channels.locator("tbody tr", has_text=t(app, lang, "WhatsApp")).locator("td")).to_have_text(
        [number(1), number(1), number(1)])
    expect(channels.locator("tbody tr", has_text=t(app, lang, "Direct or unknown")).locator("td")).to_have_text(
        [number(4), number(3), ""])
    countries = page.locator("section[aria-labelledby=countries-heading] table")
    expect(countries.locator("tbody tr").first.locator("th")).to_have_text(country_name("LB", lang))
    expect(countries.locator("tbody tr").first.locator("td")).to_have_text(number(3))
    direction = "rtl" if lang == "ar" else "ltr"
    for table in page.locator("main table").all():
        assert table.evaluate("e => getComputedStyle(e).direction") == direction
    first, last = (channels.locator("thead th").nth(i).bounding_box()["x"] for i in (0, 2))
    assert (first > last) == (lang == "ar"), "the first column is at the start of the line"

    # The charts: five images with a name, mirrored for Arabic.
    charts = page.locator("main svg[role=img]")
    expect(charts).to_have_count(5)
    for chart in charts.all():
        expect(chart).to_be_visible()
        expect(chart).to_have_attribute("direction", direction)
        assert chart.evaluate("e => e.querySelector('title').textContent").strip()
    daily = page.locator("svg[aria-labelledby^='chart-daily-']")
    xs = [float(x) for x in daily.locator("rect.bar").evaluate_all("rs => rs.map(r => r.getAttribute('x'))")]
    assert len(xs) >= 3 and xs == sorted(xs, reverse=(lang == "ar")), "days run in the reading direction"
    zero = daily.locator("text.tick", has_text=re.compile(r"^[0٠]$"))
    assert (float(zero.get_attribute("x")) > 360) == (lang == "ar"), "the value axis is at the start side"
    label = page.locator("svg[aria-labelledby^='chart-countries-'] text.label").first
    expect(label).to_have_text(country_name("LB", lang))
    assert (float(label.get_attribute("x")) > 280) == (lang == "ar")
    expect(page.locator("svg[aria-labelledby^='chart-funnel-'] text.value").first).to_have_text(number(66))


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_changes_their_password_then_logs_in_with_it(make_page, live_server, make_organiser, lang):
    app = live_server.app
    owner = make_organiser("owner", "Tunis Rights Group", name="Rana Owner")
    page = make_page(**PHONE) if lang == "ar" else make_page()
    log_in(page, owner, lang)
    page.locator(".workspace-me a").click()
    expect(page).to_have_url(re.compile(rf"/{lang}/manage/account$"))
    expect(page.locator("h1")).to_have_text(t(app, lang, "Your account"))
    assert_language(page, lang)
    assert_controls_labelled(page)
    if lang == "ar":
        assert_no_horizontal_scroll(page)

    current = page.get_by_label(t(app, lang, "Current password"))
    new = page.get_by_label(t(app, lang, "New password"), exact=True)
    again = page.get_by_label(t(app, lang, "New password again"))
    change = page.get_by_role("button", name=t(app, lang, "Change password"), exact=True)

    # The confirmation does not match: the error is by its field, in the page's language.
    current.fill(PASSWORD)
    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD + " and sea")
    change.click()
    message = t(app, lang, "The two passwords are not the same.")
    expect(page.locator("#confirm-error")).to_have_text(message)
    expect(again).to_have_attribute("aria-invalid", "true")
    expect(again).to_have_accessible_description(re.compile(re.escape(message)))
    assert page.locator("#confirm-error").evaluate("e => e.closest('.field') === document.getElementById('confirm')"
                                                   ".closest('.field')")
    expect(page.locator("#error-summary")).to_contain_text(message)
    expect(page.locator("#password-error")).to_have_count(0)
    for field in (current, new, again):
        expect(field).to_have_value("")  # passwords are never sent back
    assert_language(page, lang)
    assert_controls_labelled(page)
    if lang == "ar":
        assert_no_horizontal_scroll(page)

    current.fill(PASSWORD)
    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD)
    change.click()
    expect(page.locator(".flash-success")).to_have_text(
        t(app, lang, "Your password is changed. Other devices are logged out."))

    page.get_by_role("button", name=t(app, lang, "Log out"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/{lang}/manage/login$"))
    expect(page.locator(".flash")).to_have_text(t(app, lang, "You are logged out."))

    # The old password no longer works; the new one does (with the next TOTP code).
    page.fill("#email", owner.email)
    page.fill("#password", PASSWORD)
    page.locator("form[action$='/manage/login'] button[type=submit]").click()
    expect(page.locator("#error-summary")).to_contain_text(
        t(app, lang, "The e-mail address or the password is not right."))
    log_in(page, owner, lang, password=NEW_PASSWORD, seconds_ahead=30)
    expect(page.locator("h1")).to_have_text(t(app, lang, "Campaigns"))
    expect(page.locator(".workspace-me")).to_have_text("Rana Owner")
