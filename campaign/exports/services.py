"""Exports of a campaign's confirmed signers, as CSV and XLSX.

What a row shows follows what the signer chose: a counted-only signer is a date and
a country; initials stay initials; an address appears only for a signer who opted
in to updates and whose address we still keep. Rows come from a server-side cursor
in batches and leave as they are made, so memory stays flat however many there are.
Cells that a spreadsheet would run as a formula are made inert.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
import xlsxwriter
from babel import Locale
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign
from campaign.i18n import text_direction
from campaign.organiser import access, audit
from campaign.organiser.access import Permission
from campaign.organiser.models import Organiser
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.signatures.services import shown_name

# Rows fetched per round trip from the server-side cursor, and per CSV chunk sent.
BATCH = 2000
# An XLSX sheet holds 1,048,576 rows; the header takes one.
XLSX_ROWS_PER_SHEET = 1_048_575

# A spreadsheet runs a cell as a formula (or DDE command) when it starts with one of
# these, also after leading spaces; tab and carriage return are triggers themselves.
_FORMULA_TRIGGERS = frozenset("=+-@\t\r")


def safe_cell(value: str | None) -> str:
    """``value`` as a spreadsheet will take it literally: a leading apostrophe when
    the first visible character (after whitespace and invisible bidi or zero-width
    marks, and in its full-width form too) would start a formula."""
    if not value:
        return ""
    first = value[0]
    if first.isalnum():  # the usual case, Arabic letters included: nothing to do
        return value
    if first in _FORMULA_TRIGGERS:
        return "'" + value
    for ch in value:
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            if ch in _FORMULA_TRIGGERS:
                return "'" + value
            continue
        if unicodedata.normalize("NFKC", ch)[:1] in _FORMULA_TRIGGERS:
            return "'" + value
        break
    return value


COUNTED = Visibility.counted.value

_COLUMNS = (
    Signature.verified_at, Signature.country, Signature.name,
    # The stored value itself: no enum conversion per row.
    sa.type_coerce(Signature.visibility, sa.String()).label("visibility"),
    Signature.opt_in, Signature.email, Signature.locale, Signature.comment,
)


def _verified(campaign: Campaign):
    return sa.and_(Signature.campaign_id == campaign.id, Signature.state == SignatureState.verified)


def count_rows(session: Session, campaign: Campaign) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Signature).where(_verified(campaign))) or 0


@dataclass(frozen=True)
class _Labels:
    header: list[str]
    visibility: dict[str, str]  # by stored value
    countries: dict[str, str]
    sheet: str
    direction: str


def _labels(lang: str) -> _Labels:
    with force_locale(lang):
        header = [_("Confirmed at (UTC)"), _("Country code"), _("Country"), _("Name"), _("Shown publicly as"),
                  _("E-mail (opted in to updates)"), _("Language"), _("Comment")]
        visibility = {v.value: v.value_title for v in Visibility}
        sheet = _("Signatures")
    return _Labels(header, visibility, dict(Locale.parse(lang).territories), sheet[:31], text_direction(lang))


def _as_is(value: str | None) -> str:
    return value or ""


def rows(session: Session, campaign: Campaign, lang: str, guard=safe_cell) -> Iterator[list[str]]:
    """The header, then one list of cells per confirmed signature, oldest first,
    the free-text ones passed through ``guard`` (formula-safe by default).
    Streams: a server-side cursor, BATCH rows at a time."""
    labels = _labels(lang)
    yield labels.header
    # Core rows on the session's connection (no ORM bookkeeping per row);
    # yield_per streams them from a server-side cursor.
    result = session.connection().execute(
        sa.select(*_COLUMNS).where(_verified(campaign)).order_by(Signature.id)
        .execution_options(yield_per=BATCH)
    )
    countries, visibility_titles = labels.countries, labels.visibility
    try:
        # Tuples, not attribute access: this loop runs once per signer.
        for verified_at, country, name, visibility, opt_in, email, locale, comment in result:
            shown = visibility != COUNTED
            yield [
                verified_at.isoformat(" ", "minutes") if verified_at else "",
                country or "",
                countries.get(country, country or ""),
                # Visibility is a str enum: the stored value compares equal to it.
                guard(shown_name(visibility, name) or ""),
                visibility_titles[visibility],
                guard(email) if opt_in and email else "",
                locale or "",
                guard(comment) if shown and comment else "",
            ]
    finally:
        result.close()


def csv_chunks(session: Session, campaign: Campaign, lang: str) -> Iterator[bytes]:
    """The CSV as UTF-8 with a byte-order mark (so Excel reads Arabic right), in
    chunks of about BATCH rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff".encode()
    for n, cells in enumerate(rows(session, campaign, lang), 1):
        writer.writerow(cells)
        if n % BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_xlsx(session: Session, campaign: Campaign, lang: str, target: IO[bytes] | str) -> int:
    """Write the XLSX to ``target`` with xlsxwriter in constant-memory mode (each
    row goes to disk as it is written); right-to-left sheets for Arabic. Every cell
    is written as a string, never a formula. Returns the number of signers."""
    labels = _labels(lang)
    workbook = xlsxwriter.Workbook(target, {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    bold = workbook.add_format({"bold": True})
    written = 0
    sheet, row_index = None, XLSX_ROWS_PER_SHEET + 1
    # Written as string cells, which a spreadsheet never runs as formulas: the CSV's
    # apostrophe would only show up as a literal ' in front of the text.
    stream = rows(session, campaign, lang, guard=_as_is)
    header = next(stream)
    for cells in stream:
        if row_index > XLSX_ROWS_PER_SHEET:
            sheet = _new_sheet(workbook, labels, header, bold)
            row_index = 1
        for column, value in enumerate(cells):
            if value:  # an empty cell need not be written at all
                sheet.write_string(row_index, column, value)
        row_index += 1
        written += 1
    if sheet is None:
        _new_sheet(workbook, labels, header, bold)
    workbook.close()
    return written


def _new_sheet(workbook, labels: _Labels, header: list[str], bold):
    number = len(workbook.worksheets()) + 1
    sheet = workbook.add_worksheet(labels.sheet if number == 1 else f"{labels.sheet[:26]} ({number})")
    if labels.direction == "rtl":
        sheet.right_to_left()
    for column, width in enumerate((18, 8, 20, 28, 22, 30, 8, 40)):
        sheet.set_column(column, column, width)
    for column, value in enumerate(header):
        sheet.write_string(0, column, value, bold)
    sheet.freeze_panes(1, 0)
    return sheet


def record_export(session: Session, actor: Organiser, campaign: Campaign, fmt: str) -> int:
    """Check the permission and write the audit entry before any data leaves.
    Returns the number of rows the export will hold."""
    access.require_campaign(actor, Permission.export_signers, campaign)
    count = count_rows(session, campaign)
    audit.record(session, actor, f"export.{fmt}", campaign=campaign, format=fmt, rows=count)
    return count
