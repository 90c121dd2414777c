"""What a journalist may choose for an embed, read from its query string.

A typo in an embed's address ends up in a published article: every value that is
not one of the choices falls back to its default, and no option ever gives an
error page."""
from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from campaign.i18n import DEFAULT_LANGUAGE, LANGUAGES

THEMES = ("light", "dark")
SIZES = ("full", "compact")
DIGITS = ("arab", "latn")
# The order of the options in every address we write (the embed kit's code, oEmbed).
NAMES = ("lang", "digits", "theme", "size")


@dataclass(frozen=True)
class EmbedOptions:
    lang: str = DEFAULT_LANGUAGE
    # None: the campaign's own choice. Arabic-Indic digits show in Arabic only
    # (campaign.i18n.uses_arabic_indic), as on the campaign page.
    digits: str | None = None
    theme: str = THEMES[0]
    size: str = SIZES[0]

    @classmethod
    def from_args(cls, args, *, default_lang: str = DEFAULT_LANGUAGE) -> EmbedOptions:
        def pick(name: str, choices, default):
            value = args.get(name)
            value = value.strip().lower() if isinstance(value, str) else None
            return value if value in choices else default

        return cls(
            lang=pick("lang", LANGUAGES, default_lang if default_lang in LANGUAGES else DEFAULT_LANGUAGE),
            digits=pick("digits", DIGITS, None),
            theme=pick("theme", THEMES, THEMES[0]),
            size=pick("size", SIZES, SIZES[0]),
        )

    def digits_for(self, campaign_digits: str) -> str:
        return self.digits or campaign_digits

    @property
    def key(self) -> str:
        """The options in a cache key: one entry per distinct choice, whatever was typed."""
        return f"{self.lang}:{self.digits or '-'}:{self.theme}:{self.size}"

    def query(self, campaign_digits: str | None = None) -> str:
        """``?lang=…&digits=…&theme=…&size=…``: every option spelt out, in one order,
        so that the code a journalist copies says what it shows."""
        values = {"lang": self.lang, "digits": self.digits or campaign_digits, "theme": self.theme,
                  "size": self.size}
        return "?" + urlencode({name: values[name] for name in NAMES if values[name]})

    def but(self, **changes) -> EmbedOptions:
        return replace(self, **changes)
