from __future__ import annotations

from backend.core.errors import Conflict, DomainError, NotFound


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    title = "Campaign not found"


class InvalidCampaign(DomainError):
    status = 422
    code = "invalid_campaign"
    title = "The campaign's rules are not valid"


class UnknownMerchant(DomainError):
    status = 422
    code = "unknown_merchant"
    title = "No such shop in this municipality"


class CampaignBudgetTooLow(Conflict):
    code = "campaign_budget_too_low"
    title = "The campaign's budget does not hold that many points"
