"""Share cards: the picture a link preview shows (og:image, 1200×630 PNG), with the
campaign's title and its live count, Arabic shaped and right to left.

Pillow shapes Arabic only with its RAQM layout engine (libraqm with FriBiDi and
HarfBuzz, in Pillow's wheels); the fonts are Debian's Noto (fonts-noto-core, which
bin/test installs). Without either the card is not drawn and pages name none.
A card is redrawn when the count moves meaningfully (its first two digits change)
and kept in the app's cache in between.
"""
from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from flask_babel import force_locale, get_translations, gettext
from PIL import Image, ImageDraw, ImageFont, features

from campaign.campaigns.models import Campaign
from campaign.extensions import cache as app_cache
from campaign.i18n import format_number, text_direction

WIDTH, HEIGHT = 1200, 630
MARGIN = 72
INK, PAPER, ACCENT, MUTED = "#1b1b1b", "#fbf8f1", "#0b6e4f", "#5a5a5a"
_FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"))
_FONTS = {"regular": ("NotoNaskhArabic-Regular.ttf", "NotoSans-Regular.ttf"),
          "bold": ("NotoNaskhArabic-Bold.ttf", "NotoSans-Bold.ttf")}


@cache
def _font_path(weight: str, script: str) -> Path | None:
    name = _FONTS[weight][0 if script == "arabic" else 1]
    return next((d / name for d in _FONT_DIRS if (d / name).exists()), None)


@cache
def available() -> bool:
    """Whether cards can be drawn here: RAQM and the fonts (the machine's, fixed
    for the life of the process; every campaign page asks)."""
    return features.check("raqm") and all(_font_path(w, s) for w in _FONTS for s in ("arabic", "latin"))


def font(weight: str, lang: str, size: int) -> ImageFont.FreeTypeFont:
    """Noto in ``weight`` (regular, bold) for ``lang``'s script, shaped by RAQM; only
    where ``available()``. The embeds' badges draw and measure with it too."""
    script = "arabic" if lang == "ar" else "latin"
    return ImageFont.truetype(str(_font_path(weight, script)), size, layout_engine=ImageFont.Layout.RAQM)


def _lines(draw: ImageDraw.ImageDraw, text: str, font, width: int, direction: str, most: int) -> list[str]:
    """Words wrapped to ``width``, at most ``most`` lines (the last one shortened)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font, direction=direction) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1] + " …"
    return lines


def count_bucket(count: int) -> int:
    """The count rounded to its first two digits: a card is redrawn when this moves."""
    if count < 100:
        return count
    scale = 10 ** (len(str(count)) - 2)
    return count // scale * scale


def draw_card(campaign: Campaign, lang: str) -> bytes:
    """The card as PNG bytes, in ``lang``."""
    direction = text_direction(lang)
    rtl = direction == "rtl"
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    x = WIDTH - MARGIN if rtl else MARGIN
    anchor = "ra" if rtl else "la"
    draw.rectangle((0, 0, WIDTH, 16), fill=ACCENT)

    with force_locale(lang):
        site = gettext("Sawt")
        count = campaign.verified_count
        number = format_number(count, campaign.digits.value, lang)
        plural = get_translations().ngettext  # with the number as the page writes it
        count_line = (plural("%(num)s confirmed signature", "%(num)s confirmed signatures", count) % {"num": number}
                      if count else gettext("Be the first to sign"))
        goal_line = (plural("Goal: %(num)s signature", "Goal: %(num)s signatures", campaign.goal)
                     % {"num": format_number(campaign.goal, campaign.digits.value, lang)} if campaign.goal else "")
    y = 56
    draw.text((x, y), site, font=font("bold", lang, 40), fill=ACCENT, anchor=anchor, direction=direction)
    y += 90
    title_font = font("bold", lang, 64)
    for line in _lines(draw, campaign.title_in(lang), title_font, WIDTH - 2 * MARGIN, direction, 3):
        draw.text((x, y), line, font=title_font, fill=INK, anchor=anchor, direction=direction)
        y += 92
    y = max(y + 20, 430)
    draw.text((x, y), count_line, font=font("bold", lang, 52), fill=INK, anchor=anchor, direction=direction)
    if campaign.goal:
        y += 80
        bar = (MARGIN, y, WIDTH - MARGIN, y + 22)
        draw.rounded_rectangle(bar, radius=11, fill="#e3ded2")
        share = min(1.0, count / campaign.goal)
        filled = max(22, int((bar[2] - bar[0]) * share))  # a sliver even at zero
        left = bar[2] - filled if rtl else bar[0]
        draw.rounded_rectangle((left, bar[1], left + filled, bar[3]), radius=11, fill=ACCENT)
        draw.text((x, y + 34), goal_line, font=font("regular", lang, 32), fill=MUTED, anchor=anchor,
                  direction=direction)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def card_png(campaign: Campaign, lang: str) -> bytes:
    """The card from the cache, drawn again when the count has moved meaningfully."""
    key = f"card:{campaign.slug}:{lang}:{campaign.state.value}:{count_bucket(campaign.verified_count)}"
    png = app_cache.get(key)
    if png is None:
        png = draw_card(campaign, lang)
        app_cache.set(key, png, timeout=3600)
    return png
