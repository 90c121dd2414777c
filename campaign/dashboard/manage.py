"""/<lang>/manage/campaigns/<id>/dashboard: a campaign's numbers, charted and tabled."""
from __future__ import annotations

import datetime as dt

from babel.dates import format_date
from babel.numbers import format_percent
from flask import Blueprint, render_template
from flask_babel import gettext as _

from campaign.amplify.share import channel_label
from campaign.dashboard import charts, services
from campaign.dashboard.charts import Series
from campaign.extensions import db
from campaign.i18n import country_name, current_language, format_number, text_direction
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, login_required

bp = Blueprint("manage_dashboard", __name__, url_prefix="/<lang_code>/manage/campaigns")

_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
TOP_COUNTRIES = 10


class Numbers:
    """Formats numbers, percentages and dates in the page's language, with the
    campaign's digits."""

    def __init__(self, lang: str, digits: str):
        self.lang, self.digits = lang, digits

    def _digits(self, text: str) -> str:
        return text.translate(_ARABIC_INDIC) if self.digits == "arab" else text

    def num(self, value: int) -> str:
        return format_number(value, self.digits, self.lang)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "–"
        return self._digits(format_percent(value, format="#,##0.#%", locale=self.lang))

    def day(self, value: dt.date) -> str:
        return self._digits(format_date(value, "d MMM", locale=self.lang))

    def long_day(self, value: dt.date) -> str:
        return self._digits(format_date(value, "d MMMM y", locale=self.lang))


def _channel_name(channel: str) -> str:
    return _("Direct or unknown") if channel == services.DIRECT else channel_label(channel)


@bp.get("/<int:campaign_id>/dashboard")
@login_required
def show(campaign_id: int):
    campaign = campaign_for(campaign_id, Permission.view_campaigns)
    lang = current_language()
    rtl = text_direction(lang) == "rtl"
    n = Numbers(lang, campaign.digits.value)

    services.flush_views()
    days = services.daily(db.session, campaign)
    weekly = len(days) > services.MAX_DAILY_BUCKETS
    if weekly:
        days = services.by_week(days)
    countries = services.by_country(db.session, campaign, top=TOP_COUNTRIES)
    channels = services.by_channel(db.session, campaign)
    funnel = services.funnel(db.session, campaign)

    day_labels = [n.day(d.day) for d in days]
    confirmed_label, pending_label = _("Confirmed"), _("Awaiting confirmation")
    country_rows = [(country_name(code, lang), count) for code, count in countries.rows]
    if countries.other:
        country_rows.append((_("Other countries"), countries.other))
    if countries.unknown:
        country_rows.append((_("Country unknown"), countries.unknown))

    charts_html = {}
    if days:
        charts_html["daily"] = charts.column_chart(
            chart_id="chart-daily",
            title=_("New signatures per week") if weekly else _("New signatures per day"),
            description=_("Signatures by the day they were made: confirmed, and still awaiting confirmation. The table below has the same numbers."),
            categories=day_labels,
            series=[Series("verified", confirmed_label, [d.verified for d in days]),
                    Series("pending", pending_label, [d.pending for d in days])],
            fmt=n.num, rtl=rtl,
        )
        charts_html["total"] = charts.line_chart(
            chart_id="chart-total",
            title=_("Confirmed signatures over time"),
            description=_("The total of confirmed signatures at the end of each day. The table below has the same numbers."),
            categories=day_labels,
            series=Series("verified", _("Confirmed so far"), [d.confirmed_total for d in days]),
            fmt=n.num, rtl=rtl,
        )
    charts_html["funnel"] = charts.bar_chart(
        chart_id="chart-funnel",
        title=_("From page view to confirmed signature"),
        description=_("Views of the campaign page, signatures made and signatures confirmed. The table next to it has the same numbers."),
        labels=[_("Page views"), _("Signatures"), _("Confirmed")],
        series=[Series("funnel", _("Number"), [funnel.views, funnel.signed, funnel.verified])],
        fmt=n.num, rtl=rtl,
    )
    if country_rows:
        charts_html["countries"] = charts.bar_chart(
            chart_id="chart-countries",
            title=_("Confirmed signatures by country"),
            description=_("The %(num)s countries with the most confirmed signatures, then the rest together. The table next to it has the same numbers.", num=n.num(TOP_COUNTRIES)),
            labels=[label for label, _count in country_rows],
            series=[Series("verified", confirmed_label, [count for _label, count in country_rows])],
            fmt=n.num, rtl=rtl,
        )
    if channels:
        charts_html["channels"] = charts.bar_chart(
            chart_id="chart-channels",
            title=_("Signatures by share channel"),
            description=_("Where signers came from, by the link they followed: all signatures, and the confirmed ones inside them. The table next to it has the same numbers."),
            labels=[_channel_name(c.channel) for c in channels],
            series=[Series("signed", _("Signatures"), [c.signed for c in channels]),
                    Series("verified", confirmed_label, [c.verified for c in channels])],
            fmt=n.num, rtl=rtl,
        )

    return render_template(
        "dashboard/manage/dashboard.html",
        campaign=campaign,
        title=campaign.title_in(lang),
        n=n,
        days=days,
        weekly=weekly,
        country_rows=country_rows,
        channels=channels,
        channel_name=_channel_name,
        funnel=funnel,
        charts=charts_html,
    )
