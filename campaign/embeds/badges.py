"""Badges: a campaign's live count as an image, for newsletters and CMSs that allow
neither iframes nor scripts. The same layout is written as SVG (text the reader's
own fonts draw, right to left in Arabic) and drawn as PNG (Pillow with RAQM and
Debian's Noto, as the share cards are: campaign.amplify.cards).

Text widths come from those same fonts where they are installed, so the SVG's
boxes fit the text a reader with Noto sees (and roughly anyone else's); without
them an estimate leaves a little room.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache

from babel.dates import format_skeleton
from flask_babel import force_locale, format_time, get_translations, gettext
from markupsafe import escape

from campaign.amplify import cards
from campaign.embeds.options import EmbedOptions
from campaign.embeds.services import CampaignFacts
from campaign.i18n import format_number, localise_digits, text_direction

FONT_FAMILIES = {
    "ar": "'Noto Naskh Arabic','Noto Sans Arabic','Geeza Pro','Segoe UI',Tahoma,sans-serif",
    "en": "'Noto Sans','Segoe UI',Helvetica,Arial,sans-serif",
}
COLOURS = {
    "light": {"paper": "#ffffff", "line": "#d9d6cf", "ink": "#1b1d1f", "muted": "#4a5056", "accent": "#0b5d4b",
              "track": "#e3ded2", "label": "#3a3d40", "label_ink": "#ffffff", "value": "#0b5d4b",
              "value_ink": "#ffffff"},
    "dark": {"paper": "#1b1d1f", "line": "#4a5056", "ink": "#f3f1ec", "muted": "#c4c7ca", "accent": "#8fe0bd",
             "track": "#3a3d40", "label": "#e3ded2", "label_ink": "#1b1d1f", "value": "#8fe0bd",
             "value_ink": "#0b1f17"},
}
PNG_SCALE = 2  # drawn at twice the size, for sharp text on every screen
COMPACT_HEIGHT, COMPACT_PAD, COMPACT_TITLE = 28, 10, 220
FULL_WIDTH, FULL_PAD = 360, 14


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    fill: str
    radius: float = 0


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    size: int
    fill: str
    bold: bool = False
    align: str = "left"  # where x is: the text's left, centre or right


@dataclass
class Badge:
    width: int
    height: int
    lang: str
    label: str  # what the picture says, for alt text and screen readers
    radius: float
    boxes: list[Box] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)

    @property
    def direction(self) -> str:
        return text_direction(self.lang)


@cache
def _font(bold: bool, lang: str, size: int):
    return cards.font("bold" if bold else "regular", lang, size)


def measure(text: str, lang: str, size: int, bold: bool = False) -> float:
    """The text's width in pixels, in Noto where the fonts are here (else a generous
    estimate)."""
    if cards.available():
        return _font(bold, lang, size).getlength(text, direction=text_direction(lang))
    return len(text) * size * (0.62 if bold else 0.56)


def _shorten(text: str, lang: str, size: int, width: float, bold: bool = False) -> str:
    if measure(text, lang, size, bold) <= width:
        return text
    words = text.split()
    while len(words) > 1 and measure(" ".join(words) + " …", lang, size, bold) > width:
        words.pop()
    short = " ".join(words)
    while len(short) > 1 and measure(short + " …", lang, size, bold) > width:
        short = short[:-1]
    return short + " …"


def _wrap(text: str, lang: str, size: int, width: float, bold: bool, most: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and measure(candidate, lang, size, bold) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most]
        last = lines[-1]
        while " " in last and measure(last + " …", lang, size, bold) > width:
            last = last.rsplit(" ", 1)[0]
        lines[-1] = last + " …"
    return [_shorten(line, lang, size, width, bold) for line in lines]


@dataclass(frozen=True)
class BadgeTexts:
    title: str
    count: str
    goal: str
    as_of: str
    site: str


def badge_texts(facts: CampaignFacts, options: EmbedOptions) -> BadgeTexts:
    """The badge's words in the badge's language, numbers in its digits."""
    lang = options.lang
    digits = options.digits_for(facts.digits)
    with force_locale(lang):
        plural = get_translations().ngettext
        count = (plural("%(num)s confirmed signature", "%(num)s confirmed signatures", facts.verified)
                 % {"num": format_number(facts.verified, digits, lang)} if facts.verified
                 else gettext("Be the first to sign"))
        goal = (plural("Goal: %(num)s signature", "Goal: %(num)s signatures", facts.goal)
                % {"num": format_number(facts.goal, digits, lang)} if facts.goal else "")
        when = gettext("%(date)s, %(time)s", date=format_skeleton("yMMMd", facts.as_of, locale=lang),
                       time=gettext("%(time)s UTC", time=format_time(facts.as_of, "HH:mm")))
        as_of = gettext("As of %(time)s", time=localise_digits(when, digits, lang))
        return BadgeTexts(facts.title(lang), count, goal, as_of, gettext("Sawt"))


def layout(facts: CampaignFacts, options: EmbedOptions) -> Badge:
    texts = badge_texts(facts, options)
    colours = COLOURS[options.theme]
    lang = options.lang
    rtl = text_direction(lang) == "rtl"
    if options.size == "compact":
        size = 14 if lang == "ar" else 12
        label = _shorten(texts.title, lang, size, COMPACT_TITLE)
        label_width = round(measure(label, lang, size) + 2 * COMPACT_PAD)
        value_width = round(measure(texts.count, lang, size, True) + 2 * COMPACT_PAD)
        width = label_width + value_width
        label_x, value_x = (value_width, 0) if rtl else (0, label_width)
        badge = Badge(width, COMPACT_HEIGHT, lang, f"{texts.title}: {texts.count}", radius=4)
        baseline = 19 if lang == "ar" else 18
        badge.boxes += [Box(label_x, 0, label_width, COMPACT_HEIGHT, colours["label"]),
                        Box(value_x, 0, value_width, COMPACT_HEIGHT, colours["value"])]
        badge.texts += [Text(label_x + label_width / 2, baseline, label, size, colours["label_ink"], align="center"),
                        Text(value_x + value_width / 2, baseline, texts.count, size, colours["value_ink"], True,
                             align="center")]
        return badge

    inner = FULL_WIDTH - 2 * FULL_PAD
    start, align = (FULL_WIDTH - FULL_PAD, "right") if rtl else (FULL_PAD, "left")
    end, end_align = (FULL_PAD, "left") if rtl else (FULL_WIDTH - FULL_PAD, "right")
    arabic = lang == "ar"
    title_size, count_size, small = (16, 22, 13) if arabic else (15, 21, 12)
    badge = Badge(FULL_WIDTH, 0, lang, f"{texts.title}: {texts.count}", radius=8)
    y = FULL_PAD
    for line in _wrap(texts.title, lang, title_size, inner, True, 2):
        y += title_size + (9 if arabic else 6)
        badge.texts.append(Text(start, y, line, title_size, colours["ink"], True, align))
    y += count_size + 12
    badge.texts.append(Text(start, y, _shorten(texts.count, lang, count_size, inner, True), count_size,
                            colours["accent"], True, align))
    if facts.goal:
        y += 12
        share = min(1.0, facts.verified / facts.goal)
        filled = max(8.0, inner * share)  # a sliver even at zero, so it reads as a bar to fill
        badge.boxes.append(Box(FULL_PAD, y, inner, 8, colours["track"], 4))
        badge.boxes.append(Box(FULL_WIDTH - FULL_PAD - filled if rtl else FULL_PAD, y, filled, 8,
                               colours["accent"], 4))
        y += 8 + small + 8
        badge.texts.append(Text(start, y, _shorten(texts.goal, lang, small, inner), small, colours["muted"],
                                align=align))
    y += small + 10
    badge.texts.append(Text(start, y, texts.as_of, small, colours["muted"], align=align))
    badge.texts.append(Text(end, y, texts.site, small, colours["accent"], True, end_align))
    badge.height = round(y + FULL_PAD)
    badge.boxes.insert(0, Box(0.5, 0.5, FULL_WIDTH - 1, badge.height - 1, colours["paper"], badge.radius))
    badge.boxes.insert(0, Box(0, 0, FULL_WIDTH, badge.height, colours["line"], badge.radius))
    return badge


def _anchor(align: str, rtl: bool) -> str:
    """SVG's text-anchor names the start and end in the text's direction."""
    if align == "center":
        return "middle"
    return {("left", False): "start", ("right", False): "end", ("left", True): "end",
            ("right", True): "start"}[(align, rtl)]


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def to_svg(badge: Badge) -> str:
    """A standalone SVG document (valid XML, its own title, no external resource)."""
    rtl = badge.direction == "rtl"
    label = escape(badge.label)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{badge.width}" height="{badge.height}" '
        f'viewBox="0 0 {badge.width} {badge.height}" role="img" aria-label="{label}" xml:lang="{badge.lang}">',
        f"<title>{label}</title>",
        f'<clipPath id="edge"><rect width="{badge.width}" height="{badge.height}" rx="{_n(badge.radius)}"/></clipPath>',
        '<g clip-path="url(#edge)">',
    ]
    for box in badge.boxes:
        radius = f' rx="{_n(box.radius)}"' if box.radius else ""
        parts.append(f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}"'
                     f'{radius} fill="{box.fill}"/>')
    parts.append("</g>")
    parts.append(f'<g font-family="{FONT_FAMILIES.get(badge.lang, FONT_FAMILIES["en"])}" '
                 f'direction="{badge.direction}" unicode-bidi="embed">')
    for text in badge.texts:
        weight = ' font-weight="700"' if text.bold else ""
        parts.append(f'<text x="{_n(text.x)}" y="{_n(text.y)}" font-size="{text.size}"{weight} fill="{text.fill}" '
                     f'text-anchor="{_anchor(text.align, rtl)}">{escape(text.text)}</text>')
    parts.append("</g></svg>")
    return "\n".join(parts) + "\n"


def to_png(badge: Badge) -> bytes:
    """The badge drawn by Pillow (only where ``cards.available()``)."""
    from PIL import Image, ImageDraw

    s = PNG_SCALE
    image = Image.new("RGBA", (badge.width * s, badge.height * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for box in badge.boxes:
        shape = (box.x * s, box.y * s, (box.x + box.width) * s - 1, (box.y + box.height) * s - 1)
        if box.radius:
            draw.rounded_rectangle(shape, radius=box.radius * s, fill=box.fill)
        else:
            draw.rectangle(shape, fill=box.fill)
    for text in badge.texts:
        anchor = {"left": "ls", "center": "ms", "right": "rs"}[text.align]
        # Noto Naskh Arabic has no "…": three full stops, which it has.
        words = text.text.replace("…", "...") if badge.lang == "ar" else text.text
        draw.text((text.x * s, text.y * s), words, font=_font(text.bold, badge.lang, text.size * s),
                  fill=text.fill, anchor=anchor, direction=badge.direction)
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=badge.radius * s,
                                           fill=255)
    image.putalpha(Image.composite(image.getchannel("A"), mask, mask))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)  # optimize=True costs ten times as long
    return out.getvalue()
