"""The signer's first minute on a phone: at 360 x 740, in both languages, the first
screen of a campaign page shows who is asking, the title, the count and "Sign
now"; Arabic words stay whole inside table cells; the thank-you page puts WhatsApp
first and offers the phone's share sheet where the browser has one."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from campaign.campaigns.models import Digits
from campaign.dashboard.services import record_views
from campaign.demo import load_demo
from campaign.extensions import db
from campaign.organiser.models import Organisation
from campaign.privacy.keys import utcnow
from tests.browser_fixtures import PHONE, assert_no_horizontal_scroll
from tests.browser_helpers import log_in, t
from tests.moderation_helpers import add_signature  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

# Countries whose Arabic names are several words, long enough to be squeezed.
COUNTRIES = ["CD", "GB", "US", "AE", "LB", "SY", "CF"]

# Each word's line boxes (Range.getClientRects): a word on two lines has boxes on
# two different rows. Boxes of one row may differ by a pixel or two (bidi runs).
BROKEN_WORDS_IN_CELLS = """() => {
    const broken = [];
    for (const cell of document.querySelectorAll("main td, main th")) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode())) {
            const words = /\\S+/g;
            let match;
            while ((match = words.exec(node.data))) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const tops = [...range.getClientRects()].filter((r) => r.width > 0)
                    .map((r) => Math.round(r.top)).sort((a, b) => a - b);
                const rows = tops.filter((top, i) => i === 0 || top - tops[i - 1] > 4);
                if (rows.length > 1) broken.push(match[0]);
            }
        }
    }
    return broken;
}"""


def assert_first_screen(page: Page, lang: str) -> None:
    """Who is asking, the title, the count and the sign button, without scrolling."""
    for what, locator in {
        "who is asking": page.locator(".byline a"),
        "launch date": page.locator(".byline"),
        "title": page.get_by_role("heading", level=1),
        "count": page.locator(".count-box .count-line"),
        "sign button": page.locator(".count-box .jump-to-sign a"),
    }.items():
        expect(locator, f"{what} ({lang})").to_be_visible()
        box = locator.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["viewport"]["height"], \
            f"{what} is not in the first screen of {page.url}: {box}"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_first_screen_of_every_demo_campaign_on_a_phone(make_page, live_server, lang):
    with live_server.app.app_context():
        slugs = load_demo(db.session)
        db.session.commit()
    page = make_page(**PHONE)
    for slug in slugs:
        page.goto(f"/{lang}/c/{slug}")
        assert_first_screen(page, lang)
        assert_no_horizontal_scroll(page)
        # The organisation's name leads to its public page, in the same language.
        expect(page.locator(".byline a")).to_have_attribute("href", f"/{lang}/org/sawt")
    # "Sign now" takes the signer past the text to the form.
    page.locator(".count-box .jump-to-sign a").click()
    expect(page.locator("form.sign-form #name")).to_be_in_viewport()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_first_screen_with_signatures_counts_in_words_and_digits(make_page, live_server, make_campaign,
                                                                add_signature, session, lang):
    organisation = Organisation(name="Tunis Rights Group")
    session.add(organisation)
    session.flush()
    campaign = make_campaign(goal=5000, digits=Digits.arab, organisation_id=organisation.id)
    for n in range(5):
        add_signature(campaign, name=f"Signer {n}")
    session.commit()
    page = make_page(**PHONE)
    page.goto(f"/{lang}/c/{campaign.slug}")
    expect(page.locator(".count-box .count-number")).to_have_text("٥" if lang == "ar" else "5")
    expect(page.locator(".count-box .count-line")).to_have_text(
        "٥ توقيعات مؤكَّدة" if lang == "ar" else "5 confirmed signatures")
    expect(page.locator(".count-box .goal")).to_have_text(
        "الهدف: ٥٬٠٠٠ توقيع" if lang == "ar" else "Goal: 5,000 signatures")
    # The count's digits are drawn large and bold: Naskh's ١ is a thin stroke at text size.
    size, weight = page.locator(".count-number").evaluate(
        "e => [parseFloat(getComputedStyle(e).fontSize), getComputedStyle(e).fontWeight]")
    assert size >= 40 and int(weight) >= 700
    assert_first_screen(page, lang)


def test_progress_bar_always_shows_a_sliver(make_page, make_campaign):
    slug = make_campaign(goal=100000).slug
    page = make_page(**PHONE)
    page.goto(f"/ar/c/{slug}")
    fill = page.locator(".bar .bar-fill").bounding_box()
    track = page.locator(".bar .bar-track").bounding_box()
    assert fill["width"] >= 6, "an empty bar still shows where it starts"
    # Right to left: the bar fills from the right.
    assert abs((fill["x"] + fill["width"]) - (track["x"] + track["width"])) < 1


def test_no_arabic_word_is_broken_inside_a_table_cell(make_live_server, make_page, make_organiser, make_campaign,
                                                       add_signature, session):
    server = make_live_server(PUBLIC_BREAKDOWN_MIN=1)
    owner = make_organiser("owner", "Amman Rights Group")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id, digits=Digits.arab)
    today = utcnow()
    for n, country in enumerate(COUNTRIES):
        add_signature(campaign, f"موقّع {n}", country=country, created_at=today - dt.timedelta(days=n % 3))
    record_views(session, campaign, today.date(), 40)
    session.commit()

    page = make_page(base_url=server.url, **PHONE)
    page.goto(f"/ar/c/{campaign.slug}")
    expect(page.locator("table.breakdown tbody tr")).to_have_count(len(COUNTRIES))
    assert page.evaluate(BROKEN_WORDS_IN_CELLS) == []
    assert_no_horizontal_scroll(page)

    log_in(page, owner, "ar")
    for path in ("", "dashboard"):
        page.goto(f"/ar/manage/campaigns/{campaign.id}/{path}")
        assert page.evaluate(BROKEN_WORDS_IN_CELLS) == [], page.url
        assert_no_horizontal_scroll(page)
    # The dashboard's charts keep their drawn size on a phone (in a box that scrolls
    # sideways), so their labels stay readable instead of shrinking to about 6 px.
    label_sizes = page.evaluate("""() => [...document.querySelectorAll("svg.chart")].map((svg) => {
        const text = svg.querySelector("text");
        return parseFloat(getComputedStyle(text).fontSize) * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    })""")
    assert label_sizes and min(label_sizes) >= 11, label_sizes
    # The tables come first on a phone.
    assert page.locator(".chart-pair").first.evaluate(
        "pair => pair.querySelector('table').getBoundingClientRect().top < pair.querySelector('.chart-box').getBoundingClientRect().top")
    page.goto("/ar/manage/")
    assert page.evaluate(BROKEN_WORDS_IN_CELLS) == []
    assert_no_horizontal_scroll(page)

    # The check itself: with the old `overflow-wrap: anywhere` the dashboard's narrow
    # cells break Arabic words letter by letter, and it says so.
    page.goto(f"/ar/manage/campaigns/{campaign.id}/dashboard")
    page.evaluate("""() => {
        document.body.style.overflowWrap = "anywhere";
        for (const t of document.querySelectorAll("main table")) { t.style.display = "table"; }
    }""")
    assert page.evaluate(BROKEN_WORDS_IN_CELLS) != []


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_thanks_page_puts_whatsapp_first_and_offers_the_share_sheet(make_page, live_server, make_campaign, lang):
    app = live_server.app
    slug = make_campaign().slug
    page = make_page(**PHONE)
    page.goto(f"/{lang}/c/{slug}/thanks")
    first = page.locator(".share-links li").first.locator("a")
    expect(first).to_have_text(t(app, lang, "WhatsApp"))
    assert first.evaluate("a => a.getBoundingClientRect().width") >= page.locator(".share-links").evaluate(
        "ul => ul.getBoundingClientRect().width") - 1, "WhatsApp spans the phone's width"
    # Headless Chromium has no share sheet: the button stays hidden, the links do the job.
    has_share = page.evaluate("() => 'share' in navigator")
    button = page.get_by_role("button", name=t(app, lang, "Share…"))
    if has_share:
        expect(button).to_be_visible()
    else:
        expect(button).to_be_hidden()
    link = page.locator("[data-share-url]").get_attribute("data-share-url")
    assert link.endswith(f"/{lang}/c/{slug}?ref=ns")


def test_share_sheet_is_offered_where_the_browser_has_one(make_page, live_server, make_campaign):
    """With a navigator.share (stubbed before the page's scripts run), the button
    shows and hands the campaign's link and text to the sheet."""
    app = live_server.app
    slug = make_campaign().slug
    page = make_page(**PHONE)
    page.add_init_script("""
        window.__shared = [];
        Object.defineProperty(navigator, "share", {value: (data) => { window.__shared.push(data); return Promise.resolve(); }});
        Object.defineProperty(navigator, "canShare", {value: () => true});
    """)
    page.goto(f"/ar/c/{slug}/thanks")
    button = page.get_by_role("button", name=t(app, "ar", "Share…"))
    expect(button).to_be_visible()
    button.click()
    shared = page.evaluate("window.__shared")
    assert len(shared) == 1 and shared[0]["url"].endswith(f"/ar/c/{slug}?ref=ns")
    assert shared[0]["title"] == "أطلقوا سراحهم"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_confirm_page_stacks_and_previews_the_public_signature(make_page, live_server, make_campaign, lang):
    app = live_server.app
    slug = make_campaign().slug
    page = make_page(**PHONE)
    page.goto(f"/{lang}/c/{slug}")
    form = page.locator("form.sign-form")
    form.locator("#name").fill("ليلى حداد")
    form.locator("#email").fill("layla@example.org")
    form.locator("#country").select_option("LB")
    form.get_by_label(t(app, lang, "Show my initials and country")).check()
    form.locator("#comment").fill("معكم")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/check-email$"))
    [message] = live_server.deliver()
    from tests.conftest import link_in

    page.goto(link_in(message, "/confirm/"))
    # Label above value: the value column is not squeezed to 70 px.
    label, value = page.locator(".stacked-facts dt").first, page.locator(".stacked-facts dd").first
    assert value.bounding_box()["y"] > label.bounding_box()["y"] + label.bounding_box()["height"] - 1
    assert value.bounding_box()["width"] > 250
    preview = page.locator(".public-preview")
    expect(preview.locator("bdi").first).to_have_text("ل. ح.")
    expect(preview).to_contain_text("معكم")
    assert_no_horizontal_scroll(page)
