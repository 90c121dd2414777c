"""The organiser workspace's acceptance test, end to end in Chromium: an owner with
two-factor creates a campaign in both languages, publishes it, invalidates a
fraudulent burst, exports the verified signers safely, and sends an update that each
signer receives in their own language — with the workspace in Arabic, and again in
English.

Only the bot's burst is sent from the test by plain HTTP (Flask's test client on the
live app, through the real sign and confirm views); everything a person does goes
through the browser, located by role and label where the page offers them, so the
labels are checked too. The page fixtures fail the test on any request to another
host, console error or CSP violation."""
from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from babel import Locale
import pyotp
import pytest
from playwright.sync_api import Page, expect

from campaign.i18n import country_name, language_name
from campaign.moderation.services import InvalidationReason
from campaign.signatures.models import Visibility
from tests.browser_fixtures import assert_controls_labelled
from tests.browser_helpers import assert_language, log_in, t
from tests.fixtures.mail import body_text, link_in
from tests.fixtures.web import csrf_token

pytestmark = pytest.mark.browser

SLUG = "free-the-defenders"
CAMPAIGN = {
    "ar": {"title": "أطلقوا سراح المدافعين", "summary": "نداء إلى السلطات",
           "body_md": "ندعو إلى **الإفراج الفوري** عنهم.\n\n- دون شروط\n- دون تأخير",
           "share_text": "وقّعوا النداء",
           "demands": [("الإفراج عن المعتقلين", "جميعهم ودون شروط"), ("وقف المحاكمات", "أمام المحاكم العسكرية")]},
    "en": {"title": "Free the defenders", "summary": "An appeal to the authorities",
           "body_md": "We call for their **immediate release**.\n\n- unconditionally\n- without delay",
           "share_text": "Sign the appeal",
           "demands": [("Release the detainees", "All of them, unconditionally"),
                       ("Stop the trials", "Before military courts")]},
}
BOLD = {"ar": "الإفراج الفوري", "en": "immediate release"}
FORMULA = '=HYPERLINK("http://x")'



@dataclass(frozen=True)
class Signer:
    key: str
    lang: str  # the language of the page they sign on, and of every e-mail they get
    name: str
    email: str
    country: str
    visibility: Visibility
    opt_in: bool
    comment: str = ""


# Legitimate signers, in signing order. Nour never confirms.
SIGNERS = [
    Signer("layla", "ar", "ليلى حداد", "layla@mail.example", "LB", Visibility.full_name, True, "معكم حتى النهاية"),
    Signer("salma", "ar", "سلمى خوري", "salma@mail.example", "EG", Visibility.counted, False, "لا تنشروا اسمي"),
    Signer("sam", "en", "Sam Jones", "sam@mail.example", "GB", Visibility.initials, True),
    Signer("formula", "en", FORMULA, "formula@mail.example", "FR", Visibility.full_name, False, "+1 from me"),
    Signer("nour", "ar", "نور سليمان", "nour@mail.example", "JO", Visibility.full_name, True),
]
CONFIRMING = ["layla", "salma", "sam", "formula"]
BURST_DOMAIN = "burst.example"
BURST_SIZE = 6  # MODERATION_BURST_SIZE is 5

UPDATE = {
    "ar": ("أخبار النداء", "سلّمنا **التوقيعات** إلى البرلمان اليوم."),
    "en": ("News of the appeal", "We handed the **signatures** to parliament today."),
}


def tn(app, lang: str, singular: str, plural: str, n: int, **values) -> str:
    """A plural message as the live app shows it in ``lang``, ``n`` as ``num``."""
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale(lang):
        return ngettext(singular, plural, n, **values)


def value_title_in(app, lang: str, visibility) -> str:
    """A visibility as a value ("Full name and country"), as the export writes it."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(lang):
        return visibility.value_title


def title_in(app, lang: str, member) -> str:
    """An enum member's translated title (a visibility, a reason) in ``lang``."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(lang):
        return member.title


def other_language(code: str) -> str:
    return "en" if code == "ar" else "ar"


def column(page: Page, code: str):
    """One language's column of a bilingual form (a fieldset named by its legend)."""
    return page.get_by_role("group", name=language_name(code), exact=True)


def flash(page: Page):
    return page.locator(".flash")


def sign(page: Page, app, slug: str, signer: Signer) -> None:
    """A visitor fills the public signing form in their language and sends it."""
    lang = signer.lang
    page.goto(f"/{lang}/c/{slug}")
    form = page.locator("form.sign-form")
    form.get_by_label(t(app, lang, "Your name")).fill(signer.name)
    form.get_by_label(t(app, lang, "Your e-mail address")).fill(signer.email)
    form.get_by_label(t(app, lang, "Country"), exact=True).select_option(label=country_name(signer.country, lang))
    form.get_by_label(title_in(app, lang, signer.visibility)).check()
    if signer.comment:
        form.get_by_label(t(app, lang, "Comment (optional)")).fill(signer.comment)
    if signer.opt_in:
        form.get_by_label(t(app, lang, "Send me updates about this campaign (you can stop them at any time)")).check()
    form.get_by_role("button", name=t(app, lang, "Sign"), exact=True).click()
    page.wait_for_url(re.compile(rf"/{lang}/c/{slug}/check-email$"))


def age_two_factor(page: Page, app) -> None:
    """As if the owner had typed their code longer ago than exports accept: move the
    time of the second factor in the (signed) session cookie back by the window."""
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    [cookie] = [c for c in page.context.cookies() if c["name"] == name]
    data = serializer.loads(cookie["value"])
    data["two_factor_at"] -= (app.config["ORGANISER_FRESH_2FA_MINUTES"] + 1) * 60
    page.context.add_cookies([{**cookie, "value": serializer.dumps(data)}])


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_owner_journey_from_draft_to_update(page, make_page, live_server, make_organiser, lang):
    app = live_server.app
    owner = make_organiser("owner", "Beirut Rights Group", email="owner@beirut.example", two_factor=True)

    # --- 1. The owner logs in with password and a real TOTP code. ---------------------
    log_in(page, owner, lang)
    assert_language(page, lang)

    # --- 2. A new campaign, written side by side; refused, completed, published. ------
    page.get_by_role("link", name=t(app, lang, "New campaign")).click()
    page.get_by_label(t(app, lang, "Appeal"), exact=True).check()
    page.get_by_label(t(app, lang, "Web address")).fill(SLUG)
    page.get_by_role("button", name=t(app, lang, "Create the draft")).click()
    page.wait_for_url(re.compile(r"/manage/campaigns/\d+/edit$"))
    campaign_id = int(page.url.split("/")[-2])
    expect(flash(page)).to_have_text(t(app, lang, "Campaign created. Write it in both languages, then publish it."))
    assert_controls_labelled(page)

    # All of Arabic; of English only the title and the first demand.
    for code in ("ar", "en"):
        texts = CAMPAIGN[code]
        col = column(page, code)
        expect(col.get_by_label(t(app, lang, "Title"), exact=True)).to_have_attribute("lang", code)
        col.get_by_label(t(app, lang, "Title"), exact=True).fill(texts["title"])
        if code == "ar":
            col.get_by_label(t(app, lang, "Summary"), exact=True).fill(texts["summary"])
            col.get_by_label(t(app, lang, "Text"), exact=True).fill(texts["body_md"])
            col.get_by_label(t(app, lang, "Share text"), exact=True).fill(texts["share_text"])
        for n, (title, body) in enumerate(texts["demands"], 1):
            row = page.get_by_role("group", name=t(app, lang, "Demand %(num)s", num=n), exact=True)
            cell = row.get_by_role("group", name=language_name(code), exact=True)
            cell.get_by_label(t(app, lang, "Demand"), exact=True).fill(title)
            if code == "ar" or n == 1:
                cell.get_by_label(t(app, lang, "Explanation"), exact=True).fill(body)
    page.get_by_role("button", name=t(app, lang, "Save"), exact=True).first.click()
    expect(flash(page)).to_have_text(t(app, lang, "Saved."))

    # Publishing now is refused, with the translated list of what English lacks.
    page.get_by_role("link", name=t(app, lang, "Overview"), exact=True).click()
    page.get_by_role("button", name=t(app, lang, "Publish"), exact=True).click()
    refusal = page.locator("#error-summary")
    expect(refusal).to_be_visible()
    english = language_name("en")
    expect(refusal.get_by_role("listitem")).to_have_text([
        f"{english}: {t(app, lang, 'summary')}",
        f"{english}: {t(app, lang, 'text')}",
        f"{english}: {t(app, lang, 'text of demand %(num)s', num=2)}",
    ])
    assert page.request.get(f"/{lang}/c/{SLUG}").status == 404, "a refused campaign stays private"

    # Each item leads to its field; complete English and publish.
    refusal.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/edit#en-summary$"))
    col = column(page, "en")
    col.get_by_label(t(app, lang, "Summary"), exact=True).fill(CAMPAIGN["en"]["summary"])
    col.get_by_label(t(app, lang, "Text"), exact=True).fill(CAMPAIGN["en"]["body_md"])
    col.get_by_label(t(app, lang, "Share text"), exact=True).fill(CAMPAIGN["en"]["share_text"])
    page.get_by_role("group", name=t(app, lang, "Demand %(num)s", num=2), exact=True).get_by_role(
        "group", name=english, exact=True).get_by_label(t(app, lang, "Explanation"), exact=True).fill(
        CAMPAIGN["en"]["demands"][1][1])
    page.get_by_role("button", name=t(app, lang, "Save"), exact=True).first.click()
    expect(flash(page)).to_have_text(t(app, lang, "Saved."))
    expect(page.locator(".notice")).to_have_count(0)
    page.get_by_role("link", name=t(app, lang, "Overview"), exact=True).click()
    page.get_by_role("button", name=t(app, lang, "Publish"), exact=True).click()
    # Publishing asks once more, showing what goes live in both languages.
    expect(page.get_by_role("heading", level=3)).to_have_text([CAMPAIGN[code]["title"] for code in ("ar", "en")])
    page.get_by_role("button", name=t(app, lang, "Yes, publish it now"), exact=True).click()
    expect(flash(page)).to_have_text(t(app, lang, "Published: the campaign is now public and accepts signatures."))

    # The public page in both languages: texts, Markdown, the numbered demands.
    for code in (lang, other_language(lang)):
        page.goto(f"/{code}/c/{SLUG}")
        assert_language(page, code)
        texts = CAMPAIGN[code]
        expect(page.get_by_role("heading", level=1)).to_have_text(texts["title"])
        expect(page.locator(".summary")).to_have_text(texts["summary"])
        expect(page.locator(".prose strong")).to_have_text(BOLD[code])
        expect(page.locator(".prose li")).to_have_count(2)
        expect(page.locator(".demands h3")).to_have_text([title for title, _ in texts["demands"]])
        expect(page.locator(".demands .demand-number")).to_have_text(["1", "2"])

    # --- 3. Signers: legitimate ones through the page, then a bot's burst. -------------
    visitors = {}  # each signer on their own browser, which later opens their e-mail
    for signer in SIGNERS:
        visitors[signer.key] = make_page()
        sign(visitors[signer.key], app, SLUG, signer)
    confirmations = {m["To"]: m for m in live_server.deliver()}
    assert set(confirmations) == {s.email for s in SIGNERS}
    for signer in SIGNERS:
        if signer.key not in CONFIRMING:
            continue
        link = link_in(confirmations[signer.email], "/confirm/")
        assert urlsplit(link).path.startswith(f"/{signer.lang}/confirm/"), "the mail is in the signer's language"
        visitor = visitors[signer.key]
        visitor.goto(link)
        visitor.get_by_role("button", name=t(app, signer.lang, "Confirm my signature")).click()
        visitor.wait_for_url(re.compile(rf"/{signer.lang}/c/{SLUG}/thanks\?confirmed=1$"))

    # One client signs and confirms BURST_SIZE times with addresses at one domain.
    bot = app.test_client()
    token = csrf_token(bot, f"/en/c/{SLUG}")
    for n in range(BURST_SIZE):
        response = bot.post(f"/en/c/{SLUG}/sign", data={
            "csrf_token": token, "name": f"Supporter {n}", "email": f"s{n}@{BURST_DOMAIN}", "country": "US",
            "visibility": "full_name", "opt_in": "y"})
        assert response.status_code == 303
    burst_mails = live_server.deliver()
    assert len(burst_mails) == BURST_SIZE and all(m["To"].endswith("@" + BURST_DOMAIN) for m in burst_mails)
    for message in burst_mails:
        response = bot.post(urlsplit(link_in(message, "/confirm/")).path, data={"csrf_token": token})
        assert response.status_code == 303
    total = len(CONFIRMING) + BURST_SIZE
    page.goto(f"/{lang}/c/{SLUG}")
    expect(page.locator(".count-number")).to_have_text(str(total))

    # --- 4. The fraud panel: the burst by domain, invalidated after the count check. ---
    page.goto(f"/{lang}/manage/campaigns/{campaign_id}/")
    page.get_by_role("link", name=t(app, lang, "Unusual activity"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(app, lang, "Unusual activity"))
    # Everyone here signed from 127.0.0.1, so the burst by connection holds the
    # legitimate signers too (and Nour, unconfirmed): the domain is the precise cut.
    expect(page.locator("tr.burst-ip").get_by_role("cell").nth(3)).to_have_text(str(len(SIGNERS) + BURST_SIZE))
    burst_row = page.get_by_role("row").filter(has_text=BURST_DOMAIN)
    expect(burst_row).to_have_count(1)
    expect(burst_row.get_by_role("cell")).to_have_text(
        [re.compile(re.escape(BURST_DOMAIN)), str(BURST_SIZE), re.compile(r"."), str(BURST_SIZE), re.compile(r".")])
    burst_row.get_by_role("link", name=t(app, lang, "Review")).click()

    expect(page.locator("#bulk-count")).to_have_text(tn(
        app, lang,
        "This will invalidate %(num)d signature that is confirmed or awaiting confirmation. It will no longer count.",
        "This will invalidate %(num)d signatures that are confirmed or awaiting confirmation. They will no longer "
        "count.", BURST_SIZE))
    assert_controls_labelled(page)
    page.get_by_label(t(app, lang, "Reason")).select_option(label=title_in(app, lang, InvalidationReason.burst))
    page.get_by_role("button", name=tn(app, lang, "Invalidate %(num)d signature", "Invalidate %(num)d signatures",
                                       BURST_SIZE)).click()
    page.wait_for_url(re.compile(rf"/manage/campaigns/{campaign_id}/fraud$"))
    expect(flash(page)).to_have_text(tn(app, lang, "%(num)d signature was invalidated.",
                                        "%(num)d signatures were invalidated.", BURST_SIZE))
    expect(page.get_by_role("row").filter(has_text=BURST_DOMAIN)).to_have_count(0)

    # The public count drops by the burst; the legitimate signers are still listed.
    page.goto(f"/{lang}/c/{SLUG}")
    expect(page.locator(".count-number")).to_have_text(str(len(CONFIRMING)))
    signers_list = page.locator("ul.signers")
    expect(signers_list).to_contain_text("ليلى حداد")
    expect(signers_list).to_contain_text("S. J.")
    expect(signers_list).not_to_contain_text("Supporter")

    # --- 5. Export: a fresh code is asked for, the CSV is safe and honours choices. -----
    age_two_factor(page, app)
    page.goto(f"/{lang}/manage/campaigns/{campaign_id}/")
    page.get_by_role("link", name=t(app, lang, "Download confirmed signers (CSV)")).click()
    page.wait_for_url(re.compile(rf"/{lang}/manage/reauth\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text(t(app, lang, "Confirm it is you"))
    assert_controls_labelled(page)
    # The login code is spent (codes are single use): the next one, 30 s ahead, is
    # still inside the accepted window.
    page.get_by_label(t(app, lang, "6-digit code")).fill(pyotp.TOTP(owner.totp_secret).at(time.time() + 30))
    with page.expect_download() as download_info:
        page.get_by_role("button", name=t(app, lang, "Confirm"), exact=True).click()
    download = download_info.value
    assert re.fullmatch(rf"{SLUG}-signatures-\d{{8}}-\d{{4}}\.csv", download.suggested_filename)
    with open(download.path(), "rb") as fh:
        raw = fh.read()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte-order mark, for Excel and Arabic"
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == [t(app, lang, h) for h in (
        "Confirmed at (UTC)", "Country code", "Country", "Name", "Shown publicly as",
        "E-mail (opted in to updates)", "Language", "Comment")]
    by_key = {s.key: s for s in SIGNERS}
    expected = {
        "layla": ["ليلى حداد", "layla@mail.example", "معكم حتى النهاية"],
        "salma": ["", "", ""],  # counted only: neither name nor comment; no updates: no address
        "sam": ["S. J.", "sam@mail.example", ""],  # initials only
        "formula": ["'" + FORMULA, "", "'+1 from me"],  # formulas made inert
    }
    assert len(rows) == len(CONFIRMING), "only confirmed signers, not the burst or the unconfirmed"
    for row, key in zip(rows, CONFIRMING):
        signer = by_key[key]
        name, email, comment = expected[key]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[0])
        assert row[1:] == [signer.country, country_name(signer.country, lang), name,
                           value_title_in(app, lang, signer.visibility), email, signer.lang, comment]
    assert BURST_DOMAIN not in raw.decode("utf-8-sig")

    # The audit log lists the export (and the bulk invalidation).
    page.goto(f"/{lang}/manage/")
    page.get_by_role("link", name=t(app, lang, "Audit log"), exact=True).click()
    export_row = page.get_by_role("row").filter(has_text=t(app, lang, "Signers exported (CSV)"))
    expect(export_row).to_have_count(1)
    expect(export_row).to_contain_text(CAMPAIGN[lang]["title"])
    expect(export_row.locator(".audit-detail li").filter(has_text=t(app, lang, "Rows"))).to_have_text(
        re.compile(rf"{re.escape(t(app, lang, 'Rows'))}:\s*{len(CONFIRMING)}\s*$"))
    bulk_row = page.get_by_role("row").filter(has_text=t(app, lang, "Signatures invalidated in bulk"))
    expect(bulk_row.locator(".audit-detail li").filter(has_text=t(app, lang, "Count"))).to_have_text(
        re.compile(rf"{re.escape(t(app, lang, 'Count'))}:\s*{BURST_SIZE}\s*$"))

    # --- 6. An update in both languages: a test to the owner, then to the signers. ------
    page.goto(f"/{lang}/manage/campaigns/{campaign_id}/")
    page.get_by_role("link", name=t(app, lang, "Updates"), exact=True).click()
    assert_controls_labelled(page)
    for code, (subject, body) in UPDATE.items():
        col = column(page, code)
        col.get_by_label(t(app, lang, "Subject")).fill(subject)
        col.get_by_label(t(app, lang, "Text"), exact=True).fill(body)
    page.get_by_role("button", name=t(app, lang, "Save and send a test to myself")).click()
    page.wait_for_url(re.compile(r"/updates/\d+$"))
    expect(flash(page)).to_have_text(t(
        app, lang, "A test in both languages is on its way to %(email)s. Signers have not been sent anything.",
        email=owner.email))
    tests = live_server.deliver()
    assert sorted((m["To"], m["Subject"]) for m in tests) == sorted(
        (owner.email, t(app, code, "[Test] %(subject)s", subject=UPDATE[code][0])) for code in ("ar", "en"))

    opted_in = 2  # Layla and Sam: Salma and the formula signer did not ask, Nour never confirmed
    page.get_by_role("link", name=tn(app, lang, "Send to %(num)s signer…", "Send to %(num)s signers…",
                                     opted_in)).click()
    page.wait_for_url(re.compile(r"/send$"))
    per_language = "%(count)s in %(language)s, with the subject:"
    expect(page.locator("ul.update-recipients li")).to_have_text([
        # The language named in the page's language, inside the sentence ("بالإنجليزية").
        re.compile(re.escape(t(app, lang, per_language, count="1",
                               language=Locale.parse(code).get_display_name(lang)))
                   + r"\s*" + re.escape(UPDATE[code][0]))
        for code in ("ar", "en")
    ])
    page.get_by_role("button", name=tn(app, lang, "Send to %(num)s signer", "Send to %(num)s signers",
                                       opted_in)).click()
    page.wait_for_url(re.compile(r"/updates/\d+$"))
    expect(flash(page)).to_have_text(tn(
        app, lang, "Sending to %(num)s signer. The e-mails go out over the next minutes.",
        "Sending to %(num)s signers. The e-mails go out over the next minutes.", opted_in))

    mails = {m["To"]: m for m in live_server.deliver()}
    assert set(mails) == {"layla@mail.example", "sam@mail.example"}, \
        "nothing for those who did not opt in, did not confirm, or were invalidated"
    for address, code in (("layla@mail.example", "ar"), ("sam@mail.example", "en")):
        message = mails[address]
        subject, body = UPDATE[code]
        assert message["Subject"] == subject
        # The text part is text: the Markdown's ** are gone.
        text = body_text(message)
        plain = body.replace("**", "")
        assert plain in text and "**" not in text
        assert UPDATE[other_language(code)][1].replace("**", "") not in text
        unsubscribe = link_in(message, "/unsubscribe/")
        assert urlsplit(unsubscribe).path.startswith(f"/{code}/unsubscribe/")
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"

