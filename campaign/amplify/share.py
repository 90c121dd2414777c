"""Share links: plain links to each network's own share page. Nothing of theirs
loads on our pages; a network learns of the visit only if the signer clicks."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask_babel import lazy_gettext as _l

from campaign.campaigns.models import Campaign
from campaign.urls import external_url


# The referral code each share channel puts in the link (?ref=…). It lands in the
# sign form's hidden `ref` field and on Signature.referral, so the dashboard can
# count signatures per channel. Short, because it travels in every shared link.
REFERRAL_CODES: dict[str, str] = {
    "whatsapp": "wa",
    "telegram": "tg",
    "x": "x",
    "facebook": "fb",
    "email": "em",
    "copy": "copy",
    "bluesky": "bs",
    "qr": "qr",
    "native": "ns",
    # The sign form embedded in another site (signatures/embed.py), when the host
    # gave no code of its own.
    "embed": "embed",
    # The embeds' links back to the campaign (campaign.embeds).
    "counter": "ctr",
    "badge": "bdg",
    "map": "map",
}
CHANNEL_BY_REFERRAL: dict[str, str] = {code: channel for channel, code in REFERRAL_CODES.items()}


def channel_label(channel: str) -> str:
    """A share channel's name for people (the dashboard's legend)."""
    labels = {
        "whatsapp": _l("WhatsApp"),
        "telegram": _l("Telegram"),
        "x": _l("X"),
        "facebook": _l("Facebook"),
        "email": _l("E-mail"),
        "copy": _l("Copied link"),
        "bluesky": _l("Bluesky"),
        "qr": _l("QR code"),
        "native": _l("Phone's share menu"),
        "embed": _l("Sign form on other websites"),
        "counter": _l("Embedded counter"),
        "badge": _l("Badge"),
        "map": _l("Embedded map"),
    }
    return str(labels.get(channel, channel))


@dataclass(frozen=True)
class ShareLink:
    channel: str
    label: str
    url: str


def campaign_link(campaign: Campaign, lang: str, channel: str | None = None) -> str:
    """The campaign's public URL, tagged with the channel so organisers can see
    which shares bring signatures."""
    return external_url("campaigns.show", lang_code=lang, slug=campaign.slug, ref=channel)


def share_message(campaign: Campaign, lang: str) -> str:
    text = campaign.text(lang)
    message = (text.share_text if text else "") or campaign.title_in(lang)
    if campaign.hashtag and f"#{campaign.hashtag}" not in message:
        message = f"{message} #{campaign.hashtag}"
    return message


def share_links(campaign: Campaign, lang: str) -> list[ShareLink]:
    message = share_message(campaign, lang)

    def link(channel: str) -> str:
        return campaign_link(campaign, lang, REFERRAL_CODES[channel])

    return [
        ShareLink("whatsapp", str(_l("WhatsApp")), "https://wa.me/?" + urlencode({"text": f"{message} {link('whatsapp')}"})),
        ShareLink("bluesky", str(_l("Bluesky")), bluesky_link(f"{message} {link('bluesky')}")),
        ShareLink("telegram", str(_l("Telegram")), "https://t.me/share/url?" + urlencode({"url": link("telegram"), "text": message})),
        ShareLink("x", str(_l("X")), "https://x.com/intent/post?" + urlencode({"text": message, "url": link("x")})),
        ShareLink("facebook", str(_l("Facebook")), "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link("facebook")})),
        ShareLink(
            "email",
            str(_l("E-mail")),
            "mailto:?subject=" + quote(message) + "&body=" + quote(f"{message}\n\n{link('email')}"),
        ),
    ]


def bluesky_link(text: str) -> str:
    return "https://bsky.app/intent/compose?" + urlencode({"text": text})


def target_post_links(campaign: Campaign, lang: str, *, x_handles: list[str],
                      bluesky_handles: list[str]) -> list[ShareLink]:
    """Prefilled posts at the campaign's targets, in the signer's language: the
    targets' handles, the campaign's share text with its hashtag, and the link.
    Only links: nothing is posted, and the network hears of it only on a click."""
    message = share_message(campaign, lang)
    links = []
    if x_handles:
        mentions = " ".join(f"@{h}" for h in x_handles)
        links.append(ShareLink("x", str(_l("Post on X")), "https://x.com/intent/post?" + urlencode(
            {"text": f"{mentions} {message}", "url": campaign_link(campaign, lang, REFERRAL_CODES["x"])})))
    if bluesky_handles:
        mentions = " ".join(f"@{h}" for h in bluesky_handles)
        links.append(ShareLink("bluesky", str(_l("Post on Bluesky")), bluesky_link(
            f"{mentions} {message} {campaign_link(campaign, lang, REFERRAL_CODES['bluesky'])}")))
    return links


def qr_svg(url: str, title: str) -> str:
    """``url`` as an inline <svg> QR code, drawn here (segno, no Pillow): showing
    it asks no other site for anything."""
    import segno

    return segno.make(url, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title=title, svgclass="qr-code", omitsize=True
    )


@dataclass(frozen=True)
class SharePanel:
    links: list[ShareLink]
    copy_url: str
    native_url: str
    qr_url: str
    qr_svg: str
    title: str
    message: str


def share_panel(campaign: Campaign, lang: str) -> SharePanel:
    """Everything the share panel shows: the networks' links (Bluesky among them),
    a link to copy, a QR code and the phone's own share sheet, each with its
    referral code so the dashboard can count what each one brings."""
    qr_url = campaign_link(campaign, lang, REFERRAL_CODES["qr"])
    return SharePanel(
        links=share_links(campaign, lang),
        copy_url=campaign_link(campaign, lang, REFERRAL_CODES["copy"]),
        native_url=campaign_link(campaign, lang, REFERRAL_CODES["native"]),
        qr_url=qr_url,
        qr_svg=qr_svg(qr_url, str(_l("QR code of the campaign's address"))),
        title=campaign.title_in(lang),
        message=share_message(campaign, lang),
    )
