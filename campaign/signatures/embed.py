"""The sign form as an iframe that a partner site hosts: /embed/<slug>/sign.

The whole signing flow of the campaign page (the same form, its translated errors,
the proof of work for crowded connections, confirmation by e-mail) in a compact page
that any site may frame (``allow_framing``), in ``?lang=ar|en`` (default Arabic) and
``?theme=light|dark``. Like every public page it sets no cookie and loads nothing
from anywhere else, so a host's readers are not followed by us or by anyone.

Cross-site protection needs no token: the form in the iframe is our page, so its
post is same-origin (``Sec-Fetch-Site: same-origin``) even inside another site's
page, and PublicForm lets it through; a post made by the host page itself is
cross-site and refused. After signing, the frame shows "check your e-mail" and tells
the host page, with ``postMessage``, only ``{type: "sawt:signed", campaign: slug}``:
no name, no address. static/js/embed-sign.js also posts the frame's height
(``{type: "sawt:height", height}``) so that static/embed-host.js, the optional
script hosts paste with the iframe, can fit the frame to its content. The link in
the e-mail opens the full site, first-party.

Referral: a signature through the frame records the host's own ``?ref=`` code when
it gives a valid one, or ``embed``. The host's address is never recorded: which
article a signer was reading says too much about them (see ``embed_referral``).
"""
from __future__ import annotations

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from campaign.amplify.share import CHANNEL_BY_REFERRAL, REFERRAL_CODES
from campaign.campaigns.models import Campaign
from campaign.campaigns.page import REFERRAL_SLOT, public_campaign_or_404
from campaign.extensions import db, limiter
from campaign.i18n import DEFAULT_LANGUAGE, LANGUAGES, current_language
from campaign.public_cache import public, rendered
from campaign.security import allow_framing
from campaign.signatures import routes, services
from campaign.signatures.forms import ResendForm, SignForm
from campaign.signatures.services import clean_referral
from campaign.urls import external_url

bp = Blueprint("embed_sign", __name__, url_prefix="/embed")

THEMES = ("light", "dark")
EMBED_REFERRAL = REFERRAL_CODES["embed"]
# The script hosts may paste beside the iframe (static/, under a name that stays).
HOST_SCRIPT = "embed-host.js"


def embed_referral(code: str | None) -> str:
    """The referral recorded for a signature made in the embedded form: the host's
    own code from ``?ref=`` (the same set of codes the campaign page accepts), or
    ``embed``. Our share channels' codes (wa, qr…) name our own share buttons, not
    a host, so they count as ``embed`` too."""
    code = clean_referral(code)
    if code is None or (code in CHANNEL_BY_REFERRAL and code != EMBED_REFERRAL):
        return EMBED_REFERRAL
    return code


def _theme() -> str:
    theme = request.args.get("theme")
    return theme if theme in THEMES else THEMES[0]


def _options() -> dict[str, str]:
    """What every link and form inside the frame carries on: its language and theme."""
    return {"lang": current_language(), "theme": _theme()}


@bp.url_value_preprocessor
def _language(endpoint, values):
    # The host chooses the language with ?lang= (the frame has no language prefix).
    # Set before anything asks for the locale, which Flask-Babel keeps per request.
    lang = request.args.get("lang")
    g.lang_code = lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@bp.before_request
def _framable():
    # Every answer of this blueprint, errors included, is meant to be shown in
    # another site's page; nothing else of ours is (security.py keeps 'none').
    allow_framing()


@bp.after_request
def _embeddable(response):
    # A host that isolates itself (Cross-Origin-Embedder-Policy) may still frame us.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _render(template: str, campaign: Campaign | None, **context) -> str:
    return render_template(f"signatures/embed/{template}", campaign=campaign, theme=_theme(), **context)


@bp.errorhandler(404)
def _not_found(error):
    return _render("problem.html", None, problem="not_found"), 404


@bp.errorhandler(429)
def _too_many(error):
    return _render("problem.html", None, problem="too_many"), 429


@bp.get("/<slug>/sign")
@public
def sign_form(slug: str):
    options = _options()

    def render_frame() -> str:
        campaign = public_campaign_or_404(slug)
        form = SignForm(options["lang"], formdata=None, ref=REFERRAL_SLOT) if campaign.is_open else None
        return _render("sign.html", campaign, form=form, challenge=None)

    # Rendered once per campaign, language and theme (partner pages are read far
    # more than they are signed); the host's code is filled in per request.
    html = rendered(f"page:embed-sign:{options['lang']}:{options['theme']}:{slug}", render_frame)
    return html.replace(REFERRAL_SLOT, str(escape(embed_referral(request.args.get("ref")))))


@bp.post("/<slug>/sign")
def sign(slug: str):
    campaign = public_campaign_or_404(slug, lean=True)
    if not campaign.is_open:
        return _render("sign.html", campaign, form=None, challenge=None), 409
    lang = current_language()
    form = SignForm(lang)
    referral = embed_referral(form.ref.data)
    form.ref.data = referral
    result = routes.submit(campaign, form, lang, referral=referral)
    if result.taken:
        return redirect(url_for(".check_email", slug=slug, **_options()), code=303)
    # Shown again with what was typed (the lean campaign loads its title now).
    return _render("sign.html", campaign, form=form, challenge=result.challenge), result.status


@bp.get("/<slug>/sign/check-email")
@public
def check_email(slug: str):
    campaign = public_campaign_or_404(slug)
    # The host hears of a signature once, not again after "send the link again".
    signed = not request.args.get("resent")
    return _render("check_email.html", campaign, form=ResendForm(formdata=None), signed=signed)


@bp.post("/<slug>/sign/resend")
@limiter.shared_limit(routes._resend_limit, scope=routes.RESEND_SCOPE)
def resend(slug: str):
    campaign = public_campaign_or_404(slug)
    form = ResendForm()
    if not form.validate_on_submit():
        return _render("check_email.html", campaign, form=form, signed=False), form.error_status
    services.request_link(db.session, campaign, form.email.data, locale=current_language())
    db.session.commit()
    return redirect(url_for(".check_email", slug=slug, resent=1, **_options()), code=303)


def sign_snippet(campaign: Campaign, lang: str, *, theme: str = "light", ref: str | None = None) -> str:
    """The HTML a partner site pastes to host the sign form: the iframe, then the
    optional script that fits its height to the form and announces signatures to
    the host page as a ``sawt:signed`` DOM event on the iframe. ``referrerpolicy``
    keeps the host's article address from reaching us at all."""
    theme = theme if theme in THEMES else THEMES[0]
    src = external_url("embed_sign.sign_form", slug=campaign.slug, lang=lang,
                       theme=None if theme == THEMES[0] else theme,
                       ref=embed_referral(ref) if ref else None)
    script = external_url("static", filename=HOST_SCRIPT)
    with force_locale(lang):
        title = _("Sign “%(title)s” on Sawt", title=campaign.title_in(lang))
    return Markup(
        '<iframe src="{src}" title="{title}" width="100%" height="720" loading="lazy" '
        'referrerpolicy="no-referrer" style="border:0;max-width:34rem"></iframe>\n'
        '<script src="{script}" async></script>'
    ).format(src=src, title=title, script=script)


def init_app(app) -> None:
    from campaign.extensions import csrf

    app.register_blueprint(bp)
    csrf.exempt(bp)  # public forms: PublicForm refuses cross-site posts instead
