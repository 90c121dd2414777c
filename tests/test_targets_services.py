"""Targets: the directory (validation, CSV in and out), a campaign's letter, and
letters from signers (rendering, consent, one per target, drip, withdrawal)."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from campaign.outbox.models import MessageState
from campaign.privacy.keys import utcnow
from campaign.signatures import services as signatures
from campaign.targets import services
from campaign.targets.models import Letter, LetterState, Target
from campaign.targets.services import LetterOutcome, Refused
from tests.targets_helpers import addressed, confirmed_signer, letters_outbox, target_input  # noqa: F401


# --- the directory ---

def test_a_target_is_cleaned_and_checked(session):
    values, problems = services.clean_target(target_input(
        "UN-SG", x_handle="@fake_un_sg", bluesky_handle="@UN-SG.example.org", country="ch", phone="+41 22 000"))
    assert problems == []
    assert values["code"] == "un-sg"
    assert values["x_handle"] == "fake_un_sg"
    assert values["bluesky_handle"] == "un-sg.example.org"
    assert values["country"] == "CH"

    _, problems = services.clean_target(target_input(
        "bad code!", kind="church", names={"ar": "", "en": "x"}, email="not-an-address", x_handle="has space",
        contact_url="javascript:alert(1)", country="XX"))
    assert len(problems) == 7


def test_codes_are_unique_per_organisation(session, addressed):
    campaign, (first, _) = addressed
    with pytest.raises(Refused):
        services.save_target(session, None, campaign.organisation_id, target_input("un-desk"))


def test_csv_export_guards_formulas_and_imports_back_unchanged(session, addressed):
    campaign, (first, _) = addressed
    org = campaign.organisation_id
    services.save_target(session, None, org, target_input("phone-desk", phone="+41 22 000 00 00",
                                                          postal_address="=HYPERLINK(\"http://x\")"))
    data = services.export_csv(session, None, org)
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "'+41 22 000 00 00" in text and "'=HYPERLINK" in text
    assert "هيئة un-desk" in text

    report = services.import_csv(session, None, org, data)
    assert (report.added, report.updated, report.refused) == (0, 3, [])
    target = services.target_by_code(session, org, "phone-desk")
    assert target.phone == "+41 22 000 00 00"
    assert target.postal_address.startswith("=HYPERLINK")  # stored as typed; only the CSV guards


def test_csv_import_reports_added_updated_and_refused_with_reasons(session, addressed):
    campaign, _ = addressed
    csv_text = (
        "code,kind,name_ar,name_en,email,never_send_names\n"
        "un-desk,un,هيئة جديدة,New name,desk@un.example.org,no\n"
        "icrc,ngo,اللجنة الدولية,ICRC,detention@icrc.example.org,yes\n"
        "bad,church,كنيسة,Church,,no\n"
        "noname,ngo,,Only English,,no\n"
    )
    with force_locale("en"):
        report = services.import_csv(session, None, campaign.organisation_id, csv_text)
    assert (report.added, report.updated) == (1, 1)
    assert [line for line, _ in report.refused] == [4, 5]
    assert "Unknown kind" in report.refused[0][1]
    assert services.target_by_code(session, campaign.organisation_id, "icrc").never_send_names is True
    assert services.target_by_code(session, campaign.organisation_id, "un-desk").names["en"] == "New name"


def test_the_import_command_prints_what_it_did(app, session, addressed, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("code,kind,name_ar,name_en\nmedia-desk,media,قسم الأخبار,News desk\nx,nope,,\n",
                    encoding="utf-8-sig")
    result = app.test_cli_runner().invoke(args=["targets", "import", str(path), "--organisation",
                                                "Cairo Rights Group"])
    assert result.exit_code == 0, result.output
    assert "added 1, updated 0, refused 1" in result.output
    assert "line 3:" in result.output


def test_a_campaign_cannot_name_another_organisations_target(session, addressed, make_campaign):
    campaign, _ = addressed
    other = make_campaign()
    with pytest.raises(ValueError):
        services.set_campaign_targets(session, None, other, {
            t.id: 10 for t in session.scalars(sa.select(Target))})


# --- the letter ---

@pytest.mark.parametrize("template, ok", [
    ("Dear {target}, from {name} in {country}", True),
    ("Braces {{like this}} are fine", True),
    ("{email}", False),
    ("{name.__class__}", False),
    ("{name!r}", False),
    ("{0}", False),
    ("unclosed {name", False),
])
def test_letter_placeholders_are_validated(template, ok):
    assert (services.placeholder_problems(template) == []) is ok


def test_set_letter_refuses_unknown_placeholders(session, addressed):
    campaign, _ = addressed
    with pytest.raises(Refused):
        services.set_letter(session, None, campaign, {"en": ("Hi", "Dear {minister}")})


def test_letters_render_in_both_languages(app, session, addressed):
    campaign, (first, _) = addressed
    ar = services.render_letter(services.letter_text(session, campaign, "ar"), target=first, lang="ar",
                                name="ليلى حداد", country="LB")
    assert ar.subject == "أوقفوا الترحيل"
    assert "إلى هيئة un-desk" in ar.body and "ليلى حداد — لبنان" in ar.body
    en = services.render_letter(services.letter_text(session, campaign, "en"), target=first, lang="en",
                                name=None, country="LB")
    assert "To Body un-desk" in en.body
    assert "a signatory of this campaign — (not shared)" in en.body
    assert "Lebanon" not in en.body


# --- letters from signers ---

def test_a_letter_needs_a_confirmed_signature(session, addressed):
    campaign, (first, _) = addressed
    from campaign.signatures.models import Visibility
    from campaign.signatures.services import SignInput
    pending, _ = signatures.sign(session, campaign, SignInput("Sam", "sam@mail.example", "GB", None,
                                                              Visibility.counted, False), locale="en", ip_key=None)
    with pytest.raises(ValueError):
        services.send_letters(session, pending, [first.id], locale="en", with_name=True, reply_to=None)


def test_one_letter_per_signer_per_target(session, addressed):
    campaign, (first, guarded) = addressed
    signer = confirmed_signer(session, campaign, "layla@mail.example")
    results = services.send_letters(session, signer, [first.id, guarded.id], locale="en", with_name=True,
                                    reply_to=None)
    assert [r.outcome for r in results] == [LetterOutcome.queued, LetterOutcome.queued]
    session.commit()
    again = services.send_letters(session, signer, [first.id], locale="ar", with_name=False, reply_to=None)
    assert [r.outcome for r in again] == [LetterOutcome.already]
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Letter)) == 2
    assert len(letters_outbox(session)) == 2
    assert services.letter_counts(session, campaign) == {first.id: 1, guarded.id: 1}


def test_name_and_reply_to_only_with_consent_and_never_to_a_guarded_target(session, addressed):
    campaign, (first, guarded) = addressed
    consenting = confirmed_signer(session, campaign, "layla@mail.example", name="Layla Haddad")
    services.send_letters(session, consenting, [first.id, guarded.id], locale="en", with_name=True,
                          reply_to="Layla@Mail.example")
    silent = confirmed_signer(session, campaign, "sam@mail.example", name="Sam Jones")
    services.send_letters(session, silent, [first.id], locale="en", with_name=False, reply_to=None)
    session.commit()
    to_first, to_guarded, from_silent = letters_outbox(session)
    assert "Layla Haddad — Lebanon" in to_first.payload["text"]
    assert to_first.payload["reply_to"] == "Layla@Mail.example"
    assert "Layla" not in str(to_guarded.payload) and "Lebanon" not in to_guarded.payload["text"]
    assert "reply_to" not in to_guarded.payload
    assert "Sam" not in str(from_silent.payload) and "reply_to" not in from_silent.payload


def test_reply_to_must_be_the_address_that_signed(session, addressed):
    campaign, (first, _) = addressed
    signer = confirmed_signer(session, campaign, "layla@mail.example")
    with pytest.raises(Refused):
        services.send_letters(session, signer, [first.id], locale="en", with_name=False,
                              reply_to="someone-else@mail.example")


def test_letters_drip_at_each_targets_rate(session, addressed):
    campaign, (first, guarded) = addressed  # 60 an hour and 2 an hour
    before = utcnow()
    for i in range(3):
        signer = confirmed_signer(session, campaign, f"signer{i}@mail.example")
        services.send_letters(session, signer, [first.id, guarded.id], locale="en", with_name=False, reply_to=None)
        session.commit()
    rows = session.scalars(sa.select(Letter).order_by(Letter.id)).all()
    to_first = [r.scheduled_for for r in rows if r.target_id == first.id]
    to_guarded = [r.scheduled_for for r in rows if r.target_id == guarded.id]
    assert to_first[0] - before < dt.timedelta(seconds=5)
    assert [b - a for a, b in zip(to_first, to_first[1:])] == [dt.timedelta(minutes=1)] * 2
    assert [b - a for a, b in zip(to_guarded, to_guarded[1:])] == [dt.timedelta(minutes=30)] * 2
    # The outbox holds each letter back until its slot.
    outbox = {m.id: m for m in letters_outbox(session)}
    assert [outbox[r.outbox_message_id].next_attempt_at for r in rows] == [r.scheduled_for for r in rows]


def test_the_worker_sends_only_letters_whose_slot_has_come(session, addressed, deliver):
    campaign, (_, guarded) = addressed
    for i in range(2):
        signer = confirmed_signer(session, campaign, f"signer{i}@mail.example")
        services.send_letters(session, signer, [guarded.id], locale="en", with_name=False, reply_to=None)
        session.commit()
    deliver()  # the confirmation mails, and the first letter
    session.expire_all()
    states = [letter.state for letter in session.scalars(sa.select(Letter).order_by(Letter.id))]
    assert states == [LetterState.sent, LetterState.queued]


def test_withdrawing_cancels_queued_letters(session, addressed):
    campaign, (first, guarded) = addressed
    signer = confirmed_signer(session, campaign, "layla@mail.example")
    services.send_letters(session, signer, [first.id, guarded.id], locale="en", with_name=True,
                          reply_to="layla@mail.example")
    session.commit()
    token = "withdraw-token"
    from campaign.privacy.keys import token_hash
    signer.withdraw_token_hash = token_hash(token)
    session.commit()
    signatures.withdraw(session, token)
    session.commit()
    assert {m.state for m in letters_outbox(session)} == {MessageState.dead}
    assert all(m.payload.get("scrubbed") for m in letters_outbox(session))
    assert {letter.state for letter in session.scalars(sa.select(Letter))} == {LetterState.cancelled}
    assert services.letter_counts(session, campaign) == {}


def test_a_signer_pass_names_only_a_confirmed_signature_of_that_campaign(app, session, addressed, make_campaign):
    campaign, _ = addressed
    signer = confirmed_signer(session, campaign, "layla@mail.example")
    token = services.signer_pass(signer)
    assert services.signature_from_pass(session, token, campaign) is signer
    assert services.signature_from_pass(session, token, make_campaign()) is None
    assert services.signature_from_pass(session, token + "x", campaign) is None
    app.config["LETTER_PASS_MINUTES"] = -1
    assert services.signature_from_pass(session, token, campaign) is None


def test_invalidating_a_signature_cancels_its_queued_letters(session, addressed, make_organiser):
    from campaign.moderation import services as moderation
    from campaign.moderation.services import InvalidationReason

    campaign, (first, _) = addressed
    moderator = make_organiser("editor")
    moderator.memberships[0].organisation_id = campaign.organisation_id
    signer = confirmed_signer(session, campaign, "bot@mail.example")
    services.send_letters(session, signer, [first.id], locale="en", with_name=False, reply_to=None)
    session.commit()
    moderation.invalidate(session, moderator, signer, list(InvalidationReason)[0])
    session.commit()
    assert [m.state for m in letters_outbox(session)] == [MessageState.dead]
    assert session.scalars(sa.select(Letter)).one().state == LetterState.cancelled
