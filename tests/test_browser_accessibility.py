"""The automated accessibility check: axe-core (vendored from the npm registry into
tests/vendor/, injected by the test, never served) on every public page, in both
languages, on a 360 px phone and a 1280 px desktop: no serious or critical
violation. Also the focus ring, which axe does not measure (WCAG 1.4.11)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page

from campaign.campaigns.models import Digits
from campaign.extensions import db
from campaign.organiser.models import Organisation, OrganisationText
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Visibility
from tests.browser_fixtures import PHONE
from tests.browser_helpers import assert_accessible
from tests.conftest import link_in
from tests.moderation_helpers import add_signature  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
WIDTHS = {"360": PHONE, "1280": DESKTOP}


def public_organisation(session) -> Organisation:
    organisation = Organisation(name="Beirut Detainees Committee", slug="beirut-committee",
                                contact_email="contact@committee.example")
    organisation.texts = [
        OrganisationText(locale="ar", name="لجنة أهالي المعتقلين في بيروت",
                         description="لجنة أسّسها أهالي المعتقلين سنة ٢٠١٩.",
                         privacy="لا يرى أسماءكم إلا فريق اللجنة."),
        OrganisationText(locale="en", name="Beirut Detainees' Families Committee",
                         description="A committee founded by detainees' families in 2019.",
                         privacy="Only the committee's team sees your names."),
    ]
    session.add(organisation)
    session.flush()
    return organisation


@pytest.fixture
def campaign_with_signers(make_campaign, add_signature, session):
    """A published campaign of an organisation, with a goal, a closing date, recent
    public signers and a countries table (PUBLIC_BREAKDOWN_MIN is lowered by the test)."""
    organisation = public_organisation(session)
    campaign = make_campaign(goal=5000, digits=Digits.arab, organisation_id=organisation.id,
                             closes_at=utcnow() + dt.timedelta(days=30), hashtag="الحرية_للمعتقلين")
    for n, (name, country) in enumerate([("ليلى حداد", "LB"), ("Sam Jones", "GB"), ("سلمى خوري", "LB"),
                                         ("نور الهدى عبد الرحمن", "SY")]):
        add_signature(campaign, name=name, country=country, visibility=Visibility.full_name,
                      comment="معكم حتى النهاية" if n == 0 else None,
                      created_at=utcnow() - dt.timedelta(minutes=5 * (n + 1)))
    session.commit()
    return campaign


def signing_links(page: Page, server, slug: str, lang: str) -> dict[str, str]:
    """Sign through the form; return the pages and links the e-mail leads to."""
    page.goto(f"/{lang}/c/{slug}")
    form = page.locator("form.sign-form")
    form.locator("#name").fill("رنا يوسف" if lang == "ar" else "Rana Youssef")
    form.locator("#email").fill(f"rana-{lang}@example.org")
    form.locator("#country").select_option("LB")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/check-email$"))
    [message] = [m for m in server.deliver() if m["To"] == f"rana-{lang}@example.org"]
    return {"check_email": page.url, "confirm": link_in(message, "/confirm/"),
            "withdraw": link_in(message, "/withdraw/")}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_public_page_passes_axe_on_a_phone_and_a_desktop(make_live_server, make_page, campaign_with_signers,
                                                                lang):
    server = make_live_server(PUBLIC_BREAKDOWN_MIN=1)
    slug = campaign_with_signers.slug
    first = make_page(base_url=server.url, **PHONE)
    links = signing_links(first, server, slug, lang)
    pages = {
        "home": f"/{lang}/",
        "campaign": f"/{lang}/c/{slug}",
        "organisation": f"/{lang}/org/beirut-committee",
        "check e-mail": links["check_email"],
        "confirm": links["confirm"],
        "erase": f"/{lang}/erase",
        "not found": f"/{lang}/c/no-such-campaign",
    }
    for width, options in WIDTHS.items():
        page = make_page(base_url=server.url, **options)
        for name, url in pages.items():
            page.goto(url)
            assert_accessible(page, f"{name}, {lang}, {width} px")
    # Confirming leads to the thank-you page (the withdraw link came with the first e-mail).
    page.goto(links["confirm"])
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks\?confirmed=1$"))
    for width, options in WIDTHS.items():
        page = make_page(base_url=server.url, **options)
        for name, url in {"thanks": f"/{lang}/c/{slug}/thanks?confirmed=1", "withdraw": links["withdraw"]}.items():
            page.goto(url)
            assert_accessible(page, f"{name}, {lang}, {width} px")


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_focus_ring_is_dark_with_a_yellow_halo(make_page, make_campaign):
    """The ring must reach 3:1 against white (WCAG 1.4.11); the yellow alone is 1.8:1."""
    slug = make_campaign().slug
    page = make_page(**PHONE)
    page.goto(f"/en/c/{slug}")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    style = page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return {outline: s.outlineColor, width: s.outlineWidth, style: s.outlineStyle, shadow: s.boxShadow};
    }""")
    assert style["style"] == "solid" and style["width"] == "3px", style
    rgb = tuple(int(c) for c in re.findall(r"\d+", style["outline"])[:3])
    assert contrast(rgb, (255, 255, 255)) >= 3, style
    assert "242, 183, 5" in style["shadow"], "the yellow halo is kept around the ring"
