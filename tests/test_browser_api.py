"""Browser: the API as journalists meet it. They find its page from the footer (Arabic
on a 360 px phone, English on a desktop), and a page on another site reads a count
and revalidates it with its ETag (a preflighted cross-origin fetch) in Chromium."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import PHONE, assert_no_horizontal_scroll
from tests.browser_helpers import assert_language, t

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_api_page_is_found_from_the_footer_in_both_languages(make_page, live_server, lang):
    page = make_page(**PHONE) if lang == "ar" else make_page()
    page.goto(f"/{lang}/")
    page.locator("footer").get_by_role("link", name=t(live_server.app, lang, "Data and API")).click()
    page.wait_for_url(re.compile(rf"/{lang}/api$"))
    assert_language(page, lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(live_server.app, lang, "Data and API"))
    expect(page.get_by_role("heading", name=t(live_server.app, lang, "Citing a count"))).to_be_visible()
    recipe = page.locator("pre.recipe")
    assert recipe.evaluate("e => getComputedStyle(e).direction") == "ltr"  # code reads left to right
    expect(recipe).to_contain_text(f'SITE = "{live_server.url}"')
    if lang == "ar":
        assert_no_horizontal_scroll(page)  # the code scrolls inside its box, not the page


def test_a_page_on_another_site_reads_the_count_and_revalidates_it(page, live_server, httpserver, make_campaign,
                                                                    add_signature, session):
    campaign = make_campaign(goal=50)
    add_signature(campaign)
    session.commit()
    httpserver.expect_request("/article").respond_with_data(
        "<!doctype html><title>A newspaper</title><p>An article.</p>", content_type="text/html")
    page.goto(httpserver.url_for("/article"))
    assert not httpserver.url_for("/").startswith(live_server.url)  # another origin

    answer = page.evaluate("""async (api) => {
        const count = await (await fetch(api + "/campaigns/SLUG/count")).json();
        const keys = await fetch(api + "/keys");
        const etag = keys.headers.get("ETag");
        // A conditional header is not CORS-safelisted: the browser asks first (OPTIONS).
        const again = await fetch(api + "/keys", {headers: {"If-None-Match": etag}, cache: "no-store"});
        return {verified: count.verified, goal: count.goal, etag, status: again.status};
    }""".replace("SLUG", campaign.slug), f"{live_server.url}/api/v1")

    assert answer["verified"] == 1 and answer["goal"] == 50
    assert answer["etag"]  # exposed to the other site's script
    assert answer["status"] == 304
