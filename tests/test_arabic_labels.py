"""Arabic that reads as written: labels that said something else in Arabic (the
slug as "page title", "Invalidate" as "Cancel", language names in English inside
Arabic sentences, the form's imperatives as export values, numbered steps) now say
what they do."""
from __future__ import annotations

import contextvars

from flask_babel import force_locale, gettext

from campaign.exports.services import rows
from campaign.signatures.models import Visibility
from tests.conftest import login
from tests.moderation_helpers import add_signature  # noqa: F401  (fixture)


def get(client, url: str) -> str:
    return contextvars.Context().run(client.get, url).get_data(as_text=True)


def test_labels_say_what_they_do(app):
    with app.test_request_context(), force_locale("ar"):
        assert gettext("Web address") == "رابط الصفحة"
        assert gettext("Invalidate") == "استبعِد التوقيع"
        assert gettext("Invalidated") == "مُستبعَد"
        assert gettext("What may the public see?") == "ماذا يُعرض علنًا؟"


def test_export_writes_visibility_as_values_not_instructions(app, session, make_campaign, add_signature):
    campaign = make_campaign()
    add_signature(campaign, name="ليلى حداد", visibility=Visibility.full_name)
    add_signature(campaign, name="Sam Jones", visibility=Visibility.initials)
    add_signature(campaign, name="سلمى خوري", visibility=Visibility.counted)
    session.commit()
    with app.test_request_context():
        arabic = list(rows(session, campaign, "ar"))
        english = list(rows(session, campaign, "en"))
    assert sorted(row[4] for row in arabic[1:]) == sorted(["الاسم الكامل والبلد", "الأحرف الأولى والبلد", "يُحتسب فقط"])
    assert sorted(row[4] for row in english[1:]) == sorted(["Full name and country", "Initials and country",
                                                            "Counted only"])


def test_languages_are_named_in_the_sentence_s_language(app):
    """"باللغة English" read as two languages at once; the send page now says
    "بالإنجليزية" (tests/test_browser_journey.py sees it on the page)."""
    from campaign.i18n import language_name_here

    with app.test_request_context(), force_locale("ar"):
        sentence = gettext("%(count)s in %(language)s, with the subject:", count="١",
                           language=language_name_here("en"))
        assert sentence == "١ بالإنجليزية، بعنوان:"
        assert gettext("In %(language)s", language=language_name_here("ar")) == "بالعربية"
    with app.test_request_context(), force_locale("en"):
        assert gettext("In %(language)s", language=language_name_here("ar")) == "In Arabic"


def test_two_factor_steps_are_named_in_words(client, make_organiser):
    organiser = make_organiser("editor", two_factor=False)
    login(client, organiser, fresh_two_factor=False)
    page = get(client, "/ar/manage/two-factor")
    for step in ("الخطوة الأولى", "الخطوة الثانية", "الخطوة الثالثة"):
        assert step in page
