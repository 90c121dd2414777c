"""Every model, imported once so the metadata is complete."""
from campaign.campaigns.models import Campaign, CampaignText, Demand, DemandText  # noqa: F401
from campaign.organiser.models import AuditEntry, Membership, Organisation, Organiser, RecoveryCode  # noqa: F401
from campaign.outbox.models import OutboxMessage  # noqa: F401
from campaign.privacy.models import DailyKey  # noqa: F401
from campaign.signatures.models import Signature, UsedChallenge  # noqa: F401
from campaign.dashboard.models import CampaignDailyView  # noqa: F401
from campaign.updates.models import UnsubscribeToken, Update, UpdateText  # noqa: F401
from campaign.retention.models import ErasureRequest  # noqa: F401
