"""Embeds: the counter, the badge (SVG, PNG) and the map for other sites, the embed
kit for journalists, and oEmbed. None sets a cookie, names a signer, loads anything
from another site or breaks on a journalist's typo; all may be framed and cached."""
from __future__ import annotations

import gzip
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from PIL import Image, features

from campaign.amplify import cards
from campaign.campaigns import services as campaigns
from campaign.campaigns.models import CampaignState
from campaign.embeds import worldmap
from campaign.embeds.options import EmbedOptions
from campaign.extensions import cache, db
from tests.fixtures.web import new_client
from tests.fixtures.app import count_queries

SVG = "{http://www.w3.org/2000/svg}"
ARABIC_INDIC = re.compile(r"[٠-٩]")
LANGS = ["ar", "en"]


@pytest.fixture
def web(app):
    """A client whose requests each run in a context of their own, as a server's do
    (the embeds render in the language of their ?lang=, not of the test's context)."""
    return new_client(app)


def embed_paths(slug: str) -> list[str]:
    return [f"/embed/{slug}/counter", f"/embed/{slug}/badge.svg", f"/embed/{slug}/badge.png", f"/embed/{slug}/map"]


def assert_embeddable(response, path: str) -> None:
    assert response.headers.get_all("Set-Cookie") == [], path
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"], path
    assert "X-Frame-Options" not in response.headers, path
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin", path


def assert_cacheable(web, response, path: str) -> None:
    directives = {d.strip().split("=")[0] for d in response.headers["Cache-Control"].split(",")}
    assert {"public", "max-age", "s-maxage", "stale-while-revalidate"} <= directives, path
    again = web.get(path, headers={"If-None-Match": response.headers["ETag"]})
    if again.status_code == 200:  # the minute the embed shows turned in between
        again = web.get(path, headers={"If-None-Match": again.headers["ETag"]})
    assert again.status_code == 304, path
    assert again.get_data() == b""


class Resources(HTMLParser):
    """What a page asks the browser to load: stylesheets, scripts, images, frames."""

    def __init__(self):
        super().__init__()
        self.loads: list[str] = []
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet" or tag == "script" and attrs.get("src"):
            self.loads.append(attrs.get("href") or attrs["src"])
        if tag in ("img", "iframe", "use") and (attrs.get("src") or attrs.get("href")):
            self.loads.append(attrs.get("src") or attrs["href"])
        if tag == "a":
            self.links.append(attrs)
        if "style" in attrs:
            raise AssertionError(f"a style attribute (blocked by our CSP) on <{tag}>")


def resources(html: str) -> Resources:
    parser = Resources()
    parser.feed(html)
    return parser


# --- options ---

def test_options_fall_back_to_their_defaults_on_anything_unexpected():
    assert EmbedOptions.from_args({}) == EmbedOptions("ar", None, "light", "full")
    assert EmbedOptions.from_args({"lang": " EN ", "digits": "Arab", "theme": "dark", "size": "compact"}) == \
        EmbedOptions("en", "arab", "dark", "compact")
    for junk in ("xx", "", "ar\x00", "<script>", "a" * 5000, "عربي"):
        assert EmbedOptions.from_args({"lang": junk, "digits": junk, "theme": junk, "size": junk}) == EmbedOptions()
    assert EmbedOptions.from_args({}, default_lang="en").lang == "en"
    assert EmbedOptions("en", None, "dark", "compact").query("arab") == "?lang=en&digits=arab&theme=dark&size=compact"


# --- the counter ---

@pytest.mark.parametrize("lang,digits,theme,size", list(itertools.product(LANGS, ["arab", "latn"], ["light", "dark"],
                                                                          ["full", "compact"])))
def test_the_counter_shows_the_count_in_each_choice_of_options(web, session, make_campaign, add_signature,
                                                                lang, digits, theme, size):
    campaign = make_campaign(goal=1000)
    for _ in range(12):
        add_signature(campaign)
    add_signature(campaign, verified=False)
    session.commit()
    path = f"/embed/{campaign.slug}/counter?lang={lang}&digits={digits}&theme={theme}&size={size}"

    response = web.get(path)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}" class="theme-{theme} size-{size}">' in html
    # The count as the campaign page writes it, with the chosen digits (in Arabic only).
    number = "١٢" if (lang, digits) == ("ar", "arab") else "12"
    assert f'<strong class="count-number">{number}</strong>' in html
    assert ("توقيعًا مؤكَّدًا" if lang == "ar" else "confirmed signatures") in html
    assert '<progress class="goal-bar" max="1000" value="12"' in html
    assert "<time datetime=" in html
    assert_embeddable(response, path)
    assert_cacheable(web, response, path)
    page = resources(html)
    [sign] = [a for a in page.links if "sign-button" in a.get("class", "")]
    assert sign["target"] == "_blank" and sign["rel"] == "noopener"
    assert sign["href"] == f"http://sawt.test/{lang}/c/{campaign.slug}?ref=ctr#sign"
    # Our own stylesheet and script only, and no inline script (CSP script-src 'self').
    assert all(url.startswith("/static/") for url in page.loads), page.loads
    assert len(page.loads) == 2
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_the_counter_script_is_given_every_plural_form_of_the_count(web, make_campaign):
    slug = make_campaign().slug
    html = web.get(f"/embed/{slug}/counter?lang=ar").get_data(as_text=True)
    forms = dict(re.findall(r'data-form-(\w+)="([^"]*)"', html))
    assert forms == {"one": "توقيع واحد مؤكَّد", "two": "توقيعان مؤكَّدان", "few": "{n} توقيعات مؤكَّدة",
                     "many": "{n} توقيعًا مؤكَّدًا", "other": "{n} توقيع مؤكَّد"}
    assert 'data-count-url="/api/v1/campaigns/' + slug + '/count"' in html
    assert 'data-none="كن أول من يوقّع"' in html
    english = web.get(f"/embed/{slug}/counter?lang=en").get_data(as_text=True)
    assert dict(re.findall(r'data-form-(\w+)="([^"]*)"', english)) == {
        "one": "{n} confirmed signature", "other": "{n} confirmed signatures"}


def test_a_journalist_s_typo_never_breaks_the_counter(web, make_campaign):
    slug = make_campaign().slug
    for query in ("?lang=fr&digits=roman&theme=%3Cscript%3E&size=huge", "?lang=&lang=en", "?digits=%00",
                  "?theme=" + "x" * 3000, "?size[]=1&lang[]=ar", "?lang=%D8%B9", "?%ff=%fe"):
        response = web.get(f"/embed/{slug}/counter{query}")
        assert response.status_code == 200, query
        assert '<html lang="ar" dir="rtl" class="theme-light size-full">' in response.get_data(as_text=True) or \
            '<html lang="en"' in response.get_data(as_text=True), query
        assert "<script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("lang,words", [("ar", "الحملة غير موجودة"), ("en", "Campaign not found")])
def test_an_unknown_or_draft_campaign_is_a_small_translated_framable_404(web, make_campaign, lang, words):
    draft = make_campaign(publish=False)
    for slug in (draft.slug, "no-such-campaign", "nul%00", "x" * 300):
        for path in embed_paths(slug):
            if path.endswith(".png") and not cards.available():
                continue
            response = web.get(f"{path}?lang={lang}")
            assert response.status_code == 404, path
            assert response.mimetype == "text/html"
            assert words in response.get_data(as_text=True), path
            assert len(response.get_data()) < 2000
            assert_embeddable(response, path)


def test_a_closed_campaign_s_counter_has_its_final_count_and_no_sign_link(web, session, make_campaign,
                                                                         add_signature):
    campaign = make_campaign()
    add_signature(campaign)
    campaigns.change_state(session, campaign, CampaignState.closed)
    session.commit()
    html = web.get(f"/embed/{campaign.slug}/counter?lang=en").get_data(as_text=True)
    assert "1 confirmed signature" in re.sub(r"<[^>]+>", "", html)
    assert "Closed to new signatures" in html
    assert "sign-button" not in html
    assert "data-every" not in html  # nothing left to refresh


def test_the_counter_weighs_under_10_kb_as_served(web, session, make_campaign):
    """HTML, stylesheet and script, with their headers, as a browser fetches them
    (static files gzipped by WhiteNoise; the page as Flask serves it, uncompressed),
    for the heaviest case: Arabic, a long title, a goal."""
    campaign = make_campaign(goal=100_000)
    campaigns.set_text(session, campaign, "ar", title="نداء عاجل: " + "أوقفوا ترحيل المعتقلين السياسيين " * 5,
                       summary="ملخص", body_md="نص", share_text="وقّعوا")
    session.commit()
    path = f"/embed/{campaign.slug}/counter?lang=ar&digits=arab"
    page = web.get(path, headers={"Accept-Encoding": "gzip"})
    sizes = {"html": _transferred(page)}
    for url in resources(page.get_data(as_text=True)).loads:
        response = web.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, url
        assert response.headers.get("Content-Encoding") == "gzip", url
        sizes[url.rsplit(".", 1)[-1]] = _transferred(response)
    total = sum(sizes.values())
    print(f"counter transferred: {sizes} = {total} bytes")
    assert total < 10 * 1024, sizes


def _transferred(response) -> int:
    headers = sum(len(f"{k}: {v}\r\n") for k, v in response.headers.items())
    return headers + len(response.get_data())


@pytest.fixture
def cached_app(make_app):
    """The app with the page cache on, emptied (other tests' entries may share keys)."""
    app = make_app(PAGE_CACHE_SECONDS=5, PUBLIC_BREAKDOWN_SECONDS=5)
    with app.app_context():
        cache.clear()
    app.extensions.pop("sawt.country_breakdowns", None)
    yield app
    with app.app_context():
        cache.clear()



def test_in_a_surge_an_embed_costs_no_query_once_rendered(cached_app, make_campaign, add_signature, session):
    campaign = make_campaign(goal=100)
    for _ in range(10):
        add_signature(campaign, country="LB")
    session.commit()
    web = new_client(cached_app)
    paths = [*(p for p in embed_paths(campaign.slug) if cards.available() or not p.endswith(".png")),
             f"/embed/{campaign.slug}/counter?lang=en&theme=dark", "/embed/no-such-campaign/counter"]
    first = {path: web.get(path) for path in paths}
    statements, stop = count_queries(cached_app)
    try:
        again = {path: web.get(path) for path in paths}
    finally:
        stop()
    assert statements == [], "an embed from the cache reads nothing from the database"
    for path in paths:
        assert again[path].status_code == first[path].status_code
        assert again[path].get_data() == first[path].get_data(), path
        assert again[path].headers.get("ETag") == first[path].headers.get("ETag")


# --- the badge ---

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", ["full", "compact"])
def test_the_svg_badge_is_a_standalone_svg_with_the_count_in_the_reader_s_direction(web, session, make_campaign,
                                                                                    add_signature, lang, size):
    campaign = make_campaign(goal=50)
    for _ in range(3):
        add_signature(campaign)
    session.commit()
    path = f"/embed/{campaign.slug}/badge.svg?lang={lang}&digits=arab&size={size}"

    response = web.get(path)

    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert_embeddable(response, path)
    assert_cacheable(web, response, path)
    root = ET.fromstring(response.get_data())  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    width, height = int(root.get("width")), int(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title").text
    texts = [t.text for t in root.iter(f"{SVG}text")]
    if lang == "ar":
        assert title == "أطلقوا سراحهم: ٣ توقيعات مؤكَّدة"
        assert "٣ توقيعات مؤكَّدة" in texts
        assert root.find(f"{SVG}g[@direction='rtl']") is not None
    else:
        assert title == "Set them free: 3 confirmed signatures"
        assert "3 confirmed signatures" in texts
        assert root.find(f"{SVG}g[@direction='ltr']") is not None
    # Standalone: nothing to fetch (no href, no external font), nothing to run.
    svg = response.get_data(as_text=True)
    assert "href" not in svg and "<script" not in svg and "url(http" not in svg


def test_the_arabic_badge_starts_at_the_right(web, make_campaign):
    slug = make_campaign(goal=50).slug
    root = ET.fromstring(web.get(f"/embed/{slug}/badge.svg?lang=ar").get_data())
    width = int(root.get("width"))
    title = next(root.iter(f"{SVG}text"))
    assert float(title.get("x")) > width / 2 and title.get("text-anchor") == "start"
    assert title.text == "أطلقوا سراحهم"


@pytest.mark.skipif(not features.check("raqm"), reason="Pillow without RAQM draws no PNG badge")
@pytest.mark.parametrize("lang", LANGS)
def test_the_png_badge_is_the_svg_drawn_twice_as_large(web, make_campaign, lang):
    slug = make_campaign(goal=50).slug
    for size in ("full", "compact"):
        svg = ET.fromstring(web.get(f"/embed/{slug}/badge.svg?lang={lang}&size={size}").get_data())
        path = f"/embed/{slug}/badge.png?lang={lang}&size={size}&theme=dark"
        response = web.get(path)
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert_embeddable(response, path)
        assert_cacheable(web, response, path)
        image = Image.open(io.BytesIO(response.get_data()))
        assert image.size == (2 * int(svg.get("width")), 2 * int(svg.get("height")))


def test_without_raqm_there_is_no_png_badge_and_the_kit_offers_none(web, make_campaign, monkeypatch):
    """Pillow without its RAQM engine would draw Arabic unjoined: no PNG then."""
    slug = make_campaign().slug
    check = features.check
    monkeypatch.setattr(features, "check", lambda name: False if name == "raqm" else check(name))
    cards.available.cache_clear()
    try:
        assert web.get(f"/embed/{slug}/badge.png").status_code == 404
        assert web.get(f"/embed/{slug}/badge.svg").status_code == 200
        kit = web.get(f"/en/c/{slug}/embed").get_data(as_text=True)
        assert "badge.png" not in kit and "badge.svg" in kit
    finally:
        monkeypatch.undo()
        cards.available.cache_clear()


# --- the map ---

def sign_from(add_signature, campaign, countries: dict[str, int]) -> None:
    for code, n in countries.items():
        for _ in range(n):
            add_signature(campaign, country=code, name="Layla Haddad")


def test_countries_under_ten_signatures_are_merged_and_never_coloured(web, session, make_campaign, add_signature):
    campaign = make_campaign()
    sign_from(add_signature, campaign, {"LB": 14, "BH": 10, "FR": 9, "JP": 3})
    add_signature(campaign, country="SY", verified=False)
    session.commit()

    html = web.get(f"/embed/{campaign.slug}/map?lang=en").get_data(as_text=True)

    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', html)
    assert rows == [("Lebanon", "14"), ("Bahrain", "10"), ("Other countries", "12")]
    coloured = re.findall(r'<use href="[^"#]+#([A-Z]{2})"', html)
    assert coloured == ["LB", "BH"]
    assert "#world" in html
    assert "Countries with fewer than 10 signatures are not coloured" in html


def test_an_other_under_ten_is_not_shown_either(web, session, make_campaign, add_signature):
    campaign = make_campaign()
    sign_from(add_signature, campaign, {"LB": 10, "FR": 2})
    session.commit()
    html = web.get(f"/embed/{campaign.slug}/map?lang=en").get_data(as_text=True)
    assert re.findall(r'<th scope="row">([^<]+)</th>', html) == ["Lebanon"]
    assert web.get(f"/embed/{make_campaign().slug}/map?lang=en").status_code == 200


@pytest.mark.parametrize("lang,lebanon", [("ar", "لبنان"), ("en", "Lebanon")])
def test_the_map_is_framable_accessible_and_in_the_reader_s_language(web, session, make_campaign, add_signature,
                                                                     lang, lebanon):
    campaign = make_campaign()
    sign_from(add_signature, campaign, {"LB": 1200})
    session.commit()
    path = f"/embed/{campaign.slug}/map?lang={lang}&digits=arab&theme=dark&size=compact"

    response = web.get(path)

    assert response.status_code == 200
    assert_embeddable(response, path)
    assert_cacheable(web, response, path)
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}" class="theme-dark size-compact">' in html
    assert f"<title>{lebanon}: {'١٬٢٠٠' if lang == 'ar' else '1,200'}</title>" in html
    assert f'<th scope="row">{lebanon}</th>' in html
    assert re.search(r'<svg class="world-map"[^>]* role="img"\s+aria-labelledby="map-caption"', html)
    assert '<details class="map-details">' in html  # compact: the table folded
    assert worldmap.PALETTES["dark"]["shades"][-1] in html
    # The country shapes: one static file of ours, served gzipped, immutable.
    [shapes] = {url.split("#")[0] for url in resources(html).loads if "world" in url}
    served = web.get(shapes, headers={"Accept-Encoding": "gzip"})
    assert served.status_code == 200 and served.headers["Content-Encoding"] == "gzip"
    assert "immutable" in served.headers["Cache-Control"]
    svg = gzip.decompress(served.get_data())
    assert len(svg) < 300_000
    ids = set(re.findall(rb'id="([A-Z]{2})"', svg))
    assert {b"LB", b"BH", b"PS", b"SG", b"MT", b"FR", b"NO", b"XK"} <= ids and len(ids) > 200


def test_the_shades_run_from_the_smallest_country_to_the_largest():
    assert [worldmap.shade(n, 10, 10_000) for n in (10, 50, 300, 2000, 10_000)] == [1, 2, 3, 4, 5]
    assert worldmap.shade(40, 40, 40) == worldmap.SHADES


def test_one_grouped_query_per_campaign_serves_every_map(cached_app, make_campaign, add_signature, session):
    campaign = make_campaign()
    sign_from(add_signature, campaign, {"LB": 10})
    session.commit()
    web = new_client(cached_app)
    statements, stop = count_queries(cached_app)

    def by_country() -> int:
        return sum(1 for s in statements if "GROUP BY" in s.upper() and "country" in s)

    try:
        for path in (f"/embed/{campaign.slug}/map?lang=ar", f"/embed/{campaign.slug}/map?lang=en&theme=dark",
                     f"/embed/{campaign.slug}/map?lang=ar&size=compact&digits=arab"):
            assert web.get(path).status_code == 200
        assert by_country() == 1
        for path in (f"/ar/c/{campaign.slug}", f"/en/c/{campaign.slug}"):
            assert 'class="world-map"' in web.get(path).get_data(as_text=True)
        # The pages' maps and their tables of countries came from the same counts.
        assert by_country() == 1
    finally:
        stop()


@pytest.mark.parametrize("lang", LANGS)
def test_the_campaign_page_shows_the_map_under_its_table(web, session, make_campaign, add_signature, lang):
    campaign = make_campaign()
    html = web.get(f"/{lang}/c/{campaign.slug}").get_data(as_text=True)
    assert "world-map" not in html  # nothing to colour yet
    sign_from(add_signature, campaign, {"SY": 11})
    session.commit()
    html = web.get(f"/{lang}/c/{campaign.slug}").get_data(as_text=True)
    assert html.index('id="countries-heading"') < html.index('class="world-map"')
    assert re.search(r'<use href="/static/vendor/world/countries[^"]*\.svg#SY"', html)


# --- privacy ---

def test_no_embed_names_a_signer_or_shows_an_address(web, session, make_campaign, add_signature):
    from campaign.signatures.models import Visibility

    campaign = make_campaign(goal=100)
    for n in range(11):
        add_signature(campaign, name=f"Zaynab Qasim{n}", email=f"zaynab{n}@secret.example", country="LB",
                      visibility=Visibility.full_name, comment="Free them", opt_in=True)
    session.commit()
    paths = [f"{p}?lang={lang}" for p in embed_paths(campaign.slug) for lang in LANGS if not p.endswith(".png")]
    paths += [f"/{lang}/c/{campaign.slug}/embed" for lang in LANGS]
    paths += [f"/oembed?url={quote(f'http://sawt.test/{lang}/c/{campaign.slug}')}" for lang in LANGS]
    paths += [f"/api/v1/campaigns/{campaign.slug}/count"]
    for path in paths:
        body = web.get(path).get_data(as_text=True)
        for secret in ("Zaynab", "Qasim", "secret.example", "Free them", "@"):
            assert secret not in body.replace("@media", ""), (path, secret)


# --- the embed kit ---

@pytest.mark.parametrize("lang", LANGS)
def test_the_embed_kit_gives_the_code_of_each_embed_with_the_chosen_options(web, make_campaign, lang):
    campaign = make_campaign()
    path = f"/{lang}/c/{campaign.slug}/embed"

    response = web.get(path)

    assert response.status_code == 200
    assert response.headers.get_all("Set-Cookie") == []
    assert_cacheable(web, response, path)
    html = response.get_data(as_text=True)
    codes = dict(re.findall(r'<textarea id="code-(\w+)"[^>]*>([^<]*)</textarea>', html))
    assert set(codes) >= {"counter", "badge_svg", "map", "sign"}
    query = f"?lang={lang}&amp;amp;digits=latn&amp;amp;theme=light&amp;amp;size=full"
    assert f"http://sawt.test/embed/{campaign.slug}/counter{query}" in codes["counter"]
    assert "height=&#34;230&#34;" in codes["counter"]
    assert f"http://sawt.test/embed/{campaign.slug}/badge.svg{query}" in codes["badge_svg"]
    # The sign form's code is the signatures feature's own, with its optional script.
    assert f"http://sawt.test/embed/{campaign.slug}/sign?lang={lang}&#34;" in codes["sign"]
    assert "http://sawt.test/static/embed-host.js" in codes["sign"]
    # Live previews of our own embeds, with the same options.
    loads = resources(html).loads
    assert f"/embed/{campaign.slug}/counter?lang={lang}&digits=latn&theme=light&size=full" in loads
    assert f"/embed/{campaign.slug}/badge.svg?lang={lang}&digits=latn&theme=light&size=full" in loads
    # Each option is a link to the kit with that option chosen: it works without script.
    choices = re.findall(r'<a href="([^"]+)" data-option="(\w+)" data-value="(\w+)"( aria-current="true")?', html)
    assert len(choices) == 8
    for href, name, value, current in choices:
        args = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        assert args[name] == [value]
        assert bool(current) == ({"lang": lang, "digits": "latn", "theme": "light", "size": "full"}[name] == value)


def test_the_kit_s_links_and_code_follow_the_options_chosen(web, make_campaign):
    slug = make_campaign().slug
    html = web.get(f"/en/c/{slug}/embed?lang=ar&digits=arab&theme=dark&size=compact&junk=1").get_data(as_text=True)
    assert "counter?lang=ar&amp;amp;digits=arab&amp;amp;theme=dark&amp;amp;size=compact" in html
    assert "height=&#34;124&#34;" in html  # the compact counter's height
    assert 'class="preview-counter size-compact"' in html
    assert "/sign?lang=ar&amp;amp;theme=dark" in html
    typo = web.get(f"/en/c/{slug}/embed?lang=zz&theme=neon")
    assert typo.status_code == 200
    assert "counter?lang=en&amp;amp;digits=latn&amp;amp;theme=light&amp;amp;size=full" in typo.get_data(as_text=True)
    assert web.get("/en/c/no-such-campaign/embed").status_code == 404


@pytest.mark.parametrize("lang", LANGS)
def test_the_campaign_page_leads_to_its_embed_kit(web, make_campaign, lang):
    slug = make_campaign().slug
    html = web.get(f"/{lang}/c/{slug}").get_data(as_text=True)
    assert f'href="/{lang}/c/{slug}/embed"' in html


# --- oEmbed ---

@pytest.mark.parametrize("lang", LANGS)
def test_a_campaign_page_names_its_oembed_and_it_answers_with_the_counter(web, make_campaign, lang):
    campaign = make_campaign()
    page = web.get(f"/{lang}/c/{campaign.slug}").get_data(as_text=True)
    [href] = re.findall(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', page)
    href = href.replace("&amp;", "&")
    assert href.startswith("http://sawt.test/oembed?")
    assert parse_qs(urlsplit(href).query) == {"url": [f"http://sawt.test/{lang}/c/{campaign.slug}"],
                                              "format": ["json"]}

    response = web.get(href.removeprefix("http://sawt.test"))

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers.get_all("Set-Cookie") == []
    body = response.get_json()
    assert {k: body[k] for k in ("version", "type", "width", "height")} == {
        "version": "1.0", "type": "rich", "width": 480, "height": 230}
    assert body["title"] == ("أطلقوا سراحهم" if lang == "ar" else "Set them free")
    assert body["provider_name"] == ("صوت" if lang == "ar" else "Sawt")
    [src] = re.findall(r'<iframe src="([^"]+)"', body["html"])
    assert src.replace("&amp;", "&") == \
        f"http://sawt.test/embed/{campaign.slug}/counter?lang={lang}&digits=latn&theme=light&size=full"
    assert 'width="480" height="230"' in body["html"]


def test_oembed_honours_maxwidth_and_maxheight_and_says_what_it_cannot_do(web, make_campaign):
    campaign = make_campaign()
    url = quote(f"http://sawt.test/en/c/{campaign.slug}?ref=wa", safe="")

    def ask(query: str):
        return web.get(f"/oembed?url={url}{query}")

    small = ask("&maxwidth=320&maxheight=150").get_json()
    assert (small["width"], small["height"]) == (320, 124)
    assert "size=compact" in small["html"]
    assert ask("&maxwidth=abc&maxheight=-4").get_json()["width"] == 480
    assert ask("&maxheight=50").status_code == 404  # nothing of ours is that small
    assert ask("&format=xml").status_code == 501
    assert ask("&format=XML").status_code == 501
    for other in ("", "&url=", "?url=http://elsewhere.example/en/c/" + campaign.slug):
        assert web.get(f"/oembed{other.replace('&', '?', 1)}").status_code == 404
    for address in (f"http://sawt.test/fr/c/{campaign.slug}", "http://sawt.test/en/c/no-such-campaign",
                    f"http://sawt.test/en/c/{make_campaign(publish=False).slug}", "http://sawt.test/en/",
                    "javascript:alert(1)", "http://[::1", "%00"):
        response = web.get(f"/oembed?url={quote(address, safe='')}&format=json")
        assert response.status_code == 404, address
        assert response.get_json() == {"error": "not_found", "status": 404}


def test_the_kit_names_the_oembed_answer_and_its_address_works_as_a_campaign_s(web, make_campaign):
    campaign = make_campaign()
    kit = web.get(f"/en/c/{campaign.slug}/embed").get_data(as_text=True)
    assert f"/oembed?url=http://sawt.test/en/c/{campaign.slug}" in kit
    response = web.get("/oembed?format=json&url=" + quote(f"http://sawt.test/en/c/{campaign.slug}/embed", safe=""))
    assert response.status_code == 200
    assert json.loads(response.get_data())["type"] == "rich"
