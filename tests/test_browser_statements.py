"""Statements in a real browser: a visitor asks to add their organisation, confirms
from the e-mail, the organiser approves it with a reworded role line; the organiser
pastes a list, checks the preview (with the lines it could not read) and confirms —
in Arabic (right to left, on a phone for the visitor) and in English. And the whole
story end to end: a 40-line list, published in both languages, one visitor added,
41 numbered in both PDFs."""
from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaign.campaigns.models import CampaignKind
from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import assert_language, log_in, t
from tests.conftest import link_in

pytestmark = pytest.mark.browser

ORG = {"ar": "مرصد المفقودين", "en": "Observatory for the Missing"}


def _statement(make_campaign, owner, slug, **kwargs):
    return make_campaign(kind=CampaignKind.statement, slug=slug,
                         organisation_id=owner.memberships[0].organisation_id, **kwargs)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_visitor_asks_to_add_their_organisation_and_the_organiser_approves(
        make_page, page, live_server, make_campaign, make_organiser, lang):
    owner = make_organiser("owner")
    slug = f"joint-{lang}"
    _statement(make_campaign, owner, slug)
    app = live_server.app

    visitor = make_page(**PHONE) if lang == "ar" else page
    visitor.goto(f"/{lang}/c/{slug}")
    visitor.get_by_role("link", name=t(app, lang, "Add my name or my organisation")).click()
    visitor.wait_for_url(re.compile(rf"/{lang}/c/{slug}/endorse$"))
    assert_language(visitor, lang)
    assert_controls_labelled(visitor)
    if lang == "ar":
        assert_no_horizontal_scroll(visitor)
        assert visitor.get_attribute("#name_en", "dir") == "ltr"

    # Sent empty: errors, in the page's language, and nothing stored.
    visitor.get_by_role("button", name=t(app, lang, "Send my request")).click()
    expect(visitor.locator("#error-summary")).to_contain_text(t(app, lang, "Please enter a name in at least one language."))

    visitor.check("input[name=kind][value=organisation]")
    visitor.fill("#name_ar", ORG["ar"])
    visitor.fill("#name_en", ORG["en"])
    visitor.select_option("#country", "LB")
    visitor.fill("#email", "contact@missing.example")
    visitor.get_by_role("button", name=t(app, lang, "Send my request")).click()
    visitor.wait_for_url(re.compile(rf"/{lang}/c/{slug}/endorse/check-email$"))
    expect(visitor.locator("h1")).to_have_text(t(app, lang, "Check your e-mail"))

    [mail] = live_server.deliver()
    assert mail["To"] == "contact@missing.example"
    visitor.goto(urlsplit(link_in(mail, "/endorse/confirm/")).path)
    expect(visitor.locator("dl.facts")).to_contain_text(ORG[lang])
    visitor.get_by_role("button", name=t(app, lang, "Confirm my request")).click()
    expect(visitor.locator("h1")).to_have_text(t(app, lang, "Request confirmed"))

    organiser = make_page() if lang == "ar" else make_page()
    log_in(organiser, owner, lang)
    organiser.goto(f"/{lang}/manage/campaigns/{owner_campaign_id(live_server, slug)}/signatories/")
    assert_language(organiser, lang)
    request = organiser.locator(".signatory-request")
    expect(request).to_contain_text(ORG[lang])
    expect(request).to_contain_text("missing.example")
    request.locator("input[name=role_en]").fill("a monitoring group")
    request.locator("input[name=role_ar]").fill("مجموعة رصد")
    request.get_by_role("button", name=t(app, lang, "Approve")).click()
    expect(organiser.locator(".signatory-table tbody tr")).to_have_count(1)
    [approved] = live_server.deliver()
    assert approved["To"] == "contact@missing.example"

    visitor.goto(f"/{lang}/c/{slug}")
    item = visitor.locator(".signatory-list li")
    expect(item).to_have_count(1)
    expect(item.locator(".signatory-number")).to_have_text("1")
    expect(item.locator("bdi.signatory-name")).to_have_text(ORG[lang])
    expect(item.locator("bdi.signatory-role")).to_have_text("مجموعة رصد" if lang == "ar" else "a monitoring group")
    direction = visitor.locator(".signatory-list").evaluate("el => getComputedStyle(el).direction")
    assert direction == ("rtl" if lang == "ar" else "ltr")


def owner_campaign_id(live_server, slug: str) -> int:
    from campaign.campaigns import services
    from campaign.extensions import db

    with live_server.app.app_context():
        return services.get_by_slug(db.session, slug).id


PASTED = """الموقعون:

١- رابطة عائلات المفقودين
٢- سلمى القاسم، محامية
3- Karim al-Najjar, journalist and former detainee
4) Lawyers for Justice Network

٥. نور سليمان، شقيقة معتقل
"""


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_organiser_pastes_a_list_checks_the_preview_and_confirms(page, live_server, make_campaign, make_organiser, lang):
    owner = make_organiser("owner")
    slug = f"pasted-{lang}"
    _statement(make_campaign, owner, slug)
    app = live_server.app
    log_in(page, owner, lang)
    page.goto(f"/{lang}/manage/campaigns/{owner_campaign_id(live_server, slug)}/signatories/")
    page.get_by_role("link", name=t(app, lang, "Add many at once")).click()
    assert_language(page, lang)
    assert_controls_labelled(page)
    page.fill("#text", PASTED)
    page.get_by_role("button", name=t(app, lang, "Preview")).click()

    preview = page.locator(".import-preview")
    expect(preview.locator("[role=status]")).to_contain_text(
        t(app, lang, "%(num)s signatory will be added to the end of the list.", num=5).split(" ")[0])
    expect(preview.locator(".import-problems li")).to_have_count(1)
    expect(preview.locator(".import-problems li")).to_contain_text("الموقعون")
    rows = preview.locator(".import-table tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(1)).to_contain_text("سلمى القاسم")
    expect(rows.nth(1)).to_contain_text("محامية")
    assert rows.nth(0).locator("select").input_value() == "organisation"
    assert rows.nth(2).locator("select").input_value() == "individual"
    # The organiser corrects one guess before confirming.
    rows.nth(4).locator("select").select_option("organisation")
    assert_controls_labelled(page)
    page.get_by_role("button", name=t(app, lang, "Add these signatories")).click()
    page.wait_for_url(re.compile(r"/signatories/$"))
    expect(page.locator(".signatory-table tbody tr")).to_have_count(5)

    page.goto(f"/{lang}/c/{slug}")
    names = page.locator(".signatory-list .signatory-name")
    expect(names).to_have_count(5)
    expect(names.nth(2)).to_have_text("Karim al-Najjar")
    expect(page.locator(".signatory-list .signatory-number").nth(4)).to_have_text("5")


# Arabic names without shadda or digits: pdftotext puts a shadda on a line of its own.
FIRST = ["سلمى", "هدى", "عمر", "ليلى", "كريم", "نور", "سامر"]
LAST = ["حداد", "الخطيب", "النجار", "منصور", "داود", "العلي", "سليمان"]


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return "".join(ch for ch in out.stdout.decode() if ch not in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e")


def test_forty_pasted_one_requested_forty_one_in_both_pdfs(page, make_page, live_server, make_campaign, make_organiser):
    """Done when: an organiser pastes a 40-line list, the statement is published in
    both languages, a visitor requests to be added, the organiser approves, and the
    PDF shows all 41 numbered, in both languages."""
    owner = make_organiser("owner")
    slug = "forty-one"
    _statement(make_campaign, owner, slug, publish=False)
    campaign_id = owner_campaign_id(live_server, slug)
    app = live_server.app

    log_in(page, owner, "en")
    page.goto(f"/en/manage/campaigns/{campaign_id}/signatories/import")
    arabic_digits = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    names = {n: f"Person Number{n}" if n % 2 else f"{FIRST[(n // 2) % 7]} {LAST[(n // 2) // 7]}" for n in range(1, 41)}
    lines = []
    for n, name in names.items():
        if n % 2:
            lines.append(f"{n}- {name}, role line {n}")
        else:
            lines.append(f"{str(n).translate(arabic_digits)}- {name}، ناشطة مدنية")
    page.fill("#text", "\n\n".join(lines))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".import-table tbody tr")).to_have_count(40)
    expect(page.locator(".import-problems")).to_have_count(0)
    page.get_by_role("button", name="Add these signatories").click()
    page.wait_for_url(re.compile(r"/signatories/$"))

    page.goto(f"/en/manage/campaigns/{campaign_id}/")
    page.locator(f"form[action$='/manage/campaigns/{campaign_id}/publish'] button[type=submit]").click()
    # Publishing shows what goes live first, then asks once more.
    page.locator(f"form[method=post][action$='/manage/campaigns/{campaign_id}/publish'] button[type=submit]").click()
    page.wait_for_load_state()
    for lang in ("ar", "en"):
        visitor_view = page.context.request.get(f"{live_server.url}/{lang}/c/{slug}")
        assert visitor_view.status == 200

    visitor = make_page(**PHONE)
    visitor.goto(f"/ar/c/{slug}/endorse")
    visitor.fill("#name_ar", "هدى كريم")
    visitor.fill("#role_ar", "معلمة")
    visitor.select_option("#country", "JO")
    visitor.fill("#email", "huda@example.org")
    visitor.get_by_role("button", name=t(app, "ar", "Send my request")).click()
    visitor.wait_for_url(re.compile(r"/endorse/check-email$"))
    [mail] = live_server.deliver()
    visitor.goto(urlsplit(link_in(mail, "/endorse/confirm/")).path)
    visitor.get_by_role("button", name=t(app, "ar", "Confirm my request")).click()

    page.goto(f"/en/manage/campaigns/{campaign_id}/signatories/")
    page.locator(".signatory-request").get_by_role("button", name="Approve").click()
    expect(page.locator(".signatory-table tbody tr")).to_have_count(41)

    for lang in ("ar", "en"):
        response = page.context.request.get(f"{live_server.url}/{lang}/c/{slug}/statement.pdf")
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        text = _pdf_text(response.body())
        for n, name in names.items():
            line = next((row for row in text.splitlines() if re.search(rf"{re.escape(name)}(?!\d)", row)), None)
            assert line is not None, f"{lang}: signatory {n} missing"
            assert re.search(rf"(?<!\d){n}\.|\.{n}(?!\d)", line), f"{lang}: signatory {n} not numbered: {line!r}"
        line = next(row for row in text.splitlines() if "هدى كريم" in row)
        assert re.search(r"(?<!\d)41\.|\.41(?!\d)", line), line
    both = _pdf_text(page.context.request.get(f"{live_server.url}/en/c/{slug}/statement-bilingual.pdf").body())
    assert both.count("هدى كريم") == 2
