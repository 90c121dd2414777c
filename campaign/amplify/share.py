"""Share links: plain links to each network's own share page. Nothing of theirs
loads on our pages; a network learns of the visit only if the signer clicks."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask_babel import lazy_gettext as _l

from campaign.campaigns.models import Campaign
from campaign.urls import external_url


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
    message = (text.share_text or text.title) if text else campaign.slug
    if campaign.hashtag and f"#{campaign.hashtag}" not in message:
        message = f"{message} #{campaign.hashtag}"
    return message


def share_links(campaign: Campaign, lang: str) -> list[ShareLink]:
    message = share_message(campaign, lang)

    def link(channel: str) -> str:
        return campaign_link(campaign, lang, channel)

    return [
        ShareLink("whatsapp", str(_l("WhatsApp")), "https://wa.me/?" + urlencode({"text": f"{message} {link('wa')}"})),
        ShareLink("telegram", str(_l("Telegram")), "https://t.me/share/url?" + urlencode({"url": link("tg"), "text": message})),
        ShareLink("x", str(_l("X")), "https://x.com/intent/post?" + urlencode({"text": message, "url": link("x")})),
        ShareLink("facebook", str(_l("Facebook")), "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link("fb")})),
        ShareLink(
            "email",
            str(_l("E-mail")),
            "mailto:?subject=" + quote(message) + "&body=" + quote(f"{message}\n\n{link('em')}"),
        ),
    ]
