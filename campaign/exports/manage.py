"""Exports: /<lang>/manage/campaigns/<id>/export.csv and export.xlsx.

Personal data leaves the site here, so: the export_signers permission, then a
two-factor code entered in the last few minutes, then an audit entry written and
committed before the first byte goes out.
"""
from __future__ import annotations

import functools
import tempfile

from flask import Blueprint, Response, stream_with_context

from campaign.campaigns.models import Campaign
from campaign.exports import services
from campaign.extensions import db
from campaign.i18n import current_language
from campaign.organiser.access import Permission
from campaign.organiser.auth import campaign_for, current_organiser, fresh_two_factor_required, login_required
from campaign.privacy.keys import utcnow

bp = Blueprint("manage_exports", __name__, url_prefix="/<lang_code>/manage")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_export(view):
    """Load the campaign and check export_signers before asking for a fresh 2FA
    code: someone who may not export is refused, not sent to re-authenticate."""

    @functools.wraps(view)
    def wrapper(campaign_id: int, **kwargs):
        campaign = campaign_for(campaign_id, Permission.export_signers)
        return view(campaign=campaign, **kwargs)

    return wrapper


def _filename(campaign: Campaign, extension: str) -> str:
    return f"{campaign.slug}-signatures-{utcnow():%Y%m%d-%H%M}.{extension}"


@bp.get("/campaigns/<int:campaign_id>/export.csv")
@login_required
@may_export
@fresh_two_factor_required
def export_csv(campaign: Campaign):
    services.record_export(db.session, current_organiser(), campaign, "csv")
    db.session.commit()
    lang = current_language()
    body = stream_with_context(services.csv_chunks(db.session, campaign, lang))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename(campaign, "csv")}"',
    })


@bp.get("/campaigns/<int:campaign_id>/export.xlsx")
@login_required
@may_export
@fresh_two_factor_required
def export_xlsx(campaign: Campaign):
    services.record_export(db.session, current_organiser(), campaign, "xlsx")
    db.session.commit()
    # xlsxwriter can only finish the zip once every row is in, so build it in a
    # temporary file (deleted when closed) and stream that.
    spool = tempfile.TemporaryFile()
    services.write_xlsx(db.session, campaign, current_language(), spool)
    size = spool.tell()
    spool.seek(0)

    def chunks():
        with spool:
            while block := spool.read(256 * 1024):
                yield block

    return Response(chunks(), mimetype=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{_filename(campaign, "xlsx")}"',
        "Content-Length": str(size),
    })
