"""Link previews: every public page says, in its own language, what a WhatsApp,
Telegram or Facebook preview shows (og:title, og:description, og:url, og:locale
and its alternate, twitter:card). A page's og:url is its address on PUBLIC_URL,
without the ?ref= of a share and never a link with a token."""
from __future__ import annotations

import contextvars
import html as html_lib
import re

import pytest

from campaign.organiser.models import Organisation, OrganisationText

LOCALES = {"ar": ("ar_AR", "en_GB"), "en": ("en_GB", "ar_AR")}


def meta(client, url: str) -> dict[str, list[str]]:
    """The page's <meta property|name=… content=…> tags, fetched in a context of its own."""
    response = contextvars.Context().run(client.get, url)
    assert response.status_code == 200, url
    found: dict[str, list[str]] = {}
    for key, content in re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">',
                                   response.get_data(as_text=True)):
        found.setdefault(key, []).append(html_lib.unescape(content))
    return found


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_campaign_page_preview_is_in_the_page_s_language(client, app, make_campaign, lang):
    campaign = make_campaign()
    tags = meta(client, f"/{lang}/c/{campaign.slug}?ref=wa")
    text = campaign.text(lang)
    assert tags["og:title"] == [text.title]
    assert tags["og:description"] == [text.summary]
    assert tags["og:url"] == [f"{app.config['PUBLIC_URL']}/{lang}/c/{campaign.slug}"]
    assert tags["og:locale"] == [LOCALES[lang][0]]
    assert tags["og:locale:alternate"] == [LOCALES[lang][1]]
    assert tags["og:type"] == ["article"]
    # The share card (campaign/amplify/cards.py): title and live count, in this language.
    assert tags["og:image"] == [f"{app.config['PUBLIC_URL']}/{lang}/c/{campaign.slug}/card.png"]
    assert tags["twitter:card"] == ["summary_large_image"]
    assert tags["og:site_name"] == ["صوت" if lang == "ar" else "Sawt"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_thanks_page_previews_the_campaign(client, app, make_campaign, lang):
    campaign = make_campaign()
    tags = meta(client, f"/{lang}/c/{campaign.slug}/thanks")
    assert tags["og:title"] == [campaign.text(lang).title]
    assert tags["og:url"] == [f"{app.config['PUBLIC_URL']}/{lang}/c/{campaign.slug}"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_other_public_pages_have_previews_too(client, app, session, lang):
    organisation = Organisation(name="Cairo Rights Group", slug="cairo-rights")
    organisation.texts = [OrganisationText(locale="ar", name="مجموعة القاهرة للحقوق", description="نحن مجموعة."),
                          OrganisationText(locale="en", name="Cairo Rights Group", description="We are a group.")]
    session.add(organisation)
    session.commit()
    for url in (f"/{lang}/", f"/{lang}/erase", f"/{lang}/org/cairo-rights"):
        tags = meta(client, url)
        for key in ("og:title", "og:description", "og:url", "og:locale", "og:locale:alternate", "twitter:card"):
            assert tags.get(key) and all(tags[key]), (url, key)
        assert tags["og:url"] == [app.config["PUBLIC_URL"] + url]
        assert tags["og:locale"] == [LOCALES[lang][0]]
        if lang == "ar":
            assert re.search(r"[\u0600-\u06FF]", tags["og:title"][0] + tags["og:description"][0]), url
    tags = meta(client, f"/{lang}/org/cairo-rights")
    assert tags["og:title"] == ["مجموعة القاهرة للحقوق" if lang == "ar" else "Cairo Rights Group"]


def test_a_link_with_a_token_is_never_the_preview_url(client, make_campaign):
    campaign = make_campaign()
    response = contextvars.Context().run(client.get, "/en/withdraw/not-a-real-token")
    assert 'property="og:url"' not in response.get_data(as_text=True)
    assert campaign  # the campaign exists; the token does not
