"""The sign form queues what was typed and the worker stores it (signatures.services
take_signature and take_signature_task): as of the moment the form was taken, ahead
of any mail, exactly once, and without keeping what was typed."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from campaign.campaigns import services as campaigns
from campaign.campaigns.models import Campaign, CampaignKind, CampaignState
from campaign.outbox.models import MessageKind, MessageState, OutboxMessage
from campaign.outbox.services import deliver_due, enqueue_mail, run_due_tasks
from campaign.privacy.keys import utcnow
from campaign.signatures import services
from campaign.signatures.models import Signature, SignatureState, Visibility
from campaign.signatures.services import SignInput
from tests.fixtures.signatures import take_signatures
from tests.test_statements_services import _edit_text

TYPED = SignInput(name="Layla Haddad", email="layla@mail.example", country="LB", comment="For my brother",
                  visibility=Visibility.initials, opt_in=True, referral="wa")


def queue(session, campaign, data=TYPED, **options) -> OutboxMessage:
    services.take_signature(session, campaign, data, locale="ar", ip_key="k" * 32, **options)
    session.commit()
    return session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()


def test_the_request_stores_nothing_but_one_task_and_the_worker_signs_as_typed(app, session, make_campaign):
    campaign = make_campaign()
    task = queue(session, campaign)
    assert (task.kind, task.state, task.signature_id) == (MessageKind.task, MessageState.queued, None)
    assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    assert (campaign.verified_count, campaign.pending_count) == (0, 0)

    assert take_signatures(app) == 1
    signature = session.scalars(sa.select(Signature)).one()
    assert (signature.name, signature.email, signature.country, signature.comment, signature.visibility,
            signature.opt_in, signature.referral, signature.locale, signature.ip_key, signature.state) == (
        "Layla Haddad", "layla@mail.example", "LB", "For my brother", Visibility.initials, True, "wa", "ar",
        "k" * 32, SignatureState.pending)
    session.expire_all()
    assert session.get(Campaign, campaign.id).pending_count == 1
    [mail] = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.mail)).all()
    assert mail.signature_id == signature.id and mail.payload["to"] == "layla@mail.example"
    session.refresh(task)
    assert task.state == MessageState.sent
    assert task.payload == {"locale": "ar", "scrubbed": True}, "what was typed leaves the outbox once taken"


def test_the_signature_is_dated_when_the_form_was_taken_and_the_text_it_showed(app, session, make_campaign):
    statement = make_campaign(kind=CampaignKind.statement, slug="joint-statement")
    queue(session, statement)
    # Before the worker gets to it: the text changes, and the statement closes.
    _edit_text(session, statement, en="A new text")
    campaigns.change_state(session, statement, CampaignState.closed)
    session.commit()
    taken_after = utcnow()

    take_signatures(app)
    signature = session.scalars(sa.select(Signature)).one()
    assert signature.statement_version == 1, "the version the signer read, not the one published since"
    assert signature.created_at < taken_after
    assert signature.state == SignatureState.pending, "the campaign was open when the form was sent"


def test_a_held_signature_stays_out_of_the_counts(app, session, make_campaign):
    campaign = make_campaign()
    queue(session, campaign, held=True)
    take_signatures(app)
    assert session.scalars(sa.select(Signature.state)).one() == SignatureState.held
    session.expire_all()
    assert session.get(Campaign, campaign.id).pending_count == 0


def test_an_address_that_signed_is_handled_by_the_worker_as_sign_would(app, session, make_campaign, deliver):
    campaign = make_campaign()
    campaign_id = campaign.id
    queue(session, campaign)
    assert len(deliver()) == 1
    campaign = session.get(Campaign, campaign_id)  # the worker ended the session
    queue(session, campaign, data=SignInput(name="Layla H.", email="Layla@mail.example", country="LB", comment=None,
                                            visibility=Visibility.counted, opt_in=False))
    assert deliver() == [], "the same link again within minutes is a repeat: not sent twice"
    signature = session.scalars(sa.select(Signature)).one()
    session.refresh(signature)
    assert (signature.name, signature.visibility) == ("Layla H.", Visibility.counted), "the latest details"
    session.expire_all()
    assert session.get(Campaign, campaign_id).pending_count == 1


def test_a_task_whose_campaign_is_gone_is_dropped_and_scrubbed(app, session, make_campaign):
    campaign = make_campaign()
    task = queue(session, campaign)
    session.execute(sa.delete(Campaign).where(Campaign.id == campaign.id))
    session.commit()
    take_signatures(app)
    session.refresh(task)
    assert task.state == MessageState.sent and task.payload == {"locale": "ar", "scrubbed": True}
    assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0


def test_the_worker_takes_signatures_before_mail_that_was_due_earlier(app, session, make_campaign):
    """A relay that takes seconds per mail must not hold a signature back."""
    campaign = make_campaign()
    for n in range(3):
        enqueue_mail(session, {"to": f"reader{n}@mail.example", "subject": "News", "text": "…", "locale": "en"},
                     template="update")
    session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow() - dt.timedelta(minutes=5)))
    session.commit()
    queue(session, campaign)

    order = []

    class Relay:
        def send(self, message):
            order.append((message["to"], session_signatures()))

    def session_signatures() -> int:
        with app.app_context():
            from campaign.extensions import db
            n = db.session.scalar(sa.select(sa.func.count()).select_from(Signature))
            db.session.remove()
            return n

    deliver_due(app, session, Relay())
    assert order[0] == ("reader0@mail.example", 1), "the signature was stored before the first mail went"
    assert [to for to, _ in order] == ["reader0@mail.example", "reader1@mail.example", "reader2@mail.example",
                                       "layla@mail.example"]


def test_run_due_tasks_delivers_nothing(app, session, make_campaign):
    campaign = make_campaign()
    queue(session, campaign)
    assert run_due_tasks(app, session) == 1
    assert run_due_tasks(app, session) == 0
    mail = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == MessageKind.mail)).one()
    assert mail.state == MessageState.queued and mail.attempts == 0


def test_a_task_queued_by_the_earlier_sign_form_is_still_carried_out(app, session, make_campaign, add_signature,
                                                                     deliver):
    """Tasks that the previous version queued for an address that had signed (it wrote
    the row itself) may wait in the outbox across an upgrade."""
    from campaign.outbox.services import enqueue_task

    campaign = make_campaign()
    signature = add_signature(campaign, email="layla@mail.example", opt_in=True)  # confirmed, address kept
    session.commit()
    signature_id = signature.id
    deliver()  # its confirmation
    enqueue_task(session, services.SIGN_AGAIN_TASK, {
        "signature_id": signature_id, "name": "Layla Haddad", "email": "layla@mail.example", "country": "LB",
        "comment": None, "visibility": "counted", "opt_in": False, "referral": None, "locale": "en",
        "ip_key": None, "held": False,
    }, signature_id=signature_id)
    session.commit()
    [notice] = deliver()
    assert notice["To"] == "layla@mail.example" and "already signed" in notice.get_body(("plain",)).get_content()
