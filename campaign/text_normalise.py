"""Arabic-aware text normalisation for matching names: one function, used both for
searching signatures and for spotting likely duplicates.

People write the same Arabic name in several ways: with or without hamza on the alef
(أحمد / احمد / إحمد), with or without short vowels (مُحَمَّد / محمد), with a stretched
letter (محـــمد), ى for ي at the end of a word, ة or ه, Arabic-Indic digits. The
normalised form is for comparison only; it is never shown to anyone.
"""
from __future__ import annotations

import re
import unicodedata

from campaign.i18n import normalise_digits

# Tashkeel (fathatan … sukun, and the rarer marks up to U+065F), superscript alef,
# the Quranic annotation marks, and tatweel (kashida), which only stretches a word.
_REMOVE = dict.fromkeys(
    [*range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06DD), *range(0x06DF, 0x06E9), *range(0x06EA, 0x06EE),
     0x0640],
    None,
)
_LETTERS = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",  # alef with hamza, madda, wasla
    "ى": "ي",  # alef maqsura, often typed for a final ya
    "ی": "ي",  # Persian/Urdu ya
    "ک": "ك",  # Persian kaf
    "ة": "ه",  # ta marbuta, often typed as ha
    "ؤ": "و",  # waw with hamza
    "ئ": "ي",  # ya with hamza
})
_SPACE = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """The form of ``text`` used for matching: NFKC, case folded, Arabic diacritics
    and tatweel removed, alef/ya/ta marbuta/hamza-carrier variants unified,
    Arabic-Indic and Persian digits made ASCII, invisible format characters (bidi
    marks, zero-width joiners) dropped and whitespace collapsed.

    >>> normalise("  إحمد   مُحَمَّد ") == normalise("احمد محمد")
    True
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_REMOVE).translate(_LETTERS)
    text = normalise_digits(text)
    # Bidi marks and zero-width (non-)joiners change nothing a reader sees.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _SPACE.sub(" ", text).strip()
