"""Digits follow the page, not only the campaign: Arabic-Indic digits (with the
Arabic separators ٬ ٫) only on Arabic pages of campaigns that ask for them; English
pages never show them outside campaign text; pages about no campaign (home) do not
mix "0" and "٠". Counts are written in the plural forms of the language."""
from __future__ import annotations

import contextvars
import datetime as dt
import re

import pytest
from babel.messages.pofile import read_po

from campaign.campaigns.models import Digits
from campaign.config import ROOT
from campaign.i18n import format_number, localise_digits, uses_arabic_indic
from campaign.privacy.keys import utcnow
from campaign.signatures.models import Visibility
from tests.moderation_helpers import add_signature  # noqa: F401  (fixture)

ARABIC_INDIC = re.compile(r"[٠-٩٬٫]")


def page(client, url: str) -> str:
    """The page's HTML, fetched in a context of its own as a server would (the
    ``app`` fixture's open app context would otherwise keep the first language)."""
    return contextvars.Context().run(client.get, url).get_data(as_text=True)


def test_the_one_rule(app):
    with app.test_request_context():
        assert format_number(5000, "arab", "ar") == "٥٬٠٠٠"
        assert format_number(1234567, Digits.arab, "ar") == "١٬٢٣٤٬٥٦٧"
        assert format_number(5000, "arab", "en") == "5,000"
        assert format_number(5000, "latn", "ar") == "5,000"
        assert format_number(None, "arab", "ar") == "٠"
        assert localise_digits("30 November 2026", "arab", "ar") == "٣٠ November ٢٠٢٦"
        assert localise_digits("12.5%", "arab", "en") == "12.5%"
        assert not uses_arabic_indic("arab", "en") and uses_arabic_indic(Digits.arab, "ar")


def page_text_outside_campaign_text(html: str, campaign_texts: list[str]) -> str:
    for text in campaign_texts:
        html = html.replace(text, "")
    return html


def test_english_pages_have_no_arabic_indic_digit_outside_campaign_text(client, make_campaign, add_signature,
                                                                        session):
    campaign = make_campaign(goal=5000, digits=Digits.arab, demands=5, closes_at=utcnow() + dt.timedelta(days=40))
    for n in range(12):
        add_signature(campaign, name=f"Signer {n}", country="LB", visibility=Visibility.full_name,
                      created_at=utcnow() - dt.timedelta(minutes=n + 2))
    add_signature(campaign, name="Pending", verified=False)
    session.commit()
    texts = [t.title for t in campaign.texts] + [t.summary for t in campaign.texts]
    for url in ("/en/", f"/en/c/{campaign.slug}", f"/en/c/{campaign.slug}/thanks"):
        html = page(client, url)
        found = ARABIC_INDIC.findall(page_text_outside_campaign_text(html, texts))
        assert not found, f"{url}: {found}"
    html = page(client, f"/en/c/{campaign.slug}")
    assert "Goal: 5,000 signatures" in html
    assert ">12</strong> confirmed signatures" in html
    assert [m for m in re.findall(r'class="demand-number"[^>]*>([^<]+)<', html)] == ["1", "2", "3", "4", "5"]


def test_arabic_page_uses_the_campaign_s_digits_everywhere(client, make_campaign, add_signature, session):
    campaign = make_campaign(goal=5000, digits=Digits.arab, demands=3, closes_at=utcnow() + dt.timedelta(days=40))
    for n in range(12):
        add_signature(campaign, name=f"موقّع {n}", created_at=utcnow() - dt.timedelta(minutes=5))
    session.commit()
    html = page(client, f"/ar/c/{campaign.slug}")
    assert "الهدف: ٥٬٠٠٠ توقيع" in html
    assert '<strong class="count-number">١٢</strong> توقيعًا مؤكَّدًا' in html
    assert re.findall(r'class="demand-number"[^>]*>([^<]+)<', html) == ["١", "٢", "٣"]
    closes = re.search(r'<p class="closes">([^<]+)</p>', html).group(1)
    assert not re.search(r"[0-9]", closes), closes
    assert "قبل ٥ دقائق" in html, "recent signers show a relative time in the campaign's digits"
    latin = make_campaign(goal=5000, digits=Digits.latn)
    assert "الهدف: 5,000 توقيع" in page(client, f"/ar/c/{latin.slug}")


def test_home_cards_do_not_mix_digits(client, make_campaign, add_signature, session):
    arab, latn = make_campaign(digits=Digits.arab), make_campaign(digits=Digits.latn)
    for campaign in (arab, latn):
        for n in range(3):
            add_signature(campaign, name=f"Signer {n}")
    session.commit()
    for lang in ("ar", "en"):
        html = page(client, f"/{lang}/")
        counts = re.findall(r'<p class="count">([^<]+)</p>', html)
        assert len(counts) == 2 and counts[0] == counts[1], counts
        assert not ARABIC_INDIC.search("".join(counts))


@pytest.mark.parametrize("count, words", [
    (1, "توقيع واحد مؤكَّد"),
    (2, "توقيعان مؤكَّدان"),
    (3, "٣ توقيعات مؤكَّدة"),
    (11, "١١ توقيعًا مؤكَّدًا"),
])
def test_counts_are_written_as_arabic_says_them(client, make_campaign, add_signature, session, count, words):
    campaign = make_campaign(digits=Digits.arab)
    for n in range(count):
        add_signature(campaign, name=f"Signer {n}")
    session.commit()
    html = page(client, f"/ar/c/{campaign.slug}")
    line = re.search(r'<p class="count-line">(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", line).strip() == words
    assert f'data-count="{count}"' in html


def test_no_signatures_yet_invites_the_first(client, make_campaign):
    campaign = make_campaign(goal=100, digits=Digits.arab)
    for lang, invitation in (("ar", "كن أول من يوقّع"), ("en", "Be the first to sign")):
        html = page(client, f"/{lang}/c/{campaign.slug}")
        assert invitation in html
        assert "count-number" not in html, "no lone ٠ that reads as a bullet"


def test_every_plural_has_the_six_arabic_forms():
    with open(ROOT / "translations" / "ar" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalogue = read_po(fh, locale="ar")
    assert catalogue.num_plurals == 6
    short = [m.id[0] for m in catalogue if m.id and m.pluralizable
             and (len(m.string) != 6 or not all(s.strip() for s in m.string))]
    assert not short, short


def test_confirmation_e_mail_follows_the_same_rule(app, make_campaign):
    from campaign.signatures.services import _compose_mail

    campaign = make_campaign(digits=Digits.arab)
    hours = app.config["VERIFY_TOKEN_HOURS"]
    with app.test_request_context():
        arabic = _compose_mail(campaign, "confirm", to="a@example.org", locale="ar", verify_token="v",
                               withdraw_token="w")
        english = _compose_mail(campaign, "confirm", to="a@example.org", locale="en", verify_token="v",
                                withdraw_token="w")
    assert format_number(hours, "arab", "ar") in arabic["text"]
    assert f"{hours} hours" in english["text"] and not ARABIC_INDIC.search(english["text"])
