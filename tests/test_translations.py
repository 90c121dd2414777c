"""The Arabic catalogue is complete and safe: every string in the code has a
non-fuzzy Arabic translation, placeholders survive translation, and the compiled
catalogue is what the app serves.

To fix a failure, translate the listed strings into a JSON file and run
``flask --app app translate fill FILE`` (see campaign/translate_cli.py)."""
from __future__ import annotations

import gettext
import re

import pytest
from babel.messages.pofile import read_po

from campaign.config import ROOT
from campaign.translate_cli import extract

PO = ROOT / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
# %(name)s, %(max)d, … and bare %s / %d (which a translation must not introduce).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
ARABIC = re.compile(r"[\u0600-\u06FF]")


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text.replace("%%", ""))}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Strings extracted fresh from the source, not the committed messages.pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    extract(pot)
    with open(pot, "rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def arabic():
    with open(PO, "rb") as fh:
        return read_po(fh, locale="ar")


def _forms(message) -> tuple[str, ...]:
    return tuple(message.string) if message.pluralizable else (message.string,)


def test_every_string_has_arabic(template, arabic):
    missing = []
    for source in template:
        if not source.id:
            continue
        translated = arabic.get(source.id)
        if translated is None or translated.fuzzy or not all(s and s.strip() for s in _forms(translated)):
            missing.append(source.id[0] if source.pluralizable else source.id)
    assert not missing, (
        f"{len(missing)} string(s) without Arabic in {PO.relative_to(ROOT)} "
        "(run `flask --app app translate fill FILE.json`):\n  " + "\n  ".join(map(repr, missing))
    )


def _single_n_forms(catalog) -> set[int]:
    """Plural forms used for exactly one number (Arabic: 0, 1 and 2), which may say
    the number in words ("توقيعان") instead of showing %(num)s."""
    plural = gettext.c2py(catalog.plural_expr)
    users: dict[int, set[int]] = {}
    for n in range(1000):
        users.setdefault(plural(n), set()).add(n)
    return {form for form, numbers in users.items() if len(numbers) == 1}


def test_placeholders_survive_translation(template, arabic):
    single = _single_n_forms(arabic)
    problems = []
    for source in template:
        if not source.id:
            continue
        translated = arabic.get(source.id)
        if translated is None:
            continue  # reported by test_every_string_has_arabic
        ids = source.id if source.pluralizable else (source.id,)
        expected = set().union(*(placeholders(i) for i in ids))
        for index, form in enumerate(_forms(translated)):
            if not form:
                continue
            found = placeholders(form)
            label = f"{ids[0]!r}" + (f" [form {index}]" if source.pluralizable else "")
            if found - expected:
                problems.append(f"{label}: unknown {sorted(found - expected)}")
            lost = expected - found
            if source.pluralizable and index in single:
                lost = {p for p in lost if not p.startswith("%(num)")}
            if lost:
                problems.append(f"{label}: lost {sorted(lost)}")
            if expected or source.pluralizable:
                try:
                    form % _AnyValue()
                except (ValueError, TypeError, KeyError) as exc:
                    problems.append(f"{label}: does not format ({exc}); write a literal % as %%")
    assert not problems, "placeholder problems in the Arabic catalogue:\n  " + "\n  ".join(problems)


class _AnyValue(dict):
    """A mapping with a number for every name, to try formatting a translation."""

    def __missing__(self, key):
        return 7


def test_the_app_serves_the_compiled_arabic(app, arabic):
    from flask_babel import force_locale, gettext as _, ngettext

    with app.test_request_context("/ar/"), force_locale("ar"):
        sign = _("Sign")
        assert ARABIC.search(sign), f"the compiled catalogue gives {sign!r} for 'Sign'"
        assert sign == arabic.get("Sign").string
        # Plural forms come out by the catalogue's own formula, with the number filled in.
        message = arabic.get("%(num)s signature")
        plural = gettext.c2py(arabic.plural_expr)
        for n in (0, 1, 2, 3, 11, 100, 1000):
            assert ngettext("%(num)s signature", "%(num)s signatures", n) == message.string[plural(n)] % {"num": n}
    with app.test_request_context("/en/"), force_locale("en"):
        assert _("Sign") == "Sign"
