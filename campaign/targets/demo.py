"""Demo targets for `flask demo`: the kinds of bodies appeals like ours address.

Every address is invented: example.org mailboxes, handles that say they are fake,
so a demo letter can never reach a real office."""
from __future__ import annotations

from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign
from campaign.organiser.models import Organisation
from campaign.targets import services
from campaign.targets.services import TargetInput

DEMO_TARGETS = [
    TargetInput(
        code="un-secretary-general", kind="un", country="",
        names={"ar": "الأمين العام للأمم المتحدة", "en": "UN Secretary-General"},
        email="secretary-general@un.example.org", x_handle="fake_un_sg", bluesky_handle="un-sg.example.org",
        contact_url="https://un.example.org/contact", postal_address="Demo address, not real: UN, New York",
    ),
    TargetInput(
        code="un-special-envoy", kind="un",
        names={"ar": "المبعوث الخاص للأمم المتحدة", "en": "UN Special Envoy"},
        email="envoy@un.example.org", x_handle="fake_un_envoy",
    ),
    TargetInput(
        code="security-council", kind="un",
        names={"ar": "رئاسة مجلس الأمن الدولي", "en": "President of the UN Security Council"},
        email="council-presidency@un.example.org", bluesky_handle="unsc.example.org",
    ),
    TargetInput(
        code="mfa-switzerland", kind="ministry", country="CH", language="en",
        names={"ar": "وزارة الخارجية السويسرية", "en": "Swiss Federal Department of Foreign Affairs"},
        email="desk@mfa-ch.example.org", phone="+41 00 000 00 00",
    ),
    TargetInput(
        code="mfa-turkey", kind="ministry", country="TR",
        names={"ar": "وزارة الخارجية التركية", "en": "Ministry of Foreign Affairs of Türkiye"},
        email="desk@mfa-tr.example.org", x_handle="fake_mfa_tr",
    ),
    TargetInput(
        code="icrc", kind="ngo", country="CH",
        names={"ar": "اللجنة الدولية للصليب الأحمر", "en": "International Committee of the Red Cross"},
        email="detention-desk@icrc.example.org", x_handle="fake_icrc", bluesky_handle="icrc.example.org",
    ),
    TargetInput(
        code="newsroom-regional", kind="media",
        names={"ar": "قسم الأخبار الإقليمية في صحيفة تجريبية", "en": "Regional news desk of a demo newspaper"},
        email="tips@newsroom.example.org", x_handle="fake_newsdesk",
    ),
    # The body petitioned may itself be the danger: it never receives a name.
    TargetInput(
        code="embassy-detaining-state", kind="embassy",
        names={"ar": "سفارة الدولة المحتجِزة (مثال)", "en": "Embassy of the detaining state (example)"},
        email="consular@embassy.example.org", never_send_names=True,
    ),
]

# Our own words for the demo appeal's letter.
DEMO_LETTER = {
    "ar": (
        "لا تسمحوا بترحيل المعتقلين السياسيين",
        "إلى {target}،\n\nأكتب إليكم بصفتي من الموقّعين على النداء العاجل لوقف ترحيل المعتقلين السياسيين "
        "إلى بلد ينتظرهم فيه خطر التعذيب. أرجو أن تستخدموا كل ما لديكم من وسائل لضمان احترام مبدأ عدم "
        "الإعادة القسرية، ولتمكين المراقبين المستقلين من زيارتهم.\n\nمع التقدير،\n{name} ({country})",
    ),
    "en": (
        "Do not let political detainees be deported",
        "To {target},\n\nI am writing as a signatory of the urgent appeal to stop the deportation of political "
        "detainees to a country where they risk torture. Please use every means you have to uphold "
        "non-refoulement and to let independent monitors visit them.\n\nWith respect,\n{name} ({country})",
    ),
}


def load_demo_targets(session: Session, organisation: Organisation, campaign: Campaign) -> None:
    """Create or refresh the demo directory and address the appeal to all of it."""
    chosen = {}
    for data in DEMO_TARGETS:
        existing = services.target_by_code(session, organisation.id, data.code)
        target = services.save_target(session, None, organisation.id, data, existing)
        chosen[target.id] = 12 if data.kind == "un" else 30
    services.set_campaign_targets(session, None, campaign, chosen)
    services.set_letter(session, None, campaign, DEMO_LETTER)
