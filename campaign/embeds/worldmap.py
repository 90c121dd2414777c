"""The world map of signatures by country, drawn by us as SVG.

The country shapes are one static file, static/vendor/world/countries.svg (Natural
Earth, public domain; made by bin/world-map): one <path> (or, for a country too
small to see, a <circle>) per ISO 3166 code, in a <g id="world">. It is served
gzipped and immutable like every static file, so a map costs a reader ~16 KB
once. A map itself is a few <use> elements pointing into that file: the world in
grey, then each country with enough signatures in a shade of the accent colour.
No tile, no script, nothing from another site.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from flask import current_app

from campaign.signatures.services import Breakdown

SHAPES = "vendor/world/countries.svg"
SHADES = 5
# Shades of the accent, lightest first, and the land without data; per theme.
PALETTES = {
    "light": {"land": "#e3ded2", "border": "#ffffff", "shades": ("#b7dccb", "#82c2a6", "#4fa37f", "#1f7d5b", "#0b5d4b")},
    "dark": {"land": "#3a3d40", "border": "#1b1d1f", "shades": ("#264d40", "#2f6e57", "#3f9474", "#5cbb95", "#8fe0bd")},
}


@dataclass(frozen=True)
class World:
    width: int
    height: int
    codes: frozenset[str]


@cache
def _world(path: str) -> World:
    with open(path, encoding="utf-8") as file:
        svg = file.read()
    width, height = (int(v) for v in re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    return World(width, height, frozenset(re.findall(r'id="([A-Z]{2})"', svg)))


def world() -> World:
    """The size of the map and the countries it can colour (read once per process)."""
    return _world(f"{current_app.static_folder}/{SHAPES}")


@dataclass(frozen=True)
class Country:
    code: str
    count: int
    shade: int  # 1 (fewest) … SHADES (most)
    on_map: bool


@dataclass(frozen=True)
class SignatureMap:
    """What a map shows: the countries with their shade, and the rest together."""

    countries: list[Country]
    other: int
    width: int
    height: int

    @property
    def shown(self) -> list[Country]:
        return [c for c in self.countries if c.on_map]

    @property
    def empty(self) -> bool:
        return not self.countries


def shade(count: int, fewest: int, most: int) -> int:
    """1…SHADES on a logarithmic scale from the smallest country shown to the
    largest: 10 and 10,000 signatures both need telling apart from their neighbours."""
    if most <= fewest:
        return SHADES
    share = (math.log(max(count, fewest)) - math.log(fewest)) / (math.log(most) - math.log(fewest))
    return 1 + round(min(1.0, share) * (SHADES - 1))


def signature_map(breakdown: Breakdown) -> SignatureMap:
    shapes = world()
    counts = [n for _code, n in breakdown.rows]
    fewest, most = (min(counts), max(counts)) if counts else (0, 0)
    countries = [Country(code, n, shade(n, fewest, most), code in shapes.codes) for code, n in breakdown.rows]
    return SignatureMap(countries, breakdown.other, shapes.width, shapes.height)


def palette(theme: str) -> dict:
    return PALETTES.get(theme, PALETTES["light"])
