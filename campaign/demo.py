"""`flask demo`: load demo campaigns in both languages. Safe to run again: existing
demo campaigns get their texts refreshed, nothing is duplicated.

The texts are ours, written for the demo; the names of organisations and people
in them are invented."""
from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from flask import Flask

from campaign.campaigns import services
from campaign.campaigns.models import CampaignKind, CampaignState, Digits
from campaign.campaigns.services import DemandInput
from campaign.extensions import db
from campaign.organiser.models import Organisation
from campaign.privacy.keys import utcnow
from campaign.targets.demo import load_demo_targets

# An invented group that owns the demo campaigns, so an organiser can be created
# for it: flask users create you@example.org --organisation "Sawt demo" --role owner
DEMO_ORGANISATION = "Sawt demo"

APPEAL = {
    "slug": "no-forced-returns",
    "kind": CampaignKind.appeal,
    "hashtag": "لا_للترحيل_القسري",
    "goal": 5000,
    "digits": Digits.arab,
    "texts": {
        "ar": {
            "title": "نداء عاجل: أوقفوا ترحيل المعتقلين السياسيين إلى حيث ينتظرهم التعذيب",
            "summary": "مئات المعتقلين السياسيين يواجهون خطر التسليم إلى سلطات تعتقل وتعذب معارضيها. نطالب بحمايتهم الآن، قبل فوات الأوان.",
            "body_md": (
                "يقبع مئات المعتقلين السياسيين منذ سنوات في سجون مكتظة، كثير منهم أُوقفوا بسبب رأي قالوه "
                "أو تظاهرة شاركوا فيها. واليوم تتصاعد الضغوط لتسليمهم إلى سلطات بلادهم، حيث وثّقت منظمات "
                "حقوقية مستقلة حالات اختفاء قسري وتعذيب طالت عائدين قبلهم.\n\n"
                "إن إعادة أي إنسان إلى مكان يواجه فيه خطر التعذيب محظورة حظراً مطلقاً بموجب **اتفاقية مناهضة "
                "التعذيب** ومبدأ عدم الإعادة القسرية. لا استثناء لهذا المبدأ، ولا مساومة عليه.\n\n"
                "تطلب عائلات المعتقلين أمراً بسيطاً: أن يعامَل أبناؤها وفق القانون، وأن يعرف العالم ما يجري "
                "خلف الأسوار. وقّعوا هذا النداء لنحمله معاً إلى السفارات والهيئات الأممية ووزارات الخارجية."
            ),
            "share_text": "وقّعتُ نداءً عاجلاً لحماية المعتقلين السياسيين من الترحيل القسري. أضِف صوتك:",
        },
        "en": {
            "title": "Urgent appeal: stop the deportation of political detainees to torture",
            "summary": "Hundreds of political detainees face being handed over to authorities that jail and torture their critics. We call for their protection now, before it is too late.",
            "body_md": (
                "Hundreds of political detainees have spent years in overcrowded prisons, many of them held "
                "for something they said or a protest they joined. Pressure is now growing to hand them over "
                "to the authorities of their home country, where independent rights groups have documented "
                "enforced disappearances and torture of people returned before them.\n\n"
                "Sending anyone back to a place where they risk torture is absolutely prohibited under the "
                "**Convention against Torture** and the principle of non-refoulement. There are no exceptions, "
                "and it is not up for negotiation.\n\n"
                "The detainees' families ask for something simple: that their relatives are treated under the "
                "law, and that the world knows what happens behind the walls. Sign this appeal so that we can "
                "carry it together to embassies, UN bodies and foreign ministries."
            ),
            "share_text": "I signed an urgent appeal to protect political detainees from forced return. Add your voice:",
        },
    },
    "demands": [
        {
            "ar": ("وقف فوري لكل قرارات الترحيل", "تجميد أي تسليم للمعتقلين السياسيين إلى أي جهة قد تعرّضهم للتعذيب أو الاختفاء القسري."),
            "en": ("An immediate halt to all deportation orders", "Freeze every handover of political detainees to any authority that could expose them to torture or enforced disappearance."),
        },
        {
            "ar": ("زيارات مستقلة إلى السجون", "السماح للجنة الدولية للصليب الأحمر والمنظمات الحقوقية بزيارة المعتقلين دون قيود، والاطلاع على ظروف احتجازهم الصحية والإنسانية."),
            "en": ("Independent prison visits", "Let the International Committee of the Red Cross and human-rights organisations visit the detainees without restriction and see their health and living conditions."),
        },
        {
            "ar": ("مراجعة عادلة للملفات القضائية", "إعادة النظر في ملفات المعتقلين أمام قضاء مستقل، مع حقهم في محامٍ يختارونه وفي مترجم."),
            "en": ("A fair review of every case file", "Have each detainee's case reviewed by an independent court, with a lawyer of their choosing and an interpreter."),
        },
        {
            "ar": ("تدخل أممي عاجل", "أن يتابع المقررون الخاصون في الأمم المتحدة هذا الملف علناً، وأن يطلبوا ضمانات مكتوبة بعدم الترحيل."),
            "en": ("Urgent UN involvement", "UN Special Rapporteurs should follow this case publicly and ask for written guarantees of non-refoulement."),
        },
        {
            "ar": ("حق العائلات في المعرفة", "إبلاغ العائلات بأماكن احتجاز أبنائها وبأي إجراء يُتخذ بحقهم، والسماح لها بالتواصل المنتظم معهم."),
            "en": ("Families' right to know", "Tell families where their relatives are held and of any step taken against them, and allow them regular contact."),
        },
    ],
}

STATEMENT = {
    "slug": "right-to-know",
    "kind": CampaignKind.statement,
    "hashtag": "الحق_في_المعرفة",
    "goal": None,
    "digits": Digits.latn,
    "texts": {
        "ar": {
            "title": "بيان مشترك: مصير المفقودين ليس ورقة تفاوض",
            "summary": "منظمات وشخصيات حقوقية تطالب بكشف مصير المختفين قسراً ومحاسبة المسؤولين، وتدعو الجميع إلى الانضمام.",
            "body_md": (
                "نحن الموقعين أدناه، نعلن أن الكشف عن مصير المختفين قسراً والإفراج عن المعتقلين تعسفياً حقٌّ "
                "إنساني لا يجوز ربطه بأي مسار سياسي أو مقايضته بأي مكسب.\n\n"
                "لقد انتظرت آلاف العائلات سنوات طويلة دون خبر واحد عن أحبّتها. إن الصمت الدولي أمام هذه "
                "المأساة يشجّع على استمرارها، والإفلات من العقاب يغري بتكرارها.\n\n"
                "ندعو الحكومات والهيئات الأممية إلى جعل هذا الملف شرطاً ثابتاً في كل حوار، وإلى دعم آلية "
                "مستقلة للبحث عن المفقودين تعمل مع العائلات لا بمعزل عنها."
            ),
            "share_text": "مصير المفقودين ليس ورقة تفاوض. انضم إلى البيان المشترك:",
        },
        "en": {
            "title": "Joint statement: the fate of the missing is not a bargaining chip",
            "summary": "Rights organisations and advocates demand the truth about the forcibly disappeared and accountability for those responsible, and invite everyone to join.",
            "body_md": (
                "We, the undersigned, declare that revealing the fate of the forcibly disappeared and releasing "
                "those arbitrarily detained is a human right that must never be tied to any political process "
                "or traded for any gain.\n\n"
                "Thousands of families have waited for years without a single word about their loved ones. "
                "International silence in the face of this tragedy lets it continue, and impunity invites it "
                "to be repeated.\n\n"
                "We call on governments and UN bodies to make this issue a standing condition of every "
                "dialogue, and to support an independent mechanism for the missing that works with the "
                "families, not apart from them."
            ),
            "share_text": "The fate of the missing is not a bargaining chip. Join the joint statement:",
        },
    },
    "demands": [
        {
            "ar": ("كشف مصير المختفين قسراً", "الإعلان عن أماكن احتجاز جميع المختفين أو مصيرهم، وتسليم رفات من فارقوا الحياة إلى عائلاتهم."),
            "en": ("Reveal the fate of the disappeared", "Disclose where every disappeared person is held, or what became of them, and return the remains of those who died to their families."),
        },
        {
            "ar": ("المحاسبة دون استثناء", "ملاحقة كل من أمر بالاعتقال التعسفي أو التعذيب أو نفّذه أو تستّر عليه، أمام قضاء مستقل."),
            "en": ("Accountability without exception", "Prosecute everyone who ordered, carried out or covered up arbitrary detention or torture, before independent courts."),
        },
    ],
}

# The statement's named signatories, in the order they signed: invented people and
# groups, each with a role line in both languages (kind, (ar name, ar role), (en name, en role)).
STATEMENT_SIGNATORIES = [
    ("organisation", ("رابطة عائلات المفقودين", ""), ("Association of Families of the Missing", "")),
    ("organisation", ("مركز الشاهد للتوثيق", ""), ("Al-Shahed Documentation Centre", "")),
    ("individual", ("سلمى القاسم", "محامية ومدافعة عن حقوق الإنسان"), ("Salma al-Qasem", "lawyer and human-rights defender")),
    ("individual", ("كريم النجار", "صحفي ومعتقل سابق"), ("Karim al-Najjar", "journalist and former detainee")),
    ("organisation", ("شبكة محامين من أجل العدالة", ""), ("Lawyers for Justice Network", "")),
    ("individual", ("نور الهدى سليمان", "شقيقة معتقل مجهول المصير منذ عام ٢٠١٣"), ("Nour al-Huda Suleiman", "sister of a detainee missing since 2013")),
    ("individual", ("د. فراس العلي", "طبيب نفسي يعمل مع الناجين من التعذيب"), ("Dr Firas al-Ali", "psychiatrist working with torture survivors")),
    ("individual", ("ريم داود", "رئيسة تحرير مجلة «ضفاف» الثقافية"), ("Reem Dawoud", "editor-in-chief of the cultural magazine Difaf")),
    ("organisation", ("تجمع الناجيات من الاعتقال", ""), ("Women Survivors of Detention Collective", "")),
    ("individual", ("Jean-Marc Lefèvre", "باحث في القانون الدولي الإنساني، جنيف"), ("Jean-Marc Lefèvre", "researcher in international humanitarian law, Geneva")),
    ("individual", ("يوسف الحمصي", "ابن معتقل وناشط مدني"), ("Youssef al-Homsi", "son of a detainee and civic activist")),
    ("individual", ("هالة منصور", "مخرجة أفلام وثائقية"), ("Hala Mansour", "documentary film-maker")),
    ("organisation", ("منتدى الذاكرة والعدالة", ""), ("Memory and Justice Forum", "")),
    ("individual", ("سامي عبد الرحيم", "نقيب المعلمين السابق في مدينته"), ("Sami Abdel Rahim", "former head of his city's teachers' union")),
]

PETITION = {
    "slug": "open-the-prisons-to-monitors",
    "kind": CampaignKind.petition,
    "hashtag": "افتحوا_السجون",
    "goal": 1000,
    "digits": Digits.latn,
    "closes_at_days": 60,
    "texts": {
        "ar": {
            "title": "افتحوا السجون أمام المراقبين المستقلين",
            "summary": "عريضة إلى وزارة العدل: اسمحوا بزيارات منتظمة ومستقلة لكل أماكن الاحتجاز.",
            "body_md": (
                "لا يمكن التحقق من احترام حقوق المحتجزين دون رقابة مستقلة. نطالب بفتح جميع أماكن الاحتجاز "
                "أمام زيارات دورية غير معلنة مسبقاً، وبنشر تقارير هذه الزيارات."
            ),
            "share_text": "وقّعتُ عريضة لفتح السجون أمام المراقبين المستقلين:",
        },
        "en": {
            "title": "Open the prisons to independent monitors",
            "summary": "A petition to the Ministry of Justice: allow regular, independent visits to every place of detention.",
            "body_md": (
                "Nobody can check that detainees' rights are respected without independent oversight. We ask "
                "that every place of detention be opened to regular unannounced visits, and that the reports "
                "of those visits be published."
            ),
            "share_text": "I signed a petition to open the prisons to independent monitors:",
        },
    },
    "demands": [],
}

DEMO_CAMPAIGNS = [APPEAL, STATEMENT, PETITION]


def load_demo(session) -> list[str]:
    """Create or refresh the demo campaigns and publish them. Returns their slugs."""
    organisation = _demo_organisation(session)
    slugs = []
    for spec in DEMO_CAMPAIGNS:
        campaign = services.get_by_slug(session, spec["slug"])
        if campaign is None:
            closes_at = None
            if spec.get("closes_at_days"):
                closes_at = utcnow() + dt.timedelta(days=spec["closes_at_days"])
            campaign = services.create(
                session, None,
                slug=spec["slug"],
                kind=spec["kind"],
                hashtag=spec["hashtag"],
                goal=spec["goal"],
                closes_at=closes_at,
                digits=spec["digits"],
                organisation_id=organisation.id,
            )
        if campaign.organisation_id is None:
            campaign.organisation_id = organisation.id
        for locale, text in spec["texts"].items():
            services.set_text(session, campaign, locale, **text)
        services.set_demands(session, campaign, [DemandInput(texts=d) for d in spec["demands"]])
        if campaign.state == CampaignState.draft:
            services.publish(session, None, campaign)
        if spec["kind"] == CampaignKind.statement:
            _demo_signatories(session, campaign)
        if spec is APPEAL:
            load_demo_targets(session, organisation, campaign)
        slugs.append(campaign.slug)
    return slugs


def _demo_signatories(session, campaign) -> None:
    """Name the demo statement's signatories, once (a re-run leaves the list alone)."""
    from campaign.statements import services as statements
    from campaign.statements.models import SignatoryKind

    if statements.public_signatories(session, campaign):
        return
    statements.add_signatories(session, None, campaign, [
        statements.SignatoryInput(SignatoryKind(kind), names={"ar": ar[0], "en": en[0]}, roles={"ar": ar[1], "en": en[1]})
        for kind, ar, en in STATEMENT_SIGNATORIES
    ])


def _demo_organisation(session) -> Organisation:
    organisation = session.scalar(sa.select(Organisation).where(Organisation.name == DEMO_ORGANISATION))
    if organisation is None:
        organisation = Organisation(name=DEMO_ORGANISATION)
        session.add(organisation)
        session.flush()
    return organisation


@click.command("demo")
def demo_command() -> None:
    """Load the demo campaigns (an appeal, a statement, a petition) in Arabic and English."""
    slugs = load_demo(db.session)
    db.session.commit()
    click.echo("demo campaigns ready: " + ", ".join(slugs))


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
