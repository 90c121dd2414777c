"""The whole signing loop through the test client: sign, mail, confirm, count, withdraw."""
from urllib.parse import urlsplit

import pytest

import sqlalchemy as sa

from campaign.campaigns.models import Campaign
from campaign.signatures.models import Signature, SignatureState
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.signatures import take_signatures
from tests.fixtures.web import csrf_token


def counts(session, slug):
    """(verified, pending) as stored now; each request ends its own session."""
    campaign = session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
    return campaign.verified_count, campaign.pending_count


def sign(client, slug, lang="en", **fields):
    """Post the sign form; the worker then takes what it queued (the signature's
    row, its count change and its mail), delivering nothing yet."""
    token = csrf_token(client, f"/{lang}/c/{slug}")
    data = {"csrf_token": token, "name": "Layla Haddad", "email": "layla@example.org", "country": "LB",
            "visibility": "initials"}
    data.update(fields)
    response = client.post(f"/{lang}/c/{slug}/sign", data=data)
    take_signatures(client.application)
    return response


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_sign_confirm_count_withdraw(client, session, make_campaign, deliver, lang):
    slug = make_campaign().slug
    response = sign(client, slug, lang)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/{lang}/c/{slug}/check-email")

    [message] = deliver()
    assert message["To"] == "layla@example.org"
    assert slug not in message["Subject"]
    confirm_url = link_in(message, "/confirm/")
    assert urlsplit(confirm_url).path.startswith(f"/{lang}/confirm/")

    path = urlsplit(confirm_url).path
    page = client.get(path)
    assert page.status_code == 200
    assert counts(session, slug) == (0, 1)

    token = csrf_token(client, path)
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 303
    assert counts(session, slug) == (1, 0)
    signature = session.scalars(sa.select(Signature)).one()
    assert signature.state == SignatureState.verified
    assert signature.email is None, "no opt-in: the address is erased once verified"

    withdraw_path = urlsplit(link_in(message, "/withdraw/")).path
    token = csrf_token(client, withdraw_path)
    assert client.post(withdraw_path, data={"csrf_token": token}).status_code == 200
    assert counts(session, slug) == (0, 0)
    signature = session.scalars(sa.select(Signature)).one()
    assert signature.state == SignatureState.withdrawn and signature.name == ""


def test_duplicate_gets_same_page_and_an_already_signed_mail(client, session, make_campaign, deliver):
    slug = make_campaign().slug
    first = sign(client, slug)
    [confirm] = deliver()
    path = urlsplit(link_in(confirm, "/confirm/")).path
    client.post(path, data={"csrf_token": csrf_token(client, path)})

    again = sign(client, slug, email="Layla+petitions@EXAMPLE.org")
    assert again.status_code == first.status_code
    assert again.headers["Location"] == first.headers["Location"]
    [notice] = deliver()
    assert "already signed" in body_text(notice)
    assert "/confirm/" not in body_text(notice)
    assert counts(session, slug) == (1, 0)
    assert len(session.scalars(sa.select(Signature)).all()) == 1


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_confirm_page_shows_what_is_being_confirmed(client, session, make_campaign, deliver, lang):
    """Signing again replaces an unconfirmed signature, so someone who knows an
    address could change its details; the page the owner confirms on shows them."""
    slug = make_campaign().slug
    sign(client, slug, lang, name="Layla <b>Haddad</b>", comment="Free them all", visibility="full_name",
         opt_in="y")
    [message] = deliver()
    page = client.get(urlsplit(link_in(message, "/confirm/")).path).get_data(as_text=True)
    assert "<bdi>Layla &lt;b&gt;Haddad&lt;/b&gt;</bdi>" in page
    assert "<bdi>Free them all</bdi>" in page
    if lang == "ar":
        for text in ("ما الذي تؤكّده", "لبنان", "نعم", "وقّع من جديد بالبيانات الصحيحة"):
            assert text in page
    else:
        # What the public will see, as a value ("Full name and country"), not the form's instruction.
        for text in ("What you are confirming", "Lebanon", "Full name and country", "Yes",
                     "sign again with the right details"):
            assert text in page


def _statement_shape(statement: str) -> tuple[str, str]:
    """("INSERT", "signatures"), ("SELECT", "campaigns"): what a statement does, to what."""
    words = statement.split()
    verb = words[0].upper()
    if verb == "INSERT":
        table = words[words.index("INTO") + 1]
    elif verb == "UPDATE":
        table = words[1]
    else:
        table = words[[w.upper() for w in words].index("FROM") + 1]
    return verb, table.strip('"')


def _statements_of(app, send) -> list[tuple[str, str]]:
    """What ``send()`` (a request to ``app``) asks of the database."""
    from sqlalchemy import event

    from campaign.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [_statement_shape(s) for s in seen]


def test_signing_costs_two_statements_and_the_same_ones_for_a_known_address(make_app, make_campaign, session,
                                                                               deliver):
    """The sign form's cost, held so that it cannot grow unnoticed: the campaign's
    row and the task that carries what was typed to the worker; one commit. An
    address that has signed (pending, confirmed) sends the very same statements, so
    the answer's timing tells nothing: the signature's row, its count and its mail
    are the worker's work."""
    app = make_app()
    slug = make_campaign().slug
    session.commit()
    client = app.test_client()

    def sign_once(email: str) -> list[tuple[str, str]]:
        def send():
            response = client.post(f"/en/c/{slug}/sign", headers={"Sec-Fetch-Site": "same-origin"}, data={
                "name": "Layla Haddad", "email": email, "country": "LB", "visibility": "initials"})
            assert response.status_code == 303
        return _statements_of(app, send)

    sign_once("first@example.org")  # the day's address key is read once per process
    deliver()
    expected = [("SELECT", "campaigns"), ("INSERT", "outbox_messages")]
    assert sign_once("layla@example.org") == expected, "a new address"
    assert sign_once("Layla+again@example.org") == expected, "an address waiting for its confirmation"
    [message] = deliver()  # the second mail, a repeat of the first, is not sent
    path = urlsplit(link_in(message, "/confirm/")).path
    assert client.post(path, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303
    assert sign_once("layla@example.org") == expected, "a confirmed signer"
    [notice] = deliver()
    assert "already signed" in body_text(notice)


def test_confirming_costs_four_statements(make_app, make_campaign, session, deliver):
    """The confirm button: the signature with its campaign, its UPDATE (which also
    erases the address when nothing needs it), a count change, and whether the
    campaign has targets to write to (the thank-you page's pass)."""
    app = make_app()
    slug = make_campaign().slug
    session.commit()
    client = app.test_client()
    client.post(f"/en/c/{slug}/sign", headers={"Sec-Fetch-Site": "same-origin"}, data={
        "name": "Layla Haddad", "email": "layla@example.org", "country": "LB", "visibility": "initials"})
    [message] = deliver()
    path = urlsplit(link_in(message, "/confirm/")).path

    def send():
        assert client.post(path, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303

    assert _statements_of(app, send) == [("SELECT", "signatures"), ("UPDATE", "signatures"),
                                         ("INSERT", "campaign_count_changes"), ("SELECT", "campaign_targets")]
    signature = session.scalars(sa.select(Signature)).one()
    session.refresh(signature)
    assert signature.state == SignatureState.verified and signature.email is None
