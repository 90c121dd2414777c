"""Who may do what. One table of permissions, checked by views and services alike.

A campaign belongs to one organisation; its owners and editors act on it, a site
administrator on everything. Nobody sees another organisation's signers.
"""
from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaign.campaigns.models import Campaign
from campaign.organiser.models import Organisation, Organiser, Role


class Permission(str, enum.Enum):
    view_campaigns = "view_campaigns"      # the campaign list, dashboard
    edit_campaigns = "edit_campaigns"      # texts, demands, publish, close
    moderate = "moderate"                  # search signers, invalidate, restore
    export_signers = "export_signers"      # personal data leaves the site
    send_updates = "send_updates"          # mail every opted-in signer
    manage_team = "manage_team"            # invite, change roles, remove
    edit_organisation = "edit_organisation"  # the public organisation page
    read_audit = "read_audit"
    manage_retention = "manage_retention"  # archive, anonymise, erase


_ALL = set(Permission)
GRANTS: dict[Role, set[Permission]] = {
    Role.admin: _ALL,
    Role.owner: _ALL,
    Role.editor: {Permission.view_campaigns, Permission.edit_campaigns, Permission.moderate},
}


class PermissionDenied(Exception):
    """Raised by require(); the app answers 403."""


def role_in(organiser: Organiser | None, organisation_id: int | None) -> Role | None:
    """The organiser's role for an organisation (admins hold every organisation)."""
    if organiser is None or not organiser.active:
        return None
    if organiser.is_admin:
        return Role.admin
    if organisation_id is None:
        return None
    for membership in organiser.memberships:
        if membership.organisation_id == organisation_id:
            return membership.role
    return None


def allowed(organiser: Organiser | None, permission: Permission, organisation_id: int | None) -> bool:
    role = role_in(organiser, organisation_id)
    return role is not None and permission in GRANTS[role]


def require(organiser: Organiser | None, permission: Permission, organisation_id: int | None) -> None:
    if not allowed(organiser, permission, organisation_id):
        raise PermissionDenied(permission.value)


def require_campaign(organiser: Organiser | None, permission: Permission, campaign: Campaign) -> None:
    require(organiser, permission, campaign.organisation_id)


def organisations_of(session: Session, organiser: Organiser) -> list[Organisation]:
    """The organisations an organiser works in (all of them for an admin)."""
    if organiser.is_admin:
        return list(session.scalars(sa.select(Organisation).order_by(Organisation.name)))
    return sorted((m.organisation for m in organiser.memberships), key=lambda o: o.name)


def campaigns_visible_to(session: Session, organiser: Organiser) -> list[Campaign]:
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if not organiser.is_admin:
        ids = [m.organisation_id for m in organiser.memberships]
        query = query.where(Campaign.organisation_id.in_(ids))
    return list(session.scalars(query))


def needs_two_factor(organiser: Organiser) -> bool:
    """Owners and administrators must use two-factor; editors are urged to."""
    return organiser.is_admin or any(m.role == Role.owner for m in organiser.memberships)
