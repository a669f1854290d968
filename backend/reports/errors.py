from __future__ import annotations

from backend.core.errors import DomainError


class InvalidPeriod(DomainError):
    status = 422
    code = "invalid_period"
    title = "The period is not valid"


class ReportMerchantNotFound(DomainError):
    status = 404
    code = "merchant_not_found"
    title = "No such shop"


class CampaignNotFound(DomainError):
    status = 404
    code = "campaign_not_found"
    title = "No such campaign"
