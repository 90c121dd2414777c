"""Embeds in a browser: the embed kit in both languages with its live previews
(counter, badge, map, sign form), options chosen in place and code copied; the
counter raising its count without a reload after a new signature is confirmed,
pausing while hidden and shrugging off a failed request; and every request the
embeds make going to our own origin only."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import assert_accessible, assert_language, t

pytestmark = pytest.mark.browser


def record_requests(page) -> list[str]:
    """Every request of the page's context, frames included (method and URL)."""
    seen: list[str] = []
    page.context.on("request", lambda request: seen.append(request.url))
    return seen


def assert_only_our_origin(seen: list[str], origin: str) -> None:
    others = [url for url in seen if not url.startswith(origin + "/")]
    assert not others, f"requests to another origin: {others}"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_embed_kit_previews_each_embed_and_its_options_change_the_code_in_place(
        make_page, live_server, session, make_campaign, add_signature, lang):
    campaign = make_campaign(goal=100)
    for _ in range(12):
        add_signature(campaign, country="LB")
    session.commit()
    page = make_page(permissions=["clipboard-read", "clipboard-write"])
    seen = record_requests(page)

    page.goto(f"/{lang}/c/{campaign.slug}/embed")

    assert_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(live_server.app, lang, "Embed this campaign"))
    counter = page.frame_locator("iframe.preview-counter")
    expect(counter.locator(".count-number")).to_have_text("12")
    expect(counter.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    badge = page.locator("img.preview-badge")
    badge.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 300", arg=badge.element_handle())
    map_frame = page.frame_locator("iframe.preview-map")
    page.locator("iframe.preview-map").scroll_into_view_if_needed()
    lebanon = map_frame.locator("svg.world-map use[href$='#LB']")
    expect(lebanon).to_have_count(1)
    # The country's shape came from our static file and was drawn.
    page.wait_for_function("() => true")
    assert lebanon.evaluate("use => use.getBBox().width") > 0
    sign = page.frame_locator("iframe.preview-sign")
    page.locator("iframe.preview-sign").scroll_into_view_if_needed()
    expect(sign.locator("form.sign-form")).to_be_visible()
    assert_controls_labelled(page)
    assert_accessible(page, f"embed kit, {lang}")

    # Dark and compact, chosen in place: previews, code and address follow, no reload.
    page.evaluate("window.notReloaded = true")
    page.locator("a[data-option='theme'][data-value='dark']").click()
    page.locator("a[data-option='size'][data-value='compact']").click()
    expect(page.locator("a[data-option='theme'][data-value='dark']")).to_have_attribute("aria-current", "true")
    expect(page.locator("#code-counter")).to_have_value(re.compile(r"theme=dark&amp;size=compact.*height=\"124\""))
    expect(page.locator("iframe.preview-counter")).to_have_attribute("src", re.compile(r"theme=dark&size=compact"))
    expect(counter.locator("html")).to_have_class("theme-dark size-compact")
    expect(page.locator("#code-sign")).to_have_value(re.compile(rf"/sign\?lang={lang}&amp;theme=dark"))
    expect(sign.locator("html")).to_have_class(re.compile("theme-dark"))
    assert page.evaluate("window.notReloaded") is True
    assert "theme=dark" in page.url
    # Each picker now links to the kit with the other choices kept.
    assert "theme=dark" in page.locator("a[data-option='lang'][data-value='en']").get_attribute("href")

    copy = page.locator("button[data-copy-target='code-counter']")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text(t(live_server.app, lang, "Copied"))
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#code-counter").input_value()

    assert_only_our_origin(seen, live_server.url)
    embeds = sorted({re.sub(r"-[0-9a-f]{32}", "", u.split("?")[0].removeprefix(live_server.url)) for u in seen
                     if "/embed/" in u or "/api/" in u or "embed-" in u or "world" in u})
    print(f"requests of the embeds ({lang}):", embeds)
    assert f"/embed/{campaign.slug}/counter" in embeds and f"/embed/{campaign.slug}/map" in embeds


@pytest.mark.parametrize("lang,before,after", [
    ("ar", "توقيعان مؤكَّدان", "٣ توقيعات مؤكَّدة"),
    ("en", "2 confirmed signatures", "3 confirmed signatures"),
])
def test_the_counter_shows_a_new_signature_without_reloading(make_page, live_server, browser_watch, session,
                                                             make_campaign, add_signature, lang, before, after):
    campaign = make_campaign(goal=10)
    add_signature(campaign)
    add_signature(campaign)
    session.commit()
    page = make_page()
    seen = record_requests(page)
    page.clock.install()
    page.goto(f"/embed/{campaign.slug}/counter?lang={lang}&digits=arab")
    line = page.locator(".count-line")
    expect(line).to_have_text(before)
    assert_accessible(page, f"counter, {lang}")
    page.evaluate("window.notReloaded = true")

    add_signature(campaign)  # confirmed, as after the mail's link
    session.commit()
    page.clock.run_for(16_000)  # the counter asks every 12 to 15 seconds

    expect(line).to_have_text(after)
    assert page.locator("progress.goal-bar").evaluate("bar => bar.value") == 3
    assert page.evaluate("window.notReloaded") is True

    # Hidden (another tab): it asks nothing; shown again: it asks at once.
    count_url = f"/api/v1/campaigns/{campaign.slug}/count"
    asked = lambda: sum(1 for url in seen if count_url in url)  # noqa: E731
    page.evaluate("""() => { Object.defineProperty(document, "hidden", {value: true, configurable: true});
                             document.dispatchEvent(new Event("visibilitychange")); }""")
    so_far = asked()
    page.clock.run_for(60_000)
    page.wait_for_timeout(200)
    assert asked() == so_far
    with page.expect_response(lambda r: count_url in r.url):
        page.evaluate("""() => { Object.defineProperty(document, "hidden", {value: false, configurable: true});
                                 document.dispatchEvent(new Event("visibilitychange")); }""")

    # A failed request changes nothing, throws nothing, and is tried again later.
    browser_watch.allow(r"count answered 503|status of 503")
    page.route(f"**{count_url}", lambda route: route.fulfill(status=503, body="down"))
    with page.expect_response(lambda r: count_url in r.url and r.status == 503):
        page.clock.run_for(16_000)
    expect(line).to_have_text(after)
    page.unroute(f"**{count_url}")
    add_signature(campaign)
    session.commit()
    page.clock.run_for(16_000)
    expect(line).to_have_text("٤ توقيعات مؤكَّدة" if lang == "ar" else "4 confirmed signatures")

    assert_only_our_origin(seen, live_server.url)
    kinds = sorted({re.sub(r"-[0-9a-f]{32}", "", url.split("?")[0].removeprefix(live_server.url)) for url in seen})
    assert kinds == sorted([f"/embed/{campaign.slug}/counter", "/static/css/embed-widgets.css",
                            "/static/js/embed-counter.js", count_url]), kinds


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_map_reads_on_a_phone_in_its_embed_and_on_the_campaign_page(make_page, live_server, session, make_campaign, add_signature, lang):
    campaign = make_campaign()
    for code in ("LB", "SY", "FR", "BH"):
        for _ in range(10):
            add_signature(campaign, country=code)
    session.commit()
    page = make_page(**PHONE)
    seen = record_requests(page)

    page.goto(f"/embed/{campaign.slug}/map?lang={lang}")

    assert_language(page, lang)
    expect(page.locator("table.map-table tbody tr")).to_have_count(4)
    assert page.locator("svg.world-map").evaluate("svg => svg.getBoundingClientRect().width") > 300
    assert page.locator("use[href$='#BH']").evaluate("use => use.getBBox().width") > 0
    assert_no_horizontal_scroll(page)
    assert_accessible(page, f"map, {lang}, phone")
    page.goto(f"/{lang}/c/{campaign.slug}/embed")
    assert_no_horizontal_scroll(page)
    page.goto(f"/{lang}/c/{campaign.slug}")  # the map under the table of countries
    page.locator("figure.signature-map").scroll_into_view_if_needed()
    assert page.locator("figure.signature-map use[href$='#SY']").evaluate("use => use.getBBox().width") > 0
    assert_no_horizontal_scroll(page)
    assert_accessible(page, f"campaign page with its map, {lang}, phone")
    page.goto(f"/embed/{campaign.slug}/badge.svg?lang={lang}")
    assert_only_our_origin(seen, live_server.url)
    assert not [url for url in seen if "fonts" in url and "/embed/" in url]
