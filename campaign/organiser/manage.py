"""The organiser workspace's front door: /<lang>/manage/.

Account views (login, setup, two-factor, team, audit) live here too; editing,
moderation, exports, dashboards and updates are blueprints of their own features,
all under /<lang>/manage/.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from campaign.campaigns.models import Campaign
from campaign.extensions import db, limiter
from campaign.i18n import current_language
from campaign.organiser import access, services, totp
from campaign.organiser.auth import (
    current_organiser,
    end_session,
    login_required,
    mark_two_factor_fresh,
    safe_next,
    start_session,
)
from campaign.organiser.forms import (
    ActionForm,
    CodeForm,
    InviteForm,
    LoginForm,
    PasswordForm,
    RoleForm,
    SetupForm,
    TotpForm,
)
from campaign.organiser.models import Membership, Organisation, Organiser
from campaign.privacy.keys import keyed_hash

bp = Blueprint("manage_organiser", __name__, url_prefix="/<lang_code>/manage")


@bp.after_app_request
def no_store_for_manage(response):
    """Nothing from the workspace is cached or indexed: it shows signers' data."""
    from flask import request

    if request.blueprint and request.path.split("/")[2:3] == ["manage"]:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.app_context_processor
def workspace_helpers():
    return {"current_organiser": current_organiser, "Permission": access.Permission, "can": _can,
            "can_anywhere": _can_anywhere}


def _can(permission: access.Permission, campaign=None, organisation_id=None) -> bool:
    organisation_id = campaign.organisation_id if campaign is not None else organisation_id
    return access.allowed(current_organiser(), permission, organisation_id)


def _can_anywhere(permission: access.Permission) -> bool:
    """Whether the organiser holds ``permission`` in at least one organisation (for
    the workspace menu)."""
    organiser = current_organiser()
    if organiser is None:
        return False
    return organiser.is_admin or any(access.allowed(organiser, permission, m.organisation_id)
                                     for m in organiser.memberships)


@bp.get("/")
@login_required
def home():
    organiser = current_organiser()
    return render_template(
        "organiser/manage/home.html",
        campaigns=access.campaigns_visible_to(db.session, organiser),
        organisations=access.organisations_of(db.session, organiser),
    )


# --- Accounts: login, setup, two-factor, team, audit ---------------------------------------
# After the password, the code must follow within this many seconds.
LOGIN_PENDING_SECONDS = 300
AUDIT_PAGE_SIZE = 100


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _account_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ACCOUNT"]


def _account_key() -> str:
    """Failed attempts on one account, from anywhere: keyed by a hash of the address
    typed on the password step (whether or not an account has it), or of the account
    being logged in. Only the password form's address counts: an ``email`` field
    added to the code or two-factor forms must not give a fresh allowance."""
    if request.endpoint == "manage_organiser.login_post":
        address = request.form.get("email", "")
    else:
        pending = _pending_login()
        organiser = pending[0] if pending else current_organiser()
        address = organiser.email if organiser else ""
    secret = current_app.config["DATA_KEY"].encode()
    return "login-account:" + keyed_hash(secret, "login:" + address.strip().lower())[:32]


def _failed(response) -> bool:
    return response.status_code == 422


# Shared scopes: the password step, the code step and re-authentication draw on the
# same allowance, so splitting a guess across them gains nothing.
_ip_limit = limiter.shared_limit(_login_limit, scope="organiser-login-ip")
_per_account_limit = limiter.shared_limit(
    _account_limit, scope="organiser-login-account", key_func=_account_key, deduct_when=_failed
)
_per_account_limit_on_post = limiter.shared_limit(
    _account_limit, scope="organiser-login-account", key_func=_account_key, deduct_when=_failed, methods=["POST"]
)


@bp.errorhandler(429)
def too_many_attempts(error):
    """The login pages say plainly why they refuse, and keep the address typed."""
    if request.endpoint == "manage_organiser.login_post":
        form = LoginForm()
        return render_template("organiser/manage/login.html", form=form, rate_limited=True), 429
    if request.endpoint in ("manage_organiser.login_code_post", "manage_organiser.reauth_post"):
        template = "organiser/manage/login.html" if request.endpoint == "manage_organiser.login_code_post" else "organiser/manage/reauth.html"
        return render_template(template, form=CodeForm() if "login" in template else TotpForm(),
                               code_step=True, rate_limited=True), 429
    return render_template("organiser/manage/too_many.html"), 429


@bp.errorhandler(CSRFError)
def form_expired(error):
    """A login form left open too long: show it again with the address kept."""
    if request.endpoint == "manage_organiser.login_post":
        form = LoginForm()
        form.form_errors.append(_("Your form expired. Please check your details and send it again."))
        return render_template("organiser/manage/login.html", form=form), 400
    return render_template("errors/csrf.html"), 400


def _home() -> str:
    return url_for("manage_organiser.home")


def _next_param() -> str:
    return safe_next(request.values.get("next"), _home())


# --- Login ------------------------------------------------------------------------------------

@bp.get("/login")
def login():
    if current_organiser() is not None:
        return redirect(_next_param())
    form = LoginForm(formdata=None)
    form.next.data = safe_next(request.args.get("next"), "")
    return render_template("organiser/manage/login.html", form=form)


@bp.post("/login")
@_ip_limit
@_per_account_limit
def login_post():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("organiser/manage/login.html", form=form), 422
    organiser = services.authenticate(db.session, form.email.data, form.password.data)
    db.session.commit()  # a failure is in the audit log; a success may have a rehashed password
    if organiser is None:
        form.form_errors.append(_("The e-mail address or the password is not right."))
        return render_template("organiser/manage/login.html", form=form), 422
    next_url = safe_next(form.next.data, _home())
    if organiser.has_two_factor:
        end_session()
        session["login_pending"] = {"id": organiser.id, "at": int(time.time()), "next": next_url}
        return redirect(url_for(".login_code"), code=303)
    return _finish_login(organiser, two_factor=False, next_url=next_url)


def _pending_login() -> tuple[Organiser, str] | None:
    """The organiser who gave the right password a moment ago, and where they go next."""
    pending = session.get("login_pending")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > LOGIN_PENDING_SECONDS:
        return None
    organiser = db.session.get(Organiser, pending.get("id"))
    if organiser is None or not organiser.active or not organiser.has_two_factor:
        return None
    return organiser, pending.get("next") or _home()


def _finish_login(organiser: Organiser, *, two_factor: bool, next_url: str):
    services.record_login(db.session, organiser, two_factor=two_factor)
    db.session.commit()
    start_session(organiser, two_factor=two_factor)
    return redirect(safe_next(next_url, _home()), code=303)


@bp.get("/login/code")
def login_code():
    if _pending_login() is None:
        return redirect(url_for(".login"))
    return render_template("organiser/manage/login.html", form=CodeForm(formdata=None), code_step=True)


@bp.post("/login/code")
@_ip_limit
@_per_account_limit
def login_code_post():
    pending = _pending_login()
    if pending is None:
        flash(_("Please log in again: the time for the code ran out."), "error")
        return redirect(url_for(".login"), code=303)
    organiser, next_url = pending
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("organiser/manage/login.html", form=form, code_step=True), 422
    left_before = services.recovery_codes_left(db.session, organiser)
    if not services.check_second_factor(db.session, organiser, form.code.data):
        services.record_failed_login(db.session, organiser, step="code")
        db.session.commit()
        form.code.errors.append(_("That code did not work. Enter the newest code from your app, or a recovery code."))
        return render_template("organiser/manage/login.html", form=form, code_step=True), 422
    left = services.recovery_codes_left(db.session, organiser)
    response = _finish_login(organiser, two_factor=True, next_url=next_url)
    if left < left_before:
        flash(_("You used a recovery code. Recovery codes left: %(num)d. You can make new ones on your account page.",
                num=left), "warning")
    return response


@bp.post("/logout")
def logout():
    # CSRFProtect has checked the token: a link elsewhere cannot log anyone out.
    end_session()
    flash(_("You are logged out."), "success")
    return redirect(url_for(".login"), code=303)


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    services.log_out_everywhere(db.session, current_organiser())
    db.session.commit()
    end_session()
    flash(_("You are logged out on every device."), "success")
    return redirect(url_for(".login"), code=303)


# --- Setup link ---------------------------------------------------------------------------------

def _setup_problem(problem: services.SetupProblem):
    status = 410 if problem == services.SetupProblem.expired else 404
    return render_template("organiser/manage/setup.html", problem=problem.value), status


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    try:
        organiser = services.organiser_for_setup(db.session, token)
    except services.SetupLinkError as exc:
        return _setup_problem(exc.problem)
    form = SetupForm(data={"name": organiser.name})
    if form.validate_on_submit():
        try:
            services.complete_setup(db.session, token, name=form.name.data, password=form.password.data)
        except services.SetupLinkError as exc:
            db.session.rollback()
            return _setup_problem(exc.problem)
        except services.AccountError as exc:
            db.session.rollback()
            form.password.errors.append(exc.message)
        else:
            db.session.commit()
            organiser = db.session.get(Organiser, organiser.id)
            start_session(organiser, two_factor=False)
            flash(_("Your password is set."), "success")
            return redirect(url_for(".two_factor"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("organiser/manage/setup.html", form=form, organiser=organiser), status


# --- Two-factor ----------------------------------------------------------------------------------

def _show_recovery_codes(codes: list[str], next_url: str):
    return render_template("organiser/manage/two_factor.html", codes=codes, next_url=next_url)


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
@_per_account_limit_on_post
def two_factor():
    """Set up TOTP (QR code and the secret as text, confirmed with a code), then show
    the recovery codes once. With TOTP already on: make new recovery codes."""
    organiser = current_organiser()
    next_url = _next_param()
    form = TotpForm()
    if organiser.has_two_factor:
        if form.validate_on_submit():
            if services.use_totp(db.session, organiser, form.code.data):
                codes = services.replace_recovery_codes(db.session, organiser)
                db.session.commit()
                mark_two_factor_fresh()
                return _show_recovery_codes(codes, next_url)
            # A wrong code here, with TOTP on, is someone holding the session guessing.
            services.record_failed_login(db.session, organiser, step="recovery_codes")
            db.session.commit()
            form.code.errors.append(_("That code did not work. Check the time on your phone and enter the newest code."))
        status = 422 if request.method == "POST" else 200
        return render_template("organiser/manage/two_factor.html", form=form, enabled=True, next_url=next_url,
                               codes_left=services.recovery_codes_left(db.session, organiser)), status

    secret = session.get("totp_pending")
    if not isinstance(secret, str) or len(secret) != 32:
        secret = session["totp_pending"] = totp.new_secret()
    if form.validate_on_submit():
        try:
            codes = services.enable_two_factor(db.session, organiser, secret, form.code.data)
        except services.AccountError as exc:
            form.code.errors.append(exc.message)
        else:
            db.session.commit()
            session.pop("totp_pending", None)
            mark_two_factor_fresh()
            return _show_recovery_codes(codes, next_url)
    uri = totp.provisioning_uri(secret, organiser.email)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "organiser/manage/two_factor.html",
        form=form,
        enabled=False,
        required=access.needs_two_factor(organiser),
        qr_svg=totp.qr_svg(uri, _("QR code for your authenticator app")),
        secret=totp.grouped(secret),
        next_url=next_url,
    ), status


@bp.get("/reauth")
@login_required
def reauth():
    organiser = current_organiser()
    if not organiser.has_two_factor:
        flash(_("This needs two-factor. Please set it up first."), "error")
        return redirect(url_for(".two_factor", next=_next_param()))
    form = TotpForm(formdata=None)
    form.next.data = _next_param()
    return render_template("organiser/manage/reauth.html", form=form)


@bp.post("/reauth")
@login_required
@_ip_limit
@_per_account_limit
def reauth_post():
    organiser = current_organiser()
    if not organiser.has_two_factor:
        return redirect(url_for(".two_factor", next=_next_param()), code=303)
    form = TotpForm()
    if form.validate_on_submit():
        if services.use_totp(db.session, organiser, form.code.data):
            db.session.commit()
            mark_two_factor_fresh()
            return redirect(safe_next(form.next.data, _home()), code=303)
        services.record_failed_login(db.session, organiser, step="reauth")
        db.session.commit()
        form.code.errors.append(_("That code did not work. Check the time on your phone and enter the newest code."))
    return render_template("organiser/manage/reauth.html", form=form), 422


# --- Own account ----------------------------------------------------------------------------------

@bp.route("/account", methods=["GET", "POST"])
@login_required
@_per_account_limit_on_post
def account():
    organiser = current_organiser()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(db.session, organiser, current=form.current.data, new=form.password.data)
        except services.AccountError as exc:
            db.session.rollback()
            form.current.errors.append(exc.message)
        else:
            db.session.commit()
            # Other sessions end with the new generation; this one carries on.
            two_factor_at = session.get("two_factor_at")
            start_session(db.session.get(Organiser, organiser.id), two_factor=False)
            if two_factor_at:
                session["two_factor_at"] = two_factor_at
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(url_for(".account"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "organiser/manage/account.html",
        form=form,
        organiser=organiser,
        codes_left=services.recovery_codes_left(db.session, organiser),
        needs_two_factor=access.needs_two_factor(organiser),
        action_form=ActionForm(formdata=None),
    ), status


# --- Team -------------------------------------------------------------------------------------------

@bp.get("/team")
@login_required
def team_index():
    organisations = services.manageable_organisations(db.session, current_organiser())
    if not organisations:
        abort(403)
    if len(organisations) == 1:
        return redirect(url_for(".team", organisation_id=organisations[0].id))
    return render_template("organiser/manage/team.html", organisations=organisations)


def _organisation(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    access.require(current_organiser(), access.Permission.manage_team, organisation.id)
    return organisation


def _member(organisation: Organisation, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organisation_id != organisation.id:
        abort(404)
    return membership


def _render_team(organisation: Organisation, invite_form: InviteForm | None = None, status: int = 200):
    members = services.members_of(db.session, organisation.id)
    return render_template(
        "organiser/manage/team.html",
        organisation=organisation,
        members=members,
        invite_form=invite_form or InviteForm(current_language(), formdata=None),
        is_pending=services.is_pending,
        now=services.utcnow(),
    ), status


@bp.get("/team/<int:organisation_id>")
@login_required
def team(organisation_id: int):
    return _render_team(_organisation(organisation_id))


@bp.post("/team/<int:organisation_id>/invite")
@login_required
def team_invite(organisation_id: int):
    organisation = _organisation(organisation_id)
    form = InviteForm(current_language())
    if form.validate_on_submit():
        try:
            services.invite(db.session, current_organiser(), organisation, form.email.data, form.role.data,
                            locale=form.language.data)
        except services.AccountError as exc:
            db.session.rollback()
            form.email.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for(".team", organisation_id=organisation.id), code=303)
    return _render_team(organisation, form, 422)


def _team_action(organisation_id: int, membership_id: int, action, done: str):
    organisation = _organisation(organisation_id)
    membership = _member(organisation, membership_id)
    try:
        action(membership)
    except services.AccountError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(done, "success")
    if access.allowed(current_organiser(), access.Permission.manage_team, organisation.id):
        return redirect(url_for(".team", organisation_id=organisation.id), code=303)
    return redirect(_home(), code=303)


@bp.post("/team/<int:organisation_id>/members/<int:membership_id>/role")
@login_required
def team_role(organisation_id: int, membership_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Please choose a role."), "error")
        return redirect(url_for(".team", organisation_id=organisation_id), code=303)
    return _team_action(
        organisation_id, membership_id,
        lambda m: services.change_role(db.session, current_organiser(), m, form.role.data),
        _("Role changed."),
    )


@bp.post("/team/<int:organisation_id>/members/<int:membership_id>/remove")
@login_required
def team_remove(organisation_id: int, membership_id: int):
    return _team_action(
        organisation_id, membership_id,
        lambda m: services.remove_member(db.session, current_organiser(), m),
        _("Removed from the team."),
    )


@bp.post("/team/<int:organisation_id>/members/<int:membership_id>/resend")
@login_required
def team_resend(organisation_id: int, membership_id: int):
    return _team_action(
        organisation_id, membership_id,
        lambda m: services.resend_invitation(db.session, current_organiser(), m, locale=current_language()),
        _("Invitation sent again."),
    )


@bp.post("/team/<int:organisation_id>/members/<int:membership_id>/reset")
@login_required
def team_reset(organisation_id: int, membership_id: int):
    return _team_action(
        organisation_id, membership_id,
        lambda m: services.send_reset_link(db.session, current_organiser(), m, locale=m.organiser.locale),
        _("A reset link was sent by e-mail."),
    )


# --- Audit log ------------------------------------------------------------------------------------

def _row_id(value: str) -> int:
    """An id from the query string, or ValueError (the argument is then ignored): a
    number no id column holds overflows the SQLite driver."""
    from campaign.urls import MAX_ROW_ID

    number = int(value)
    if not 0 < number <= MAX_ROW_ID:
        raise ValueError(value)
    return number


@bp.get("/audit")
@login_required
def audit_log():
    organiser = current_organiser()
    organisations = [o for o in access.organisations_of(db.session, organiser)
                     if access.allowed(organiser, access.Permission.read_audit, o.id)]
    if not organisations:
        abort(403)
    chosen = request.args.get("organisation", type=_row_id)
    if chosen is None and not organiser.is_admin:
        chosen = organisations[0].id
    entries = services.audit_entries(db.session, organiser, chosen, before_id=request.args.get("before", type=_row_id),
                                     limit=AUDIT_PAGE_SIZE + 1)
    more = len(entries) > AUDIT_PAGE_SIZE
    entries = entries[:AUDIT_PAGE_SIZE]
    member_ids = {e.detail.get("member") for e in entries if isinstance(e.detail, dict)}
    member_ids = {i for i in member_ids if isinstance(i, int)}
    people = {o.id: o for o in db.session.scalars(sa.select(Organiser).where(Organiser.id.in_(member_ids)))}
    campaign_ids = {e.campaign_id for e in entries if e.campaign_id}
    campaigns = {c.id: c for c in db.session.scalars(sa.select(Campaign).where(Campaign.id.in_(campaign_ids)))}
    return render_template(
        "organiser/manage/audit.html",
        entries=entries,
        organisations=organisations,
        chosen=chosen,
        more=more,
        people=people,
        campaigns=campaigns,
        actions=services.AUDIT_ACTIONS,
        detail_keys=services.AUDIT_DETAIL_KEYS,
        roles={r.value: r for r in services.Role},
    )
