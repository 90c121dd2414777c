"""The signatory-list parser: the shapes published statements use."""
from __future__ import annotations

import pytest

from campaign.statements.models import SignatoryKind
from campaign.statements.parsing import (
    MAX_LINES,
    clean_line,
    guess_kind,
    literal_cell,
    looks_like_csv,
    parse_csv,
    parse_list,
    script_of,
    split_name_role,
)

LANGS = ["ar", "en"]


def names(result):
    return [s.name for s in result.signatories]


@pytest.mark.parametrize("separator", ["-", ".", ")", "–", "—", ":", " -", " - "])
def test_number_followed_by_any_separator(separator):
    result = parse_list(f"1{separator} Layla Haddad, a lawyer\n2{separator} Omar Khatib, a journalist")
    assert names(result) == ["Layla Haddad", "Omar Khatib"]
    assert [s.role for s in result.signatories] == ["a lawyer", "a journalist"]
    assert [s.number for s in result.signatories] == [1, 2]
    assert result.problems == []


def test_number_in_brackets():
    result = parse_list("(1) Layla Haddad, a lawyer\n(2) Omar Khatib")
    assert names(result) == ["Layla Haddad", "Omar Khatib"]


def test_arabic_indic_numbers_and_arabic_comma():
    result = parse_list("١- ليلى حداد، محامية\n٢. عمر الخطيب، صحفي ومدوّن\n١٢) سلمى يوسف، شقيقة معتقل")
    assert [s.number for s in result.signatories] == [1, 2, 12]
    assert names(result) == ["ليلى حداد", "عمر الخطيب", "سلمى يوسف"]
    assert [s.role for s in result.signatories] == ["محامية", "صحفي ومدوّن", "شقيقة معتقل"]
    assert {s.locale for s in result.signatories} == {"ar"}


def test_persian_digits_too():
    assert parse_list("۳- سلمى يوسف").signatories[0].number == 3


def test_name_ends_at_the_first_comma_only():
    result = parse_list("5- Basil Jaber, the brother of a detainee, the son of another, and a teacher")
    assert result.signatories[0].name == "Basil Jaber"
    assert result.signatories[0].role == "the brother of a detainee, the son of another, and a teacher"


def test_dash_inside_the_role_is_kept():
    result = parse_list("6- Rami Saleh, managing editor of Al-Jisr newspaper – Germany")
    assert result.signatories[0].role == "managing editor of Al-Jisr newspaper – Germany"


def test_spaced_dash_separates_name_and_role_when_there_is_no_comma():
    assert split_name_role("Rami Saleh – a journalist") == ("Rami Saleh", "a journalist")
    # A hyphen inside a name is not a separator.
    assert split_name_role("Omar Al-Khatib") == ("Omar Al-Khatib", "")


def test_titles_with_full_stops_stay_in_the_name():
    result = parse_list("11- Dr. Muna Salem, a physician\n12. Prof. Adel Nasr")
    assert names(result) == ["Dr. Muna Salem", "Prof. Adel Nasr"]


def test_blank_lines_and_spacing_are_ignored():
    text = "\n\n1-   Layla Haddad ,  a lawyer  \n\n\n   \n2-Omar Khatib\n\n"
    result = parse_list(text)
    assert names(result) == ["Layla Haddad", "Omar Khatib"]
    assert result.signatories[0].role == "a lawyer"
    # Line numbers count from the pasted text, blank lines included.
    assert [s.line for s in result.signatories] == [3, 7]


def test_missing_roles():
    result = parse_list("1- Layla Haddad\n2- Omar Khatib, a journalist")
    assert [s.role for s in result.signatories] == ["", "a journalist"]


def test_organisations_and_individuals_mixed():
    result = parse_list(
        "1- Observatory for Detainees' Rights\n"
        "2- Layla Haddad, a lawyer\n"
        "3- جمعية أهالي المفقودين\n"
        "4- المرصد المستقل للسجون\n"
        "5- Women's Network for Justice\n"
        "6- Samir Odeh"
    )
    assert [s.kind for s in result.signatories] == [
        SignatoryKind.organisation, SignatoryKind.individual, SignatoryKind.organisation,
        SignatoryKind.organisation, SignatoryKind.organisation, SignatoryKind.individual,
    ]


def test_a_role_line_makes_an_individual_even_with_an_organisation_word():
    assert guess_kind("Layla Haddad", "member of the Network of Lawyers") == SignatoryKind.individual


def test_either_language_per_line():
    result = parse_list("1- Layla Haddad, a lawyer\n2- ليلى حداد، محامية")
    assert [s.locale for s in result.signatories] == ["en", "ar"]


def test_language_can_be_forced():
    result = parse_list("1- Layla Haddad", locale="ar")
    assert result.signatories[0].locale == "ar"


def test_mixed_arabic_and_latin_in_one_line():
    result = parse_list("7- سامر الحلبي، محرر في موقع Syria Direct")
    assert result.signatories[0].name == "سامر الحلبي"
    assert result.signatories[0].role == "محرر في موقع Syria Direct"
    assert result.signatories[0].locale == "ar"
    assert script_of("Omar, محامٍ في بيروت") == "ar"


def test_unnumbered_line_in_a_numbered_list_is_flagged():
    result = parse_list("Signatories:\n1- Layla Haddad\n2- Omar Khatib\nand many others")
    assert names(result) == ["Layla Haddad", "Omar Khatib"]
    assert [(p.line, p.reason) for p in result.problems] == [(1, "not_numbered"), (4, "not_numbered")]


def test_unnumbered_list_one_per_line():
    result = parse_list("Layla Haddad, a lawyer\nOmar Khatib\n• Samir Odeh, a teacher\n- Huda Karim")
    assert names(result) == ["Layla Haddad", "Omar Khatib", "Samir Odeh", "Huda Karim"]
    assert all(s.number is None for s in result.signatories)


def test_line_without_a_name_is_flagged():
    result = parse_list("1- Layla Haddad\n2- , a lawyer\n3- \u060c\n4- Omar Khatib")
    assert names(result) == ["Layla Haddad", "Omar Khatib"]
    assert [(p.line, p.reason) for p in result.problems] == [(2, "no_name"), (3, "no_name")]


def test_too_long_line_is_flagged():
    result = parse_list("1- " + "x" * 400 + "\n2- Omar Khatib")
    assert names(result) == ["Omar Khatib"]
    assert result.problems[0].reason == "too_long"
    assert len(result.problems[0].text) <= 200


def test_invisible_bidi_marks_are_removed():
    result = parse_list("\u200f1- \u202bليلى حداد\u202c\u060c محامية\ufeff")
    assert result.signatories[0].name == "ليلى حداد"
    assert clean_line("a\u00a0\u00a0b\u200e") == "a b"


def test_more_than_two_hundred_lines():
    text = "\n".join(f"{n}- Person {n}, role {n}" for n in range(1, 251))
    result = parse_list(text)
    assert len(result.signatories) == 250
    assert result.signatories[-1].name == "Person 250"
    assert result.problems == []


def test_arabic_list_of_two_hundred_lines_with_arabic_numbers():
    digits = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    text = "\n\n".join(f"{str(n).translate(digits)}- الاسم {n}، الصفة {n}" for n in range(1, 221))
    result = parse_list(text)
    assert len(result.signatories) == 220
    assert result.signatories[199].number == 200


def test_too_many_lines_are_reported_not_taken():
    text = "\n".join(f"{n}- P{n}" for n in range(1, MAX_LINES + 3))
    result = parse_list(text)
    assert len(result.signatories) == MAX_LINES
    assert result.problems[0].reason == "too_many"


def test_published_list_shape():
    """The shape of a real published statement's list (invented names)."""
    text = """

1- The Observatory for Missing Persons (OMP)


2- Hadi Abdel Karim, the head of the Democratic Civic Body (DCB)


3- Rana Aziz, an actress and director


4- Zenobia Society


5- Dr. Karim Saleh Ibrahim, a civil and human rights activist


6- Ahmad Tamer Kassab, the brother of a detainee called Mahmoud Tamer Kassab

7- Samira Z'air, member of the coordination committee in the Women's Network
"""
    result = parse_list(text)
    assert len(result.signatories) == 7
    assert result.problems == []
    assert result.signatories[0].kind == SignatoryKind.organisation
    assert result.signatories[3].kind == SignatoryKind.organisation
    assert result.signatories[6].name == "Samira Z'air"


# --- CSV ---

def test_csv_with_the_export_columns():
    text = (
        "\ufeffnumber,kind,name_ar,role_ar,name_en,role_en,country,website,note\n"
        "1,organisation,شبكة العدالة,,Justice Network,,LB,https://example.org,met in May\n"
        "2,individual,ليلى حداد,محامية,Layla Haddad,a lawyer,SY,,\n"
    )
    assert looks_like_csv(text, LANGS)
    result = parse_csv(text, LANGS)
    assert result.problems == []
    first, second = result.signatories
    assert first.kind == SignatoryKind.organisation
    assert first.names == {"ar": "شبكة العدالة", "en": "Justice Network"}
    assert first.country == "LB" and first.url == "https://example.org" and first.note == "met in May"
    assert second.roles == {"ar": "محامية", "en": "a lawyer"}


def test_csv_rows_without_a_name_and_bad_kinds_are_flagged():
    text = "name_en,role_en,kind\n,a lawyer,individual\nOmar,,robot\nHuda,,\n"
    result = parse_csv(text, LANGS)
    assert [s.names["en"] for s in result.signatories] == ["Huda"]
    assert [p.reason for p in result.problems] == ["no_name", "bad_kind"]


def test_csv_without_name_columns_is_refused():
    result = parse_csv("a,b\n1,2\n", LANGS)
    assert result.signatories == [] and result.problems[0].reason == "no_header"


def test_formula_guard_is_undone_on_import():
    assert literal_cell("'=HYPERLINK(\"x\")") == '=HYPERLINK("x")'
    assert literal_cell("'-Omar") == "-Omar"
    assert literal_cell("O'Neil") == "O'Neil"
    assert literal_cell("'Quoted'") == "'Quoted'"
