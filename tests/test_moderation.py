"""Moderation: Arabic-aware search, invalidate/restore, bulk, fraud panel, permissions,
and odd input on its pages (page numbers, ``next``, search states, NUL)."""
from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from campaign.campaigns.models import Campaign
from campaign.moderation import services
from campaign.moderation.services import BulkKind, CountChanged, InvalidationReason, ModerationError, RestoreReason
from campaign.organiser.access import PermissionDenied
from campaign.organiser.models import AuditEntry
from campaign.privacy.keys import utcnow
from campaign.signatures import services as signing
from campaign.signatures.models import Signature, SignatureState
from campaign.text_normalise import normalise
from tests.fixtures.organisers import web_login
from tests.fixtures.web import csrf_token


# --- Normalisation --------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("أحمد", "احمد"),
    ("إحمد", "احمد"),
    ("آحمد", "احمد"),
    ("ٱحمد", "احمد"),
    ("مُحَمَّد", "محمد"),                 # tashkeel
    ("محـــمد", "محمد"),                  # tatweel
    ("عبدُ الرَّحمٰن", "عبد الرحمن"),      # superscript alef
    ("مصطفى", "مصطفي"),                  # alef maqsura
    ("فاطمة", "فاطمه"),                  # ta marbuta
    ("مؤمن", "مومن"),
    ("هانئ", "هاني"),
    ("٣", "3"),
    ("۳", "3"),                           # Persian digit
    ("رقم ١٢٣", "رقم 123"),
    ("  ليلى   \t حداد ", "ليلي حداد"),
    ("ﺃﺣﻤﺪ", "احمد"),                     # presentation forms (NFKC)
    ("Layla HADDAD", "layla haddad"),
    ("Stra\u00dfe", "strasse"),           # casefold
    ("ليلى\u200f حداد", "ليلي حداد"),      # a bidi mark
])
def test_normalise_unifies_spellings(a, b):
    assert normalise(a) == normalise(b)


def test_normalise_keeps_different_names_apart():
    assert normalise("أحمد") != normalise("محمد")
    assert normalise("") == "" and normalise(None) == ""


def test_signing_stores_the_normalised_name_and_withdrawal_clears_it(session, make_campaign, add_signature):
    campaign = make_campaign()
    signature = add_signature(campaign, "أَحْمَد  علي")
    assert signature.search_name == "احمد علي"
    signing.move(session, signature, SignatureState.withdrawn, name="", search_name="")
    assert session.get(Signature, signature.id).search_name == ""


# --- Search ---------------------------------------------------------------------

def test_search_finds_arabic_names_in_any_spelling(session, make_campaign, add_signature):
    campaign = make_campaign()
    ahmad = add_signature(campaign, "أحمد مُصطفى")
    add_signature(campaign, "ليلى حداد")
    for query in ("احمد", "إحمد", "أَحمد", "احمد مصطفي", "مصطفى", "احمد  مُصطفى"):
        page = services.search(session, campaign, query)
        assert [s.id for s in page.signatures] == [ahmad.id], query
    assert services.search(session, campaign, "").total == 2


def test_search_by_address_matches_the_keyed_hash_even_after_erasure(session, make_campaign, add_signature):
    campaign = make_campaign()
    signature = add_signature(campaign, "Layla", "Layla.Haddad+x@Example.org")
    add_signature(campaign, "Other", "other@example.org")
    assert signature.email is None, "no opt-in: the address was erased"
    assert [s.id for s in services.search(session, campaign, "layla.haddad@example.org").signatures] == [signature.id]
    assert services.search(session, campaign, "nobody@example.org").total == 0


def test_search_by_domain_and_state(session, make_campaign, add_signature):
    campaign = make_campaign()
    a = add_signature(campaign, "A", "a@spam.example")
    add_signature(campaign, "B", "b@spam.example", verified=False)
    add_signature(campaign, "C", "c@example.org")
    assert services.search(session, campaign, "@SPAM.example").total == 2
    verified = services.search(session, campaign, "@spam.example", state=SignatureState.verified)
    assert [s.id for s in verified.signatures] == [a.id]


def test_search_treats_like_wildcards_literally_and_rejects_half_addresses(session, make_campaign, add_signature):
    campaign = make_campaign()
    add_signature(campaign, "Layla")
    assert services.search(session, campaign, "%").total == 0
    assert services.search(session, campaign, "_").total == 0
    assert services.parse_query("layla@").kind == services.QueryKind.invalid
    assert services.search(session, campaign, "layla@").total == 0


def test_search_paginates_newest_first(session, make_campaign, add_signature):
    campaign = make_campaign()
    ids = [add_signature(campaign, f"Signer {i}").id for i in range(7)]
    first = services.search(session, campaign, "signer", page=1, per_page=3)
    last = services.search(session, campaign, "signer", page=3, per_page=3)
    assert first.total == 7 and first.pages == 3
    assert [s.id for s in first.signatures] == ids[::-1][:3]
    assert [s.id for s in last.signatures] == [ids[0]]


def test_search_uses_the_campaign_and_name_index(session, make_campaign, backend):
    """Name search is a LIKE on one campaign's slice of ix_signatures_search."""
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(session.get_bind()).get_indexes("signatures")}
    assert indexes["ix_signatures_search"] == ["campaign_id", "search_name"]
    if backend == "sqlite":  # PostgreSQL chooses its plan by table statistics
        campaign = make_campaign()
        query = services._filtered(campaign, services.parse_query("احمد"), None).with_only_columns(Signature.id)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        assert "ix_signatures_search" in " ".join(str(row) for row in plan)


def test_duplicate_names_group_spellings(session, make_campaign, add_signature):
    campaign = make_campaign()
    first = add_signature(campaign, "أحمد علي")
    add_signature(campaign, "احمد عَلي")
    add_signature(campaign, "إحمد علي", verified=False)
    add_signature(campaign, "ليلى")
    other = make_campaign()
    add_signature(other, "أحمد علي")
    [group] = services.duplicate_names(session, campaign)
    assert (group.search_name, group.count, group.example_id) == ("احمد علي", 3, first.id)
    page = services.search(session, campaign, "")
    assert page.name_collisions == {"احمد علي": 3}


def test_moderators_see_whole_addresses_only_of_signers_who_opted_in(make_campaign, add_signature):
    campaign = make_campaign()
    opted = add_signature(campaign, "A", "a@example.org", opt_in=True)
    pending = add_signature(campaign, "B", "b@example.net", verified=False)
    assert services.email_shown(opted) == "a@example.org"
    assert pending.email == "b@example.net"
    assert services.email_shown(pending) == "…@example.net"
    assert services.email_shown(opted, whole=False) == "…@example.org", "editors see only the domain"


# --- Invalidate and restore ------------------------------------------------------

def counts(session, campaign):
    session.expire_all()
    c = session.get(Campaign, campaign.id)
    return c.verified_count, c.pending_count


def test_invalidate_and_restore_move_the_counts(session, make_campaign, make_organiser, add_signature):
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    verified = add_signature(campaign, "ليلى حداد", "layla@example.org")
    pending = add_signature(campaign, "Omar", verified=False)
    assert counts(session, campaign) == (1, 1)

    services.invalidate(session, owner, verified, InvalidationReason.duplicate)
    services.invalidate(session, owner, pending, InvalidationReason.fake)
    assert counts(session, campaign) == (0, 0)
    assert verified.state == SignatureState.invalidated and verified.moderation_reason == "duplicate"
    with pytest.raises(ModerationError):
        services.invalidate(session, owner, verified, InvalidationReason.duplicate)

    services.restore(session, owner, verified, RestoreReason.mistake)
    services.restore(session, owner, pending, RestoreReason.genuine)
    assert (verified.state, pending.state) == (SignatureState.verified, SignatureState.pending)
    assert verified.moderation_reason is None
    assert counts(session, campaign) == (1, 1)
    with pytest.raises(ModerationError):
        services.restore(session, owner, verified, RestoreReason.mistake)
    session.commit()

    entries = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["signature.invalidate"] * 2 + ["signature.restore"] * 2
    assert entries[0].detail == {"signature_id": verified.id, "previous_state": "verified", "reason": "duplicate"}
    assert all(e.campaign_id == campaign.id and e.organiser_id == owner.id for e in entries)
    logged = json.dumps([e.detail for e in entries], ensure_ascii=False)
    assert "ليلى" not in logged and "layla" not in logged


def test_invalidation_lets_the_address_go(session, make_campaign, make_organiser, add_signature, deliver):
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    pending = add_signature(campaign, "Omar", "omar@example.org", verified=False)
    opted = add_signature(campaign, "Huda", "huda@example.org", verified=False, opt_in=True)
    session.commit()
    services.invalidate(session, owner, pending, InvalidationReason.fake)
    services.invalidate(session, owner, opted, InvalidationReason.fake)
    session.commit()
    pending_id, opted_id = pending.id, opted.id
    assert pending.email == "omar@example.org", "kept while its confirmation mail waits in the outbox"
    deliver()
    assert session.get(Signature, pending_id).email is None
    assert session.get(Signature, opted_id).email == "huda@example.org", "opted in: kept for a restore"


def test_editor_of_another_organisation_cannot_moderate(session, make_campaign, make_organiser, add_signature):
    editor_a = make_organiser("editor", "Group A")
    owner_b = make_organiser("owner", "Group B")
    campaign_b = make_campaign(organisation_id=owner_b.memberships[0].organisation_id)
    signature = add_signature(campaign_b)
    with pytest.raises(PermissionDenied):
        services.invalidate(session, editor_a, signature, InvalidationReason.fake)
    with pytest.raises(PermissionDenied):
        services.bulk_invalidate(session, editor_a, campaign_b, BulkKind.domain, "example.org",
                                 InvalidationReason.burst)
    assert signature.state == SignatureState.verified
    editor_b = make_organiser("editor", "Group B")
    services.invalidate(session, editor_b, signature, InvalidationReason.fake)
    assert signature.state == SignatureState.invalidated


# --- Bulk -----------------------------------------------------------------------

def test_bulk_invalidate_by_hashed_ip_and_by_domain(session, make_campaign, make_organiser, add_signature):
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    bot = [add_signature(campaign, f"Bot {i}", ip_key="a" * 32) for i in range(3)]
    bot.append(add_signature(campaign, "Bot pending", ip_key="a" * 32, verified=False))
    human = add_signature(campaign, "Human", "human@example.org", ip_key="b" * 32)
    spam = [add_signature(campaign, f"Spam {i}", f"s{i}@spam.example", ip_key=f"{i}" * 32) for i in range(2)]
    assert counts(session, campaign) == (6, 1)

    assert services.bulk_count(session, campaign, BulkKind.ip, "a" * 32) == 4
    with pytest.raises(CountChanged) as changed:
        services.bulk_invalidate(session, owner, campaign, BulkKind.ip, "a" * 32, InvalidationReason.burst,
                                 expected=3)
    assert changed.value.actual == 4
    assert counts(session, campaign) == (6, 1), "a changed count does nothing"

    assert services.bulk_invalidate(session, owner, campaign, BulkKind.ip, "a" * 32, InvalidationReason.burst,
                                    expected=4) == 4
    assert counts(session, campaign) == (3, 0)
    assert services.bulk_invalidate(session, owner, campaign, BulkKind.domain, "spam.example",
                                    InvalidationReason.disposable) == 2
    assert counts(session, campaign) == (1, 0)
    assert session.get(Signature, human.id).state == SignatureState.verified
    assert {session.get(Signature, s.id).state for s in bot + spam} == {SignatureState.invalidated}
    # Already invalidated signatures are not hit again.
    assert services.bulk_count(session, campaign, BulkKind.ip, "a" * 32) == 0

    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "signature.bulk_invalidate")
                            .order_by(AuditEntry.id)).first()
    assert entry.detail["count"] == 4 and entry.detail["by"] == "ip" and entry.detail["reason"] == "burst"
    assert sorted(entry.detail["signature_ids"]) == sorted(s.id for s in bot)


def test_bulk_touches_only_its_campaign(session, make_campaign, make_organiser, add_signature):
    owner = make_organiser("owner")
    org = owner.memberships[0].organisation_id
    campaign, other = make_campaign(organisation_id=org), make_campaign(organisation_id=org)
    add_signature(campaign, "A", "a@spam.example")
    theirs = add_signature(other, "B", "b@spam.example")
    services.bulk_invalidate(session, owner, campaign, BulkKind.domain, "spam.example", InvalidationReason.burst)
    assert theirs.state == SignatureState.verified
    assert counts(session, other) == (1, 0)


# --- Fraud panel ------------------------------------------------------------------

def test_bursts_from_one_ip_or_domain_within_the_window(session, make_campaign, add_signature):
    campaign = make_campaign()
    start = utcnow() - dt.timedelta(hours=5)
    # Six from one connection within four minutes: a burst.
    for i in range(6):
        add_signature(campaign, f"Bot {i}", ip_key="f" * 32, created_at=start + dt.timedelta(seconds=40 * i))
    # Six from one office connection spread over a day: not a burst.
    for i in range(6):
        add_signature(campaign, f"Office {i}", ip_key="e" * 32, created_at=start + dt.timedelta(hours=i * 0.5))
    # Five from a small domain within a minute: a burst; five gmail.com: never.
    for i in range(5):
        add_signature(campaign, f"D {i}", f"d{i}@tiny-domain.example", created_at=start + dt.timedelta(seconds=i))
        add_signature(campaign, f"G {i}", f"g{i}@gmail.com", created_at=start + dt.timedelta(seconds=i))
    # Four from another connection: under the threshold.
    for i in range(4):
        add_signature(campaign, f"Few {i}", ip_key="c" * 32, created_at=start + dt.timedelta(seconds=i))

    bursts = services.find_bursts(session, campaign, threshold=5, window=dt.timedelta(minutes=10))
    assert [(b.kind, b.value, b.in_window, b.active) for b in bursts] == [
        (BulkKind.ip, "f" * 32, 6, 6),
        (BulkKind.domain, "tiny-domain.example", 5, 5),
    ]
    assert bursts[0].window_start == start and bursts[0].window_end == start + dt.timedelta(seconds=200)


def test_densest_window_slides():
    t0 = dt.datetime(2026, 1, 1)
    times = [t0, t0 + dt.timedelta(minutes=20)] + [t0 + dt.timedelta(minutes=40, seconds=s) for s in range(4)]
    assert services._densest_window(times, dt.timedelta(minutes=10)) == (4, 2)


def test_disposable_domains(session, make_campaign, add_signature):
    campaign = make_campaign()
    for i in range(3):
        add_signature(campaign, f"M {i}", f"m{i}@mailinator.com")
    add_signature(campaign, "Sub", "x@sub.mailinator.com")
    add_signature(campaign, "Real", "real@example.org")
    found = services.disposable_domains(session, campaign)
    assert [(d.domain, d.active) for d in found] == [("mailinator.com", 3), ("sub.mailinator.com", 1)]
    assert not services.is_disposable("gmail.com")


# --- Web ---------------------------------------------------------------------------

@pytest.fixture
def owner_campaign(make_organiser, make_campaign):
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    return owner, campaign


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_signatures_page_searches_in_arabic(client, session, owner_campaign, add_signature, lang, login):
    owner, campaign = owner_campaign
    add_signature(campaign, "أحمد مُصطفى", "ahmad@example.org")
    add_signature(campaign, "ليلى حداد")
    session.commit()
    login(client, owner)
    url = f"/{lang}/manage/campaigns/{campaign.id}/signatures"
    token = csrf_token(client, url)
    searched = client.post(url, data={"csrf_token": token, "q": "احمد مصطفي"})
    assert searched.status_code == 303
    assert urlsplit(searched.headers["Location"]).query == "", "what was typed stays out of the URL"
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "أحمد مُصطفى" in html and "ليلى حداد" not in html
    assert 'value="احمد مصطفي"' in html, "the search box keeps what was typed"
    assert "ahmad@example.org" not in html and "…@example.org" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert ("وُجد توقيع واحد" in html) if lang == "ar" else "1 signature found" in html

    # A half address is refused with a translated error, next to the field.
    refused = client.post(url, data={"csrf_token": token, "q": "ahmad@"})
    assert refused.status_code == 422
    assert ("ليس عنوان بريد إلكتروني كاملًا" in refused.get_data(as_text=True)) if lang == "ar" \
        else "not a whole e-mail address" in refused.get_data(as_text=True)
    assert client.post(url, data={"q": "x"}).status_code == 400, "CSRF is required"

    # Show all again; nothing typed may cause a 500.
    assert client.post(url, data={"csrf_token": token, "clear": "1"}).status_code == 303
    assert "ليلى حداد" in client.get(url).get_data(as_text=True)
    for data in ({"state": "nonsense"}, {"q": "%" * 400}, {"q": "@"}, {"state": "invalidated"}):
        assert client.post(url, data={"csrf_token": token, **data}).status_code in (303, 422)
        assert client.get(url).status_code == 200
    for page in ("abc", "999", "-3", "99999999999999999999"):
        assert client.get(url, query_string={"page": page}).status_code == 200


def test_the_search_belongs_to_its_campaign(client, session, owner_campaign, make_campaign, add_signature, login):
    owner, campaign = owner_campaign
    other = make_campaign(organisation_id=campaign.organisation_id)
    add_signature(campaign, "Layla")
    add_signature(other, "Omar")
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    client.post(url, data={"csrf_token": csrf_token(client, url), "q": "zzz"})
    assert "Layla" not in client.get(url).get_data(as_text=True)
    assert "Omar" in client.get(f"/en/manage/campaigns/{other.id}/signatures").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_invalidate_and_restore_through_the_page(client, session, owner_campaign, add_signature, lang, login):
    owner, campaign = owner_campaign
    signature = add_signature(campaign, "إحمد")
    session.commit()
    login(client, owner)
    url = f"/{lang}/manage/campaigns/{campaign.id}/signatures"
    token = csrf_token(client, url)
    action = f"{url}/{signature.id}/invalidate"

    refused = client.post(action, data={"csrf_token": token, "reason": "", "next": url + "?page=1"})
    assert refused.status_code == 422
    assert ("يُرجى اختيار سبب" in refused.get_data(as_text=True)) if lang == "ar" else \
        "Please choose a reason." in refused.get_data(as_text=True)
    assert client.post(action, data={"reason": "fake"}).status_code == 400, "CSRF is required"
    assert counts(session, campaign) == (1, 0)

    done = client.post(action, data={"csrf_token": token, "reason": "fake", "next": url + "?page=1"})
    assert done.status_code == 303 and done.headers["Location"].endswith("?page=1")
    assert counts(session, campaign) == (0, 0)
    assert session.get(Signature, signature.id).state == SignatureState.invalidated

    restored = client.post(f"{url}/{signature.id}/restore", data={"csrf_token": token, "reason": "mistake"})
    assert restored.status_code == 303
    assert counts(session, campaign) == (1, 0)
    # Off-site "next" is ignored.
    again = client.post(action, data={"csrf_token": token, "reason": "fake", "next": "//evil.example/"})
    assert again.headers["Location"].endswith(url)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_bulk_confirmation_shows_the_number_then_acts(client, session, owner_campaign, add_signature, lang, login):
    owner, campaign = owner_campaign
    for i in range(3):
        add_signature(campaign, f"Bot {i}", f"b{i}@bots.example")
    add_signature(campaign, "Human", "h@example.org")
    session.commit()
    login(client, owner)
    url = f"/{lang}/manage/campaigns/{campaign.id}/signatures/bulk"
    page = client.get(url, query_string={"by": "domain", "value": "bots.example"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="expected" value="3"' in html and "bots.example" in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": token, "by": "domain", "value": "bots.example", "reason": "burst"}

    stale = client.post(url, data={**data, "expected": "2"})
    assert stale.status_code == 409 and 'name="expected" value="3"' in stale.get_data(as_text=True)
    assert counts(session, campaign) == (4, 0)
    assert client.post(url, data={**data, "expected": "3", "reason": ""}).status_code == 422

    done = client.post(url, data={**data, "expected": "3"})
    assert done.status_code == 303
    assert counts(session, campaign) == (1, 0)
    assert client.get(url, query_string={"by": "nonsense", "value": "x"}).status_code == 404
    assert client.post(url, data={**data, "by": "nonsense", "expected": "1"}).status_code == 400


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_fraud_panel_offers_one_click_bulk_invalidation(client, session, owner_campaign, add_signature, lang, login):
    owner, campaign = owner_campaign
    start = utcnow() - dt.timedelta(minutes=30)
    for i in range(5):
        add_signature(campaign, f"Bot {i}", ip_key="9" * 32, created_at=start + dt.timedelta(seconds=i))
    for i in range(2):
        add_signature(campaign, f"Throwaway {i}", f"t{i}@mailinator.com")
    session.commit()
    login(client, owner)
    url = f"/{lang}/manage/campaigns/{campaign.id}/fraud"
    html = client.get(url).get_data(as_text=True)
    assert "99999999" in html and "mailinator.com" in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    form = re.search(r'<form method="post" action="([^"]+)" class="row-action">(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    assert fields["by"] == "ip" and fields["expected"] == "5" and fields["reason"] == "burst"
    done = client.post(form.group(1), data={**fields, "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith(url)
    assert counts(session, campaign) == (2, 0)
    assert "99999999" not in client.get(url).get_data(as_text=True)


def test_editor_of_another_organisation_gets_403(client, session, make_organiser, make_campaign, add_signature, login):
    editor_a = make_organiser("editor", "Group A")
    owner_b = make_organiser("owner", "Group B")
    campaign_b = make_campaign(organisation_id=owner_b.memberships[0].organisation_id)
    signature = add_signature(campaign_b)
    session.commit()
    login(client, editor_a)
    base = f"/en/manage/campaigns/{campaign_b.id}"
    token = csrf_token(client, "/en/manage/")
    assert client.get(f"{base}/signatures").status_code == 403
    assert client.get(f"{base}/fraud").status_code == 403
    assert client.get(f"{base}/signatures/bulk?by=domain&value=example.org").status_code == 403
    assert client.post(f"{base}/signatures/{signature.id}/invalidate",
                       data={"csrf_token": token, "reason": "fake"}).status_code == 403
    assert client.get("/en/manage/campaigns/999999/signatures").status_code == 404
    assert counts(session, campaign_b) == (1, 0)


def test_only_those_who_may_export_see_whole_addresses_on_the_list(client, session, make_organiser, owner_campaign,
                                                                  add_signature, login):
    owner, campaign = owner_campaign
    editor = make_organiser("editor", campaign.organisation.name)
    add_signature(campaign, "Layla", "layla.updates@example.org", opt_in=True)
    session.commit()
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    login(client, owner)
    assert "layla.updates@example.org" in client.get(url).get_data(as_text=True)
    login(client, editor)
    page = client.get(url).get_data(as_text=True)
    assert "layla.updates" not in page and "…@example.org" in page


def test_anonymous_visitors_are_sent_to_log_in(client, session, owner_campaign):
    _, campaign = owner_campaign
    for path in ("signatures", "fraud", "signatures/bulk?by=ip&value=x", "export.csv", "export.xlsx"):
        response = client.get(f"/ar/manage/campaigns/{campaign.id}/{path}")
        assert response.status_code == 302 and "/ar/manage/login" in response.headers["Location"]


def test_reindex_command_fills_normalised_names(runner, session, make_campaign, add_signature):
    campaign = make_campaign()
    first = add_signature(campaign, "أحمد مُصطفى")
    second = add_signature(campaign, "ليلى")
    session.execute(sa.update(Signature).values(search_name=""))  # as rows from before the column
    session.commit()
    ids = first.id, second.id
    result = runner.invoke(args=["moderation", "reindex"])
    assert result.exit_code == 0 and "2 signature(s) updated" in result.output
    assert [session.get(Signature, i).search_name for i in ids] == ["احمد مصطفي", "ليلي"]
    assert "0 signature(s)" in runner.invoke(args=["moderation", "reindex"]).output


# --- Odd input on the moderation pages ----------------------------------------------------------

@pytest.fixture
def owner_signature(session, make_organiser, make_campaign, add_signature):
    """(owner, campaign, signature): an owner's campaign with one confirmed signature."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    signature = add_signature(campaign)
    session.commit()
    return owner, campaign, signature


@pytest.mark.parametrize("page", ["²", "٣", "9" * 5000])
def test_refused_moderation_action_with_an_odd_page_in_next_is_not_a_500(client, owner_signature, page, login):
    owner, campaign, signature = owner_signature
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    token = csrf_token(client, url)
    refused = client.post(f"{url}/{signature.id}/invalidate",
                          data={"csrf_token": token, "reason": "", "next": f"{url}?page={page}"})
    assert refused.status_code == 422, "the list is shown again (the first page if the number makes no sense)"


@pytest.mark.parametrize("next_url", ["/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/",
                                      "/\t\\evil.example/"])
def test_next_with_a_tab_or_line_break_cannot_leave_the_site(client, make_organiser, owner_signature, next_url, login):
    """Werkzeug's Location header (urllib's urlsplit) drops tabs and line breaks, as
    browsers do, so "/<tab>/evil.example" became "//evil.example"."""
    editor = make_organiser("editor", two_factor=False)
    response = web_login(client, editor, next_url=next_url)
    assert response.status_code == 303 and response.location == "/en/manage/"

    login(client, editor)
    assert client.get("/en/manage/login", query_string={"next": next_url}).location == "/en/manage/"

    owner, campaign, signature = owner_signature
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    done = client.post(f"{url}/{signature.id}/invalidate",
                       data={"csrf_token": csrf_token(client, url), "reason": "fake", "next": next_url})
    assert done.status_code == 303 and done.location == url


@pytest.mark.parametrize("state", [" ", "\r\n"])
def test_a_blank_looking_state_in_the_search_does_not_break_the_signatures_page(
        client, session, make_organiser, make_campaign, add_signature, state, login):
    """Optional() let whitespace past the state's choice check; the saved search
    then made every later view of the list a 500."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    add_signature(campaign, "Layla Haddad")
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    searched = client.post(url, data={"csrf_token": csrf_token(client, url), "q": "", "state": state})
    assert searched.status_code in (303, 422)
    page = client.get(url)
    assert page.status_code == 200 and "Layla Haddad" in page.get_data(as_text=True)


def test_a_nul_in_the_bulk_value_is_not_a_500(client, session, make_organiser, make_campaign, add_signature, login):
    """PostgreSQL refuses NUL in text parameters; no hashed IP or domain holds one."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    add_signature(campaign)
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures/bulk"
    for by in ("ip", "domain"):
        assert client.get(url, query_string={"by": by, "value": "a\x00b"}).status_code in (200, 404)
        token = csrf_token(client, f"/en/manage/campaigns/{campaign.id}/signatures")
        posted = client.post(url, data={"csrf_token": token, "by": by, "value": "a\x00b", "expected": "0",
                                        "reason": "fake"})
        assert posted.status_code in (303, 400, 409)


def test_a_nul_in_the_search_or_a_released_connection_is_not_a_500(
        client, session, make_organiser, make_campaign, add_signature, login):
    """PostgreSQL refuses NUL: a search with one was saved, then every view of the list
    was a 500; releasing a "connection" with one was a 500 too. Found by
    tests/test_hostile_input.py."""
    owner = make_organiser("owner")
    campaign = make_campaign(organisation_id=owner.memberships[0].organisation_id)
    add_signature(campaign, "Layla Haddad")
    session.commit()
    login(client, owner)
    url = f"/en/manage/campaigns/{campaign.id}/signatures"
    token = csrf_token(client, url)
    assert client.post(url, data={"csrf_token": token, "q": "Lay\x00la", "state": ""}).status_code == 303
    page = client.get(url)
    assert page.status_code == 200 and "Layla Haddad" in page.get_data(as_text=True)
    released = client.post(f"/en/manage/campaigns/{campaign.id}/held/release",
                           data={"csrf_token": token, "value": "a\x00b", "expected": "0"})
    assert released.status_code == 303
