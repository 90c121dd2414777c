"""Share cards: the og:image of a campaign, with its title and live count, Arabic
shaped and right to left (Pillow's RAQM layout)."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, features

from campaign.amplify import cards

LANGS = ["ar", "en"]


def test_cards_can_be_drawn_here():
    assert features.check("raqm"), "Pillow has no RAQM: Arabic would come out unjoined"
    assert cards.available()


def ink_box(png: bytes, box: tuple[int, int, int, int]):
    """Where the dark ink is inside ``box``: None when the area is blank."""
    image = Image.open(io.BytesIO(png)).convert("L").crop(box)
    return ImageChops.invert(image).point(lambda v: 255 if v > 160 else 0).getbbox()


@pytest.mark.parametrize("lang", LANGS)
def test_a_card_shows_the_title_and_count_in_the_page_s_direction(client, make_campaign, lang):
    campaign = make_campaign(goal=5000)
    response = client.get(f"/{lang}/c/{campaign.slug}/card.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "public" in response.headers["Cache-Control"]
    png = response.get_data()
    assert Image.open(io.BytesIO(png)).size == (1200, 630)
    # The title's first line sits against the start edge: the right in Arabic.
    title = ink_box(png, (0, 130, 1200, 230))
    assert title is not None
    if lang == "ar":
        assert title[2] > 1100 and title[0] > 100
    else:
        assert title[0] < 100


def test_arabic_is_shaped_not_a_row_of_separate_letters():
    """The same word drawn with RAQM (joined) is narrower than its letters drawn one
    by one in their isolated forms, as an engine without shaping would."""
    from PIL import ImageDraw

    font = cards.font("bold", "ar", 64)
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    word = "سراحهم"
    joined = draw.textlength(word, font=font, direction="rtl")
    isolated = sum(draw.textlength(letter, font=font, direction="rtl") for letter in word)
    assert joined < isolated * 0.95


def test_the_card_is_drawn_again_when_the_count_moves_meaningfully():
    assert [cards.count_bucket(n) for n in (0, 7, 99, 100, 109, 110, 1234, 1299, 1300, 98765)] == \
        [0, 7, 99, 100, 100, 110, 1200, 1200, 1300, 98000]


@pytest.mark.parametrize("lang", LANGS)
def test_campaign_pages_name_their_card_for_link_previews(client, make_campaign, lang):
    slug = make_campaign().slug
    html = client.get(f"/{lang}/c/{slug}").get_data(as_text=True)
    assert f'<meta property="og:image" content="http://sawt.test/{lang}/c/{slug}/card.png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_drafts_have_no_card(client, make_campaign):
    slug = make_campaign(publish=False).slug
    assert client.get(f"/en/c/{slug}/card.png").status_code == 404
