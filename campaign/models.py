"""Every model, imported once so the metadata is complete."""
from campaign.campaigns.models import Campaign, CampaignText, Demand, DemandText  # noqa: F401
from campaign.organiser.models import AuditEntry, Membership, Organisation, Organiser, RecoveryCode  # noqa: F401
from campaign.outbox.models import OutboxMessage  # noqa: F401
from campaign.privacy.models import DailyKey  # noqa: F401
from campaign.signatures.models import Signature, UsedChallenge  # noqa: F401
from campaign.dashboard.models import CampaignDailyView, ReferralDailyView  # noqa: F401
from campaign.updates.models import UnsubscribeToken, Update, UpdateText  # noqa: F401
from campaign.retention.models import ErasureRequest  # noqa: F401
from campaign.statements.models import Signatory, SignatoryText, StatementOptions, StatementVersion  # noqa: F401
from campaign.targets.models import (  # noqa: F401
    CampaignTarget,
    Delivery,
    DemandOutcome,
    Letter,
    LetterText,
    Target,
    TargetResponse,
)
