"""Statement services: the list, requests (request → confirm → approve → withdraw),
import and export, and versions."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import CampaignKind
from campaign.statements import services
from campaign.statements.models import ListOrder, Signatory, SignatoryKind, SignatoryState, StatementVersion
from campaign.statements.services import EndorsementInput, SignatoryInput, TokenError
from tests.conftest import body_text, link_in


@pytest.fixture
def statement(make_campaign):
    return make_campaign(kind=CampaignKind.statement, slug="joint-statement")


def _request(session, campaign, *, email="huda@example.org", locale="en", kind=SignatoryKind.individual):
    return services.request_endorsement(
        session, campaign,
        EndorsementInput(kind=kind, names={"en": "Huda Karim", "ar": "هدى كريم"},
                         roles={"en": "a teacher", "ar": "معلّمة"}, country="JO", email=email),
        locale=locale,
    )


def test_added_signatories_are_numbered_in_order_and_sign_the_current_version(session, statement):
    added = services.add_signatories(session, None, statement, [
        SignatoryInput(SignatoryKind.organisation, {"en": "Justice Network", "ar": "شبكة العدالة"}),
        SignatoryInput(SignatoryKind.individual, {"ar": "ليلى حداد"}, {"ar": "محامية"}),
    ])
    session.commit()
    assert [s.position for s in added] == [1, 2]
    listed = services.public_signatories(session, statement)
    assert [s.name("en") for s in listed] == ["Justice Network", "ليلى حداد"]  # falls back to the other language
    assert listed[1].role("en") == "محامية"
    assert all(s.version is not None and s.version.number == 1 for s in listed)


def test_signatories_belong_to_statements_only(session, make_campaign):
    petition = make_campaign(kind=CampaignKind.petition)
    with pytest.raises(services.NotAStatement):
        services.add_signatories(session, None, petition, [SignatoryInput(SignatoryKind.individual, {"en": "X"})])


def test_request_confirm_approve_withdraw(session, statement, deliver):
    signatory_id = _request(session, statement, locale="ar").id
    session.commit()
    assert services.public_signatories(session, statement) == []

    (mail,) = deliver()
    signatory = session.get(Signatory, signatory_id)
    statement = signatory.campaign
    assert signatory.state == SignatoryState.unconfirmed
    assert mail["To"] == "huda@example.org"
    token = link_in(mail, "/ar/endorse/confirm/").rsplit("/", 1)[1]
    assert signatory.verify_token_hash != token  # only the hash is stored
    services.confirm_request(session, token)
    session.commit()
    assert signatory.state == SignatoryState.pending
    assert services.requests_waiting(session, statement) == [signatory]
    with pytest.raises(TokenError):
        services.confirm_request(session, token)  # used once

    services.add_signatories(session, None, statement, [SignatoryInput(SignatoryKind.individual, {"en": "First"})])
    services.approve(session, None, signatory, roles={"en": "a retired teacher", "ar": "معلّمة متقاعدة"})
    session.commit()
    assert signatory.state == SignatoryState.approved
    assert [s.name("en") for s in services.public_signatories(session, statement)] == ["First", "Huda Karim"]
    assert signatory.role("en") == "a retired teacher"
    assert signatory.email is None  # erased once the decision is written to them

    (approved,) = deliver()
    signatory = session.get(Signatory, signatory_id)
    statement = signatory.campaign
    assert approved["To"] == "huda@example.org"
    assert "هدى كريم" in body_text(approved)  # in the requester's language
    withdraw_token = link_in(approved, "/ar/endorse/withdraw/").rsplit("/", 1)[1]

    services.withdraw(session, withdraw_token)
    session.commit()
    assert signatory.state == SignatoryState.withdrawn
    assert [s.name("en") for s in services.public_signatories(session, statement)] == ["First"]
    assert "Huda" not in services.export_csv(session, None, statement)
    with pytest.raises(TokenError):
        services.withdraw(session, withdraw_token)


def test_a_signatory_taken_off_the_list_gets_no_notice_still_queued(session, statement, deliver):
    """Approved, then removed before the worker sent the approval: no mail may reach
    someone who is no longer on the list (nor keep their address in the outbox)."""
    from campaign.outbox.models import OutboxMessage, MessageState

    signatory_id = _request(session, statement).id
    session.commit()
    token = link_in(deliver()[0], "/endorse/confirm/").rsplit("/", 1)[1]
    services.confirm_request(session, token)
    signatory = session.get(Signatory, signatory_id)
    services.approve(session, None, signatory)
    services.remove(session, None, signatory)
    session.commit()
    assert deliver() == []
    [notice] = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.signatory_id == signatory_id,
                                                             OutboxMessage.template == "endorse_approved")).all()
    assert (notice.state, notice.last_error) == (MessageState.dead, "withdrawn")
    assert "huda@example.org" not in str(notice.payload)


def test_decline_tells_the_requester_and_erases_the_address(session, statement, deliver):
    signatory_id = _request(session, statement).id
    session.commit()
    token = link_in(deliver()[0], "/endorse/confirm/").rsplit("/", 1)[1]
    signatory = session.get(Signatory, signatory_id)
    statement = signatory.campaign
    services.confirm_request(session, token)
    services.decline(session, None, signatory)
    session.commit()
    assert signatory.state == SignatoryState.declined and signatory.email is None
    assert signatory.declined_at is not None  # deleted STATEMENT_DECLINED_DAYS after it (tests/test_retention.py)
    (declined,) = deliver()
    assert "decided not to add" in body_text(declined)
    assert services.public_signatories(session, session.get(Signatory, signatory_id).campaign) == []


def test_unconfirmed_request_cannot_be_approved(session, statement):
    signatory = _request(session, statement)
    from campaign.states import TransitionError

    with pytest.raises(TransitionError):
        services.approve(session, None, signatory)


def test_closed_statement_takes_no_requests(session, statement):
    campaigns.close(session, None, statement)
    with pytest.raises(ValueError):
        _request(session, statement)


def test_import_then_export_then_import_gives_the_same_list(session, statement, make_campaign):
    text = (
        "1- Justice Network\n"
        "2- Layla Haddad, a lawyer\n"
        "٣- ليلى حداد، محامية\n"
        "4- =cmd|' /C calc'!A0, a formula\n"
        "5- @Omar, handle\n"
        "nonsense line\n"
    )
    added, preview = services.import_list(session, None, statement, text)
    session.commit()
    assert len(added) == 5
    assert [p.line for p in preview.problems] == [6]
    services.edit_signatory(session, None, added[0], SignatoryInput(
        SignatoryKind.organisation, {"en": "Justice Network", "ar": "شبكة العدالة"}, {}, "LB",
        "example.org", "met in May"))
    session.commit()

    exported = services.export_csv(session, None, statement)
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][:2] == ["number", "kind"]
    assert rows[4][rows[0].index("name_en")].startswith("'=")  # inert in a spreadsheet
    assert rows[5][rows[0].index("name_en")] == "'@Omar"

    other = make_campaign(kind=CampaignKind.statement, slug="copy")
    services.import_list(session, None, other, exported)
    session.commit()

    def shape(campaign):
        return [
            (s.kind, {t.locale: (t.name, t.role) for t in s.texts}, s.country, s.url, s.private_note)
            for s in services.public_signatories(session, campaign)
        ]

    assert shape(other) == shape(statement)
    assert shape(other)[3][1]["en"][0].startswith("=cmd")


def test_grouped_order_puts_organisations_first(session, statement):
    services.import_list(session, None, statement, "1- Layla Haddad, a lawyer\n2- Justice Network\n3- Omar Khatib")
    groups = services.numbered_groups(session, statement)
    assert len(groups) == 1 and groups[0].title is None
    services.set_list_order(session, None, statement, ListOrder.grouped)
    groups = services.numbered_groups(session, statement)
    assert [g.kind for g in groups] == ["organisation", "individual"]
    assert [s.name("en") for s in groups[1].signatories] == ["Layla Haddad", "Omar Khatib"]


def test_move_swaps_neighbours(session, statement):
    first, second, third = services.import_list(session, None, statement, "1- A\n2- B\n3- C")[0]
    services.move(session, None, third, -1)
    assert [s.name("en") for s in services.public_signatories(session, statement)] == ["A", "C", "B"]
    services.move(session, None, first, -1)  # already first: nothing happens
    assert [s.name("en") for s in services.public_signatories(session, statement)] == ["A", "C", "B"]


# --- versions ---

def _edit_text(session, campaign, **fields):
    for lang in ("ar", "en"):
        text = campaign.text(lang)
        campaigns.set_text(session, campaign, lang, title=text.title, summary=text.summary,
                           body_md=fields.get(lang, text.body_md))


def test_publishing_records_the_first_version_and_drafts_have_none(session, make_campaign):
    draft = make_campaign(kind=CampaignKind.statement, publish=False)
    assert services.versions(session, draft) == []
    campaigns.publish(session, None, draft)
    session.commit()
    assert [v.number for v in services.versions(session, draft)] == [1]


def test_editing_both_languages_makes_one_new_version(session, statement):
    early = services.add_signatories(session, None, statement, [SignatoryInput(SignatoryKind.individual, {"en": "Early"})])[0]
    session.commit()
    _edit_text(session, statement, en="The appeal text, now firmer", ar="نص النداء المعدّل")
    session.commit()
    assert [v.number for v in services.versions(session, statement)] == [1, 2]
    late = services.add_signatories(session, None, statement, [SignatoryInput(SignatoryKind.individual, {"en": "Late"})])[0]
    session.commit()
    assert early.version.number == 1 and late.version.number == 2

    # Saving the same text again is not a new version.
    _edit_text(session, statement, en="The appeal text, now firmer", ar="نص النداء المعدّل")
    session.commit()
    assert len(services.versions(session, statement)) == 2


def test_history_shows_word_level_differences_escaped(session, statement):
    _edit_text(session, statement, en="The <b>appeal</b> text, now firmer")
    session.commit()
    newest, first = services.history(session, statement, "en")
    assert newest.version.number == 2 and first.previous is None
    diff = str(newest.diffs["body_md"])
    assert "<del>**appeal**</del>" in diff
    assert "<ins>&lt;b&gt;appeal&lt;/b&gt;</ins>" in diff
    assert "now firmer</ins>" in diff
    assert "<b>" not in diff
    assert services.history(session, statement, "ar")[0].diffs == {}


def test_a_rolled_back_edit_makes_no_version(session, statement):
    _edit_text(session, statement, en="Something else entirely")
    session.rollback()
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(StatementVersion)) == 1


def test_word_diff():
    assert str(services.word_diff("a b c", "a x c")) == "a <del>b</del><ins>x</ins> c"
    assert str(services.word_diff("<", "<")) == "&lt;"


def test_signatures_on_a_statement_record_the_version_they_signed(session, statement, make_campaign):
    from campaign.signatures.models import Visibility
    from campaign.signatures.services import SignInput, sign

    def signed(email):
        signature, _ = sign(session, statement, SignInput("Rana", email, "LB", None, Visibility.counted, False),
                            locale="en", ip_key=None)
        session.commit()
        return signature

    assert signed("a@example.org").statement_version == 1
    _edit_text(session, statement, en="A new text")
    session.commit()
    assert signed("b@example.org").statement_version == 2
    appeal = make_campaign()
    signature, _ = sign(session, appeal, SignInput("Rana", "c@example.org", "LB", None, Visibility.counted, False),
                        locale="en", ip_key=None)
    assert signature.statement_version is None


def test_every_signatory_column_is_classified_and_withdrawal_clears_the_personal_ones(session, statement):
    columns = {c.name for c in Signatory.__table__.columns}
    assert not Signatory.PERSONAL & Signatory.NOT_PERSONAL
    assert columns == Signatory.PERSONAL | Signatory.NOT_PERSONAL

    [signatory] = services.add_signatories(session, None, statement, [SignatoryInput(
        SignatoryKind.individual, {"en": "Layla Haddad", "ar": "ليلى حداد"}, {"en": "a lawyer"}, "LB",
        "https://layla.example", "met in Beirut")])
    session.commit()
    services.remove(session, None, signatory)
    session.commit()
    assert all(getattr(signatory, name) is None for name in Signatory.PERSONAL)
    assert signatory.texts == []
    from campaign.statements.models import SignatoryText
    assert session.scalar(sa.select(sa.func.count()).select_from(SignatoryText)) == 0
