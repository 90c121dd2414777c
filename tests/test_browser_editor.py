"""Browser: an owner with two-factor logs in, creates a campaign, writes both
languages side by side, is refused publication with the list of what is missing,
completes it, publishes, and the public sees it — with the workspace in Arabic,
and again in English."""
from __future__ import annotations

import re

import pytest

from tests.browser_fixtures import PHONE, assert_controls_labelled, assert_no_horizontal_scroll
from tests.browser_helpers import log_in

AR = {"title": "أطلقوا سراح المدافعين", "summary": "نداء إلى السلطات", "body_md": "ندعو إلى **الإفراج الفوري** عنهم.",
      "share_text": "وقّعوا النداء"}
EN = {"title": "Free the defenders", "summary": "An appeal to the authorities",
      "body_md": "We call for their **immediate release**.", "share_text": "Sign the appeal"}


def save(page) -> None:
    page.locator("button[name=action][value=save]").first.click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_creates_writes_both_languages_publishes(page, live_server, make_organiser, lang):
    owner = make_organiser("owner", "Beirut Rights Group")
    slug = f"free-the-defenders-{lang}"
    log_in(page, owner, lang)

    page.locator(f"a[href='/{lang}/manage/campaigns/new']").click()
    page.check("input[name=kind][value=appeal]")
    page.fill("#slug", slug)
    page.locator("form.panel-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/manage/campaigns/\d+/edit$"))
    edit_url = page.url

    # Both languages side by side on a wide screen; each field in its own direction,
    # whatever the workspace's language.
    ar_box, en_box = page.locator("#ar-title").bounding_box(), page.locator("#en-title").bounding_box()
    assert abs(ar_box["y"] - en_box["y"]) < 2
    assert (ar_box["x"] > en_box["x"]) == (lang == "ar"), "the first column sits at the start of the line"
    assert page.get_attribute("#ar-body_md", "dir") == "rtl" and page.get_attribute("#ar-body_md", "lang") == "ar"
    assert page.get_attribute("#en-body_md", "dir") == "ltr" and page.get_attribute("#en-body_md", "lang") == "en"
    assert_controls_labelled(page)

    for field, value in AR.items():
        page.fill(f"#ar-{field}", value)
    page.fill("#en-title", EN["title"])
    page.fill("#demands-0-ar-title", "الإفراج عن المعتقلين")
    page.fill("#demands-0-ar-body", "جميعهم ودون شروط")
    page.fill("#demands-0-en-title", "Release the detainees")
    page.fill("#demands-0-en-body", "All of them, unconditionally")
    page.fill("#goal", "١٠٬٠٠٠")  # Arabic-Indic digits and separator are understood
    page.check("input[name=digits][value=arab]")

    # The Markdown preview, rendered and cleaned by the server, without saving.
    page.locator("button[name=action][value=preview]").first.click()
    assert page.locator(".markdown-preview .prose[lang=ar] strong").inner_text() == "الإفراج الفوري"
    assert page.input_value("#en-title") == EN["title"]
    save(page)
    assert page.input_value("#goal") == "10000"

    # Publishing is refused, with what English still lacks.
    page.locator("nav a[href$='/manage/campaigns/%s/']" % edit_url.split("/")[-2]).click()
    page.locator("form[action$='/publish'] button").click()
    refusal = page.locator("#error-summary")
    expected = ["English: الملخص", "English: النص"] if lang == "ar" else ["English: summary", "English: text"]
    items = refusal.locator("li").all_inner_texts()
    assert items == expected
    assert page.locator(f"a[href$='/{lang}/c/{slug}']").count() == 0
    assert page.goto(f"/{lang}/c/{slug}").status == 404

    # The list leads to the missing field; complete English and publish.
    page.go_back()
    refusal.locator("li a").first.click()
    assert page.url.endswith("#en-summary")
    page.fill("#en-summary", EN["summary"])
    page.fill("#en-body_md", EN["body_md"])
    page.fill("#en-share_text", EN["share_text"])
    save(page)
    assert page.locator(".notice").count() == 0, "nothing is missing any more"
    page.goto(edit_url.removesuffix("edit"))
    page.locator("form[action$='/publish'] button").click()
    # Publishing asks once more, showing what will go live; then it is done.
    page.wait_for_url(re.compile(r"/publish\??$"))
    page.locator("main form[method=post][action$='/publish'] button").click()
    page.wait_for_load_state()
    assert page.locator(".flash").inner_text().strip() == (
        "نُشرت الحملة: أصبحت متاحة للجميع وتقبل التوقيعات." if lang == "ar"
        else "Published: the campaign is now public and accepts signatures.")

    # The public page, in the workspace's language, with the campaign's digits on
    # Arabic pages (English pages keep 0-9).
    public = page.locator(f"a[href$='/{lang}/c/{slug}']")
    public.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == (AR if lang == "ar" else EN)["title"]
    assert page.locator(".prose strong").inner_text() == ("الإفراج الفوري" if lang == "ar" else "immediate release")
    assert page.locator(".demands h3").inner_text() == ("الإفراج عن المعتقلين" if lang == "ar" else "Release the detainees")
    assert ("١٠٬٠٠٠" if lang == "ar" else "10,000") in page.locator(".progress").inner_text()
    assert page.locator(".sign-form button[type=submit]").is_enabled()


@pytest.mark.browser
def test_editor_on_a_phone_stacks_the_languages_and_fits(make_page, live_server, make_organiser, make_campaign):
    owner = make_organiser("owner", "Beirut Rights Group")
    campaign = make_campaign(publish=False, organisation_id=owner.memberships[0].organisation_id)
    page = make_page(**PHONE)
    log_in(page, owner, "ar")
    page.goto(f"/ar/manage/campaigns/{campaign.id}/edit")
    ar_box, en_box = page.locator("#ar-title").bounding_box(), page.locator("#en-title").bounding_box()
    assert en_box["y"] > ar_box["y"] + ar_box["height"], "stacked: English below Arabic"
    assert_no_horizontal_scroll(page)

    page.goto(f"/ar/manage/campaigns/{campaign.id}/preview")
    assert page.locator(".preview-banner").is_visible()
    assert page.locator(".sign-form button[type=submit]").is_disabled()
    assert_no_horizontal_scroll(page)

    page.goto(f"/ar/manage/campaigns/{campaign.id}/dashboard")
    assert page.locator("svg[role=img]").count() >= 1
    assert_no_horizontal_scroll(page)
