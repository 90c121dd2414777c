"""Every model, imported once so the metadata is complete."""
from campaign.campaigns.models import Campaign, CampaignText, Demand, DemandText  # noqa: F401
from campaign.organiser.models import Organisation  # noqa: F401
from campaign.outbox.models import OutboxMessage  # noqa: F401
from campaign.privacy.models import DailyKey  # noqa: F401
from campaign.signatures.models import Signature  # noqa: F401
