"""The XLSX export read back by a spreadsheet library: every text is a string cell,
shown exactly as the signer typed it (no formula guard needed, none shown)."""
from __future__ import annotations

import io

import openpyxl

from campaign.exports import services
from campaign.signatures.models import Visibility
from tests.moderation_helpers import add_signature  # noqa: F401  (fixture)
from tests.test_exports import PAYLOADS


def test_xlsx_cells_are_strings_without_the_csv_apostrophe(session, make_campaign, add_signature):
    campaign = make_campaign()
    names = [payload.strip()[:120] or f"signer {i}" for i, payload in enumerate(PAYLOADS)]
    for i, (name, payload) in enumerate(zip(names, PAYLOADS)):
        add_signature(campaign, name, f"x{i}@example.org", visibility=Visibility.full_name,
                      comment=payload.strip() or "none", opt_in=True)
    add_signature(campaign, "'quoted' from the start", "q@example.org", visibility=Visibility.full_name,
                  comment="'single quotes' are kept", opt_in=True)
    session.commit()

    spool = io.BytesIO()
    services.write_xlsx(session, campaign, "en", spool)
    spool.seek(0)
    sheet = openpyxl.load_workbook(spool).active
    header, *table = list(sheet.iter_rows())
    assert [cell.value for cell in header][3] == "Name"
    for row in table:
        for cell in row:
            assert cell.data_type in ("s", "n"), (cell.coordinate, cell.data_type)  # "n": an empty cell
    exported = [(row[3].value, row[7].value) for row in table]
    expected = [(n, p.strip() or "none") for n, p in zip(names, PAYLOADS)]
    expected.append(("'quoted' from the start", "'single quotes' are kept"))
    assert exported == expected


def test_csv_keeps_its_formula_guard(session, make_campaign, add_signature):
    campaign = make_campaign()
    add_signature(campaign, "=HYPERLINK(\"http://evil\")", "e@example.org", visibility=Visibility.full_name)
    session.commit()
    text = b"".join(services.csv_chunks(session, campaign, "en")).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
