"""Statements through the test client: the request to be added, the workspace
(paste → preview → confirm, export, approve), the PDF, versions, and what the
public never sees."""
from __future__ import annotations

import subprocess
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import CampaignKind
from campaign.extensions import db
from campaign.statements import pdf, services
from campaign.statements.models import ListOrder, Signatory, SignatoryKind, SignatoryState
from campaign.statements.services import SignatoryInput
from tests.conftest import body_text, csrf_token, link_in, login


@pytest.fixture
def owner(make_organiser):
    return make_organiser("owner")


@pytest.fixture
def statement(make_campaign, owner):
    return make_campaign(kind=CampaignKind.statement, slug="joint-statement",
                         organisation_id=owner.memberships[0].organisation_id)


def _signatories(session, slug):
    return services.public_signatories(session, campaigns.get_by_slug(session, slug))


def request_to_sign(client, slug, lang="en", **fields):
    data = {"kind": "organisation", "name_en": "Observatory for Missing Persons",
            "name_ar": "مرصد المفقودين", "role_en": "", "role_ar": "", "country": "LB",
            "email": "contact@observatory.example", "website": "observatory.example"}
    data.update(fields)
    return client.post(f"/{lang}/c/{slug}/endorse", data=data)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_request_confirm_approve_withdraw_through_the_web(client, session, statement, owner, deliver, lang):
    slug = statement.slug
    login(client, owner)  # before the worker runs: it ends the test's session
    page = client.get(f"/{lang}/c/{slug}/endorse")
    assert page.status_code == 200
    assert f'dir="{"rtl" if lang == "ar" else "ltr"}"' in page.get_data(as_text=True)

    response = request_to_sign(client, slug, lang)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/{lang}/c/{slug}/endorse/check-email")
    assert client.get(response.headers["Location"]).status_code == 200

    [mail] = deliver()
    assert mail["To"] == "contact@observatory.example"
    confirm_path = urlsplit(link_in(mail, "/endorse/confirm/")).path
    assert confirm_path.startswith(f"/{lang}/")
    page = client.get(confirm_path)
    assert page.status_code == 200 and "Observatory for Missing Persons" in page.get_data(as_text=True) \
        or "مرصد المفقودين" in page.get_data(as_text=True)
    assert client.post(confirm_path).status_code == 200
    assert client.get(confirm_path).status_code == 404  # used

    request_row = session.scalar(sa.select(Signatory))
    assert request_row.state == SignatoryState.pending
    workspace = f"/{lang}/manage/campaigns/{request_row.campaign_id}/signatories/"
    html = client.get(workspace).get_data(as_text=True)
    assert "observatory.example" in html  # the domain helps the organiser decide
    token = csrf_token(client, workspace)
    response = client.post(f"{workspace}{request_row.id}/approve",
                           data={"csrf_token": token, "role_en": "a monitoring group", "role_ar": "مجموعة رصد"})
    assert response.status_code == 303
    [approved] = deliver()
    assert approved["To"] == "contact@observatory.example"
    listed = _signatories(session, slug)
    assert [s.role("en") for s in listed] == ["a monitoring group"]
    assert listed[0].email is None and listed[0].url == "https://observatory.example"

    withdraw_path = urlsplit(link_in(approved, "/endorse/withdraw/")).path
    assert client.get(withdraw_path).status_code == 200
    assert client.post(withdraw_path).status_code == 200
    assert _signatories(session, slug) == []
    assert client.get(withdraw_path).status_code == 404


def test_the_role_line_given_on_approval_is_held_to_the_form_s_limits(client, session, statement, owner, deliver):
    """A NUL in it was stored (a 500 on PostgreSQL, which refuses NUL), and so was a
    role longer than its column (a 500 there too). Found by tests/test_hostile_input.py."""
    slug = statement.slug
    login(client, owner)
    assert request_to_sign(client, slug).status_code == 303
    [mail] = deliver()
    assert client.post(urlsplit(link_in(mail, "/endorse/confirm/")).path).status_code == 200
    request_row = session.scalar(sa.select(Signatory))
    workspace = f"/en/manage/campaigns/{request_row.campaign_id}/signatories/"
    token = csrf_token(client, workspace)
    response = client.post(f"{workspace}{request_row.id}/approve", data={"csrf_token": token, "role_en": "x" * 501})
    assert response.status_code == 400
    assert client.post(f"{workspace}{request_row.id}/approve",
                       data={"csrf_token": token, "role_en": "a\x00 monitoring group"}).status_code == 303
    [listed] = _signatories(session, slug)
    assert listed.text("en").role == "a monitoring group"


def test_request_form_errors_and_honeypot(client, session, statement, deliver):
    response = request_to_sign(client, statement.slug, name_en="", name_ar="", email="not-an-address")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "at least one language" in html and "does not look right" in html
    assert request_to_sign(client, statement.slug, homepage="http://spam.example").status_code == 303
    assert session.scalar(sa.select(sa.func.count()).select_from(Signatory)) == 0
    assert deliver() == []


def test_only_statements_take_requests(client, make_campaign):
    appeal = make_campaign()
    assert client.get(f"/en/c/{appeal.slug}/endorse").status_code == 404
    assert client.get(f"/en/c/{appeal.slug}/statement.pdf").status_code == 404


def test_closed_statement_says_so(client, session, statement):
    campaigns.close(session, None, statement)
    session.commit()
    assert client.get(f"/en/c/{statement.slug}/endorse").status_code == 409


def test_decline_through_the_workspace(client, session, statement, owner, deliver):
    login(client, owner)
    request_to_sign(client, statement.slug)
    confirm_path = urlsplit(link_in(deliver()[0], "/endorse/confirm/")).path
    client.post(confirm_path)
    row = session.scalar(sa.select(Signatory))
    workspace = f"/en/manage/campaigns/{row.campaign_id}/signatories/"
    client.post(f"{workspace}{row.id}/decline", data={"csrf_token": csrf_token(client, workspace)})
    [declined] = deliver()
    assert "decided not to add" in body_text(declined)
    row = session.scalar(sa.select(Signatory))
    assert row.state == SignatoryState.declined and row.email is None


@pytest.mark.parametrize("lang, days, line", [
    ("en", 30, "Declined requests are deleted 30 days after the decision; those still waiting, when signers' "
               "details are anonymised."),
    ("ar", 30, "تُحذف الطلبات المرفوضة بعد 30 يومًا من القرار، وما بقي منها بانتظار القرار حين تُجعل بيانات "
               "الموقّعين مجهولة الهوية."),
    ("en", 1, "Declined requests are deleted 1 day after the decision"),
    ("ar", 7, "تُحذف الطلبات المرفوضة بعد 7 أيام من القرار"),
])
def test_the_requests_view_says_when_declined_requests_are_deleted(client, app, statement, owner, lang, days, line):
    app.config["STATEMENT_DECLINED_DAYS"] = days
    login(client, owner)
    assert line in client.get(f"/{lang}/manage/campaigns/{statement.id}/signatories/").get_data(as_text=True)


LIST = """1- Justice Network
2- Layla Haddad, a lawyer
٣- ليلى حداد، محامية
this line is not numbered
"""


def test_paste_preview_then_confirm(client, session, statement, owner):
    login(client, owner)
    url = f"/en/manage/campaigns/{statement.id}/signatories/import"
    token = csrf_token(client, url)
    preview = client.post(url, data={"csrf_token": token, "text": LIST, "language": "", "action": "preview"})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "3 signatories will be added" in html
    assert "this line is not numbered" in html and "Line 4" in html
    assert _signatories(session, statement.slug) == []  # nothing saved by a preview

    # The organiser corrects a guessed kind, then confirms: the text is read again.
    confirm = client.post(url, data={"csrf_token": token, "text": LIST, "language": "", "action": "confirm",
                                     "kind-2": "organisation"})
    assert confirm.status_code == 303
    listed = _signatories(session, statement.slug)
    assert [s.name("en") for s in listed] == ["Justice Network", "Layla Haddad", "ليلى حداد"]
    assert [s.kind for s in listed] == [SignatoryKind.organisation] * 2 + [SignatoryKind.individual]


def test_upload_csv_and_export_round_trip(client, session, statement, owner, make_campaign):
    services.add_signatories(session, None, statement, [
        SignatoryInput(SignatoryKind.organisation, {"ar": "شبكة العدالة", "en": "Justice Network"}, {}, "LB",
                       "https://justice.example", "contact: Rana"),
        SignatoryInput(SignatoryKind.individual, {"ar": "ليلى حداد", "en": "Layla Haddad"},
                       {"ar": "محامية", "en": "=a lawyer"}),
    ])
    session.commit()
    login(client, owner)
    exported = client.get(f"/en/manage/campaigns/{statement.id}/signatories/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.data.startswith(b"\xef\xbb\xbf")
    assert "'=a lawyer" in exported.data.decode("utf-8-sig")

    other = make_campaign(kind=CampaignKind.statement, slug="copy", organisation_id=statement.organisation_id)
    import io

    url = f"/en/manage/campaigns/{other.id}/signatories/import"
    token = csrf_token(client, url)
    preview = client.post(url, data={"csrf_token": token, "text": "", "language": "", "action": "preview",
                                     "upload": (io.BytesIO(exported.data), "list.csv")},
                          content_type="multipart/form-data")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "2 signatories will be added" in html
    confirm = client.post(url, data={"csrf_token": token, "text": exported.data.decode("utf-8-sig"),
                                     "language": "", "action": "confirm"})
    assert confirm.status_code == 303

    def shape(slug):
        return [(s.kind, {t.locale: (t.name, t.role) for t in s.texts}, s.country, s.url, s.private_note)
                for s in _signatories(session, slug)]

    assert shape("copy") == shape(statement.slug)


def test_workspace_is_for_the_statements_organisers(client, session, statement, make_organiser):
    outsider = make_organiser("owner", organisation="Another group")
    login(client, outsider)
    base = f"/en/manage/campaigns/{statement.id}/signatories"
    for path in ("/", "/import", "/export.csv", "/new"):
        assert client.get(base + path).status_code == 403, path
    editor = make_organiser("editor")
    login(client, editor)
    assert client.get(base + "/").status_code == 200


def test_workspace_page_lists_and_edits(client, session, statement, owner):
    [first, second] = services.import_list(session, None, statement, "1- A One\n2- B Two, a role")[0]
    session.commit()
    login(client, owner)
    base = f"/ar/manage/campaigns/{statement.id}/signatories/"
    html = client.get(base).get_data(as_text=True)
    assert "A One" in html and "B Two" in html
    token = csrf_token(client, base)
    client.post(f"{base}{second.id}/move", data={"csrf_token": token, "to": "up"})
    assert [s.name("en") for s in _signatories(session, statement.slug)] == ["B Two", "A One"]
    response = client.post(f"{base}{first.id}/edit", data={
        "csrf_token": token, "kind": "individual", "name_en": "A One", "name_ar": "أ واحد", "role_en": "poet",
        "role_ar": "شاعر", "country": "sy", "website": "", "private_note": "phone him first"})
    assert response.status_code == 303
    client.post(f"{base}order", data={"csrf_token": token, "list_order": "grouped"})
    client.post(f"{base}{second.id}/remove", data={"csrf_token": token})
    listed = _signatories(session, statement.slug)
    assert [(s.name("ar"), s.role("ar"), s.country) for s in listed] == [("أ واحد", "شاعر", "SY")]


def get(client, path):
    """GET in the path's language: the test's app context outlives requests, and
    Flask-Babel keeps the first request's locale in `g` otherwise."""
    from flask import g

    g.pop("_flask_babel", None)
    return client.get(path)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    # pdftotext marks right-to-left runs with bidi controls: they are not text.
    return "".join(ch for ch in out.stdout.decode() if ch not in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e")


def test_pdf_in_each_language_and_bilingual(client, session, statement):
    services.import_list(session, None, statement,
                         "1- ليلى حداد، محامية ومدافعة عن المعتقلين\n2- شبكة العدالة\n3- سامر الحلبي، محرر في موقع Syria Direct")
    services.add_signatories(session, None, statement, [
        SignatoryInput(SignatoryKind.individual, {"en": "Layla Haddad", "ar": "ليلى حداد"}, {"en": "a lawyer"})])
    session.commit()
    ar = get(client, f"/ar/c/{statement.slug}/statement.pdf")
    assert ar.status_code == 200 and ar.mimetype == "application/pdf"
    text = _pdf_text(ar.data)
    for word in ("محامية", "ومدافعة", "المعتقلين", "شبكة", "العدالة", "سامر", "الحلبي", "أطلقوا", "سراحهم"):
        assert word in text, word
    assert "ليلى حداد" in text and "محرر في موقع" in text  # logical order, words whole
    for number in range(1, 5):
        assert f"{number}." in text or f".{number}" in text
    en = _pdf_text(get(client, f"/en/c/{statement.slug}/statement.pdf").data)
    assert "Set them free" in en and "Layla Haddad" in en and "أطلقوا" not in en
    both = _pdf_text(get(client, f"/en/c/{statement.slug}/statement-bilingual.pdf").data)
    assert "Set them free" in both and "أطلقوا سراحهم" in both
    fonts = subprocess.run(["pdffonts", "-"], input=ar.data, capture_output=True).stdout.decode()
    assert "Naskh" in fonts or "Arabic" in fonts


def test_pdf_answers_503_when_the_libraries_are_missing(client, statement, monkeypatch):
    def missing():
        raise pdf.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(pdf, "_weasyprint", missing)
    response = client.get(f"/ar/c/{statement.slug}/statement.pdf")
    assert response.status_code == 503
    assert "PDF" in response.get_data(as_text=True)


def test_versions_page_shows_escaped_differences(client, session, statement):
    for lang in ("ar", "en"):
        text = statement.text(lang)
        campaigns.set_text(session, statement, lang, title=text.title, summary=text.summary,
                           body_md=text.body_md + " <script>alert(1)</script>")
    session.commit()
    html = client.get(f"/en/c/{statement.slug}/versions").get_data(as_text=True)
    assert "Version 2" in html and "Version 1" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</ins>" in html
    assert "<script>alert(1)" not in html


def test_private_note_and_contact_address_never_public(client, session, statement, deliver):
    slug = statement.slug
    services.add_signatories(session, None, statement, [
        SignatoryInput(SignatoryKind.individual, {"en": "Layla Haddad"}, {"en": "a lawyer"},
                       private_note="SECRET-NOTE-123")])
    session.commit()
    request_to_sign(client, statement.slug, email="hidden-contact@observatory.example")
    confirm_path = urlsplit(link_in(deliver()[0], "/endorse/confirm/")).path
    client.post(confirm_path)
    row = session.scalar(sa.select(Signatory).where(Signatory.state == SignatoryState.pending))
    services.approve(session, None, row)
    session.commit()
    deliver()
    for lang in ("ar", "en"):
        for path in (f"/{lang}/c/{slug}", f"/{lang}/c/{slug}/versions", f"/{lang}/c/{slug}/endorse",
                     f"/{lang}/", f"/{lang}/c/{slug}/endorse/check-email"):
            body = get(client, path).get_data(as_text=True)
            assert "SECRET-NOTE-123" not in body and "hidden-contact" not in body, path
        with client.application.test_request_context(f"/{lang}/"):
            html = pdf.document_html(db.session, campaigns.get_by_slug(db.session, slug), ["ar", "en"])
        assert "Layla Haddad" in html and "Observatory" in html
        assert "SECRET-NOTE-123" not in html and "hidden-contact" not in html
        text = _pdf_text(get(client, f"/{lang}/c/{slug}/statement-bilingual.pdf").data)
        assert "SECRET-NOTE-123" not in text and "hidden-contact" not in text


def test_cli_import_prints_count_and_unreadable_lines(runner, session, statement, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("1- Layla Haddad, a lawyer\n2- ، \n3- Justice Network\nnot numbered\n", encoding="utf-8")
    result = runner.invoke(args=["statements", "import", statement.slug, str(path)])
    assert result.exit_code == 0, result.output
    assert "2 signatories added" in result.output
    assert "line 2: no name" in result.output
    assert "line 4: not numbered" in result.output
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["statements", "export", statement.slug, str(out)])
    assert result.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert runner.invoke(args=["statements", "import", "nope", str(path)]).exit_code != 0


def test_campaign_page_numbers_signatories_bidi_safe_mixed_or_grouped(client, session, statement):
    services.import_list(session, None, statement,
                         "1- Layla Haddad, a lawyer\n2- Justice Network\n3- Samir Odeh, a teacher")
    session.commit()
    for lang in ("ar", "en"):
        statement = campaigns.get_by_slug(session, "joint-statement")
        text = statement.text(lang)
        campaigns.set_text(session, statement, lang, title=text.title, summary=text.summary,
                           body_md=text.body_md + " (amended)")
    session.commit()
    statement = campaigns.get_by_slug(session, "joint-statement")
    services.add_signatories(session, None, statement, [
        SignatoryInput(SignatoryKind.individual, {"ar": "ليلى حداد", "en": "Layla Haddad"}, {"ar": "محامية"})])
    session.commit()

    html = get(client, "/ar/c/joint-statement").get_data(as_text=True)
    assert 'class="signatory-list"' in html
    assert html.index("Layla Haddad") < html.index("Justice Network") < html.index("Samir Odeh") < html.index("ليلى حداد")
    assert '<bdi class="signatory-name">ليلى حداد</bdi>' in html
    assert '<bdi class="signatory-name">Layla Haddad</bdi>' in html
    # The first three signed version 1; the text is now at version 2.
    assert html.count('class="signatory-older"') == 3
    assert "/ar/c/joint-statement/versions" in html
    assert "/ar/c/joint-statement/statement.pdf" in html and "/ar/c/joint-statement/endorse" in html
    assert __import__("re").search(r"/static/css/statements-[0-9a-f]{32}\.css", html)
    numbers = [int(n) for n in __import__("re").findall(r'<span class="signatory-number" aria-hidden="true">(\d+)</span>', html)]
    assert numbers == [1, 2, 3, 4]

    services.set_list_order(session, None, campaigns.get_by_slug(session, "joint-statement"), ListOrder.grouped)
    session.commit()
    html = get(client, "/en/c/joint-statement").get_data(as_text=True)
    assert html.index("Organisations") < html.index("Justice Network") < html.index("Individuals") \
        < html.index("Layla Haddad")
    numbers = [int(n) for n in __import__("re").findall(r'<span class="signatory-number" aria-hidden="true">(\d+)</span>', html)]
    assert numbers == [1, 1, 2, 3]


def test_other_campaigns_have_no_signatories_section(client, make_campaign):
    appeal = make_campaign()
    html = client.get(f"/en/c/{appeal.slug}").get_data(as_text=True)
    assert "signatories-heading" not in html and "css/statements" not in html


def test_a_cross_site_request_is_refused_and_keeps_what_was_typed(client, session, statement, deliver):
    response = client.post(f"/en/c/{statement.slug}/endorse", headers={"Sec-Fetch-Site": "cross-site"}, data={
        "kind": "individual", "name_en": "Samir Odeh", "country": "LB", "email": "samir@example.org"})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "another website" in html and 'value="Samir Odeh"' in html
    assert session.scalar(sa.select(sa.func.count()).select_from(Signatory)) == 0
    # The confirm and withdraw buttons too.
    for path in ("/en/endorse/confirm/" + "A" * 43, "/en/endorse/withdraw/" + "A" * 43):
        assert client.post(path, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


def test_public_statement_pages_set_no_cookie(client, statement):
    for path in (f"/en/c/{statement.slug}", f"/en/c/{statement.slug}/endorse",
                 f"/en/c/{statement.slug}/endorse/check-email", f"/en/c/{statement.slug}/versions",
                 "/en/endorse/confirm/" + "A" * 43, "/en/endorse/withdraw/" + "A" * 43):
        with client.get(path) as response:
            assert response.headers.getlist("Set-Cookie") == [], path



def test_an_unchanged_pdf_is_served_from_the_cache_and_a_change_makes_a_new_one(client, session, statement, monkeypatch):
    pdf._cache.clear()
    first = get(client, f"/en/c/{statement.slug}/statement.pdf").data
    writes = []
    import weasyprint

    original = weasyprint.HTML.write_pdf
    monkeypatch.setattr(weasyprint.HTML, "write_pdf", lambda self, *a, **k: writes.append(1) or original(self, *a, **k))
    assert get(client, f"/en/c/{statement.slug}/statement.pdf").data == first
    assert writes == []
    services.add_signatories(session, None, statement, [SignatoryInput(SignatoryKind.individual, {"en": "Newcomer"})])
    session.commit()
    assert "Newcomer" in _pdf_text(get(client, f"/en/c/{statement.slug}/statement.pdf").data)
    assert writes == [1]
