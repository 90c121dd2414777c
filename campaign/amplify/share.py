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
        ShareLink("telegram", str(_l("Telegram")), "https://t.me/share/url?" + urlencode({"url": link("telegram"), "text": message})),
        ShareLink("x", str(_l("X")), "https://x.com/intent/post?" + urlencode({"text": message, "url": link("x")})),
        ShareLink("facebook", str(_l("Facebook")), "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link("facebook")})),
        ShareLink(
            "email",
            str(_l("E-mail")),
            "mailto:?subject=" + quote(message) + "&body=" + quote(f"{message}\n\n{link('email')}"),
        ),
    ]
