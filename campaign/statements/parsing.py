"""Reading signatory lists as statements publish them, and as CSV.

Pure functions: text in, plain values out. Nothing here touches the database, so
the organiser's preview and the final import read a pasted list the same way
(the confirm step simply parses the posted text again).

Shapes seen in published statements::

    1- The Syrian Network for Something
    2- Layla Haddad, a lawyer
    ١٢. ليلى حداد، محامية
    (3) Omar Khatib – journalist
    - Someone without a number

One signatory per line; blank lines are ignored. The number may be Latin or
Arabic-Indic, followed by ``-``, ``.``, ``)``, ``–``, ``—`` or ``:``. The name ends at
the first comma (``,`` or the Arabic ``،``); the rest is the role line.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from campaign.statements.models import SignatoryKind

MAX_LINES = 2000
MAX_NAME = 300
MAX_ROLE = 500

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Invisible marks that copying from web pages and word processors leaves behind.
_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u200b"))

_NUMBERED = re.compile(
    r"""^\(?\s*(?P<number>\d{1,5})\s*
        (?:[-.)\u2013\u2014:/]|\s-\s)+   # 1-  1.  1)  1–  (1)  1 -
        \s*(?P<rest>.*)$""",
    re.VERBOSE,
)
_BULLET = re.compile(r"^[-\u2013\u2014\u2022*\u00b7]\s*(?P<rest>.+)$")
_COMMA = re.compile(r"\s*[,\u060c]\s*")
# "Name – role" when there is no comma: a dash with spaces around it.
_SPACED_DASH = re.compile(r"\s+[-\u2013\u2014]\s+")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

# Words that make a name without a role line an organisation rather than a person.
_ORGANISATION_WORDS = {
    "association", "alliance", "campaign", "center", "centre", "coalition", "collective",
    "committee", "council", "foundation", "front", "group", "initiative", "institute",
    "league", "movement", "network", "observatory", "organisation", "organization",
    "party", "platform", "society", "syndicate", "union", "forum", "federation", "body",
    "commission", "trust", "project", "lab", "programme", "program", "bar", "ngo",
    "اتحاد", "ائتلاف", "تجمع", "تحالف", "جمعية", "جبهة", "حركة", "حزب", "حملة", "رابطة",
    "شبكة", "لجنة", "مبادرة", "مجلس", "مجموعة", "مرصد", "مركز", "منتدى", "منظمة", "مؤسسة",
    "نقابة", "هيئة", "منصة", "تنسيقية", "معهد", "مشروع", "فريق", "كتلة", "جماعة",
}


@dataclass(frozen=True)
class ParsedSignatory:
    line: int            # 1-based line number in what was pasted
    number: int | None   # the number written before it, if any
    name: str
    role: str
    kind: SignatoryKind
    locale: str          # "ar" when the name or role is written in Arabic letters


@dataclass(frozen=True)
class Unparsed:
    line: int
    text: str
    reason: str          # a key: "no_name", "too_long", "not_numbered", "too_many", "bad_kind", …


@dataclass
class ParsedList:
    signatories: list[ParsedSignatory] = field(default_factory=list)
    problems: list[Unparsed] = field(default_factory=list)


def clean_line(line: str) -> str:
    """NFC, no invisible bidi marks, Arabic-Indic digits as ASCII, single spaces."""
    line = unicodedata.normalize("NFC", line).translate(_INVISIBLE).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", line).strip()


def script_of(text: str) -> str:
    """"ar" when ``text`` has more Arabic letters than Latin ones, else "en"."""
    return "ar" if len(_ARABIC.findall(text)) > len(_LATIN.findall(text)) else "en"


def guess_kind(name: str, role: str) -> SignatoryKind:
    """An organisation when there is no role line and the name has a word that
    names a group ("Network", "جمعية", "المرصد" …); otherwise a person."""
    if role:
        return SignatoryKind.individual
    for word in re.findall(r"[\w\u0600-\u06ff]+", name.casefold()):
        for candidate in (word, word[2:] if word.startswith("ال") else word):
            if candidate in _ORGANISATION_WORDS:
                return SignatoryKind.organisation
    return SignatoryKind.individual


def split_name_role(rest: str) -> tuple[str, str]:
    """"Layla Haddad, a lawyer, Beirut" → ("Layla Haddad", "a lawyer, Beirut")."""
    parts = _COMMA.split(rest, maxsplit=1)
    if len(parts) == 1:
        parts = _SPACED_DASH.split(rest, maxsplit=1)
    name = parts[0].strip(" -\u2013\u2014:;")
    role = parts[1].strip(" -\u2013\u2014:;") if len(parts) > 1 else ""
    return name, role


def parse_list(text: str, *, locale: str | None = None) -> ParsedList:
    """Read a pasted list, one signatory per line.

    If most lines are numbered, a line without a number is reported rather than
    taken (it is likely a heading or a wrapped role line). ``locale`` forces the
    language of every entry; by default each line's script decides."""
    result = ParsedList()
    raw_lines = text.splitlines()
    lines = [(i, clean_line(raw).translate(_DIGITS)) for i, raw in enumerate(raw_lines, start=1)]
    lines = [(i, line) for i, line in lines if line]
    numbered = sum(1 for _, line in lines if _NUMBERED.match(line))
    mostly_numbered = numbered > 0 and numbered * 2 >= len(lines)
    for index, (number, line) in enumerate(lines):
        if index >= MAX_LINES:
            result.problems.append(Unparsed(number, line[:200], "too_many"))
            break
        match = _NUMBERED.match(line)
        written_number = None
        if match:
            written_number = int(match.group("number"))
            rest = match.group("rest")
        elif mostly_numbered:
            result.problems.append(Unparsed(number, line, "not_numbered"))
            continue
        else:
            bullet = _BULLET.match(line)
            rest = bullet.group("rest") if bullet else line
        name, role = split_name_role(rest)
        if not name or not re.search(r"\w", name):
            result.problems.append(Unparsed(number, line, "no_name"))
            continue
        if len(name) > MAX_NAME or len(role) > MAX_ROLE:
            result.problems.append(Unparsed(number, line[:200], "too_long"))
            continue
        result.signatories.append(ParsedSignatory(
            line=number,
            number=written_number,
            name=name,
            role=role,
            kind=guess_kind(name, role),
            locale=locale or script_of(name + role),
        ))
    return result


# --- CSV ------------------------------------------------------------------------

def csv_columns(languages: list[str]) -> list[str]:
    """The header of an exported list: the same columns are read back."""
    columns = ["number", "kind"]
    for lang in languages:
        columns += [f"name_{lang}", f"role_{lang}"]
    return columns + ["country", "website", "note"]


@dataclass(frozen=True)
class CsvSignatory:
    line: int
    kind: SignatoryKind
    names: dict[str, str]
    roles: dict[str, str]
    country: str | None
    url: str | None
    note: str | None


@dataclass
class CsvList:
    signatories: list[CsvSignatory] = field(default_factory=list)
    problems: list[Unparsed] = field(default_factory=list)


def literal_cell(value: str | None) -> str:
    """Undo the export's formula guard (exports.services.safe_cell): the apostrophe
    it put before a leading ``=``, ``+``, ``-`` or ``@`` is not part of the name."""
    from campaign.exports.services import safe_cell

    value = (value or "").strip()
    if value.startswith("'") and len(value) > 1 and safe_cell(value[1:]) == value:
        return value[1:]
    return value


_KIND_WORDS = {
    "organisation": SignatoryKind.organisation, "organization": SignatoryKind.organisation,
    "org": SignatoryKind.organisation, "منظمة": SignatoryKind.organisation, "مؤسسة": SignatoryKind.organisation,
    "individual": SignatoryKind.individual, "person": SignatoryKind.individual,
    "فرد": SignatoryKind.individual, "شخص": SignatoryKind.individual,
}


def parse_csv(text: str, languages: list[str]) -> CsvList:
    """Read a CSV with the export's columns (``name_ar``, ``role_en``, ``kind`` …;
    any other columns are ignored). Rows are taken in file order."""
    result = CsvList()
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if not any(h.startswith("name_") for h in header):
        result.problems.append(Unparsed(1, ",".join(header)[:200], "no_header"))
        return result
    for row in reader:
        line = reader.line_num
        if len(result.signatories) >= MAX_LINES:
            result.problems.append(Unparsed(line, "", "too_many"))
            break
        cell = {k: literal_cell(v if isinstance(v, str) else "") for k, v in row.items() if k}
        names = {lang: clean_line(cell.get(f"name_{lang}", "")) for lang in languages}
        roles = {lang: clean_line(cell.get(f"role_{lang}", "")) for lang in languages}
        if not any(names.values()):
            if any(v for v in cell.values()):
                result.problems.append(Unparsed(line, ",".join(v for v in cell.values() if v)[:200], "no_name"))
            continue
        if any(len(n) > MAX_NAME for n in names.values()) or any(len(r) > MAX_ROLE for r in roles.values()):
            result.problems.append(Unparsed(line, next(n for n in names.values() if n)[:200], "too_long"))
            continue
        written_kind = cell.get("kind", "").casefold()
        if written_kind and written_kind not in _KIND_WORDS:
            result.problems.append(Unparsed(line, written_kind[:200], "bad_kind"))
            continue
        name_any = next(n for n in names.values() if n)
        kind = _KIND_WORDS.get(written_kind) or guess_kind(name_any, next((r for r in roles.values() if r), ""))
        country = cell.get("country", "").upper() or None
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            country = None
        result.signatories.append(CsvSignatory(
            line=line, kind=kind, names=names, roles=roles, country=country,
            url=cell.get("website") or None, note=cell.get("note") or None,
        ))
    return result


def looks_like_csv(text: str, languages: list[str]) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    return any(f"name_{lang}" in first for lang in languages) and "," in first
