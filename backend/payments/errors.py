from __future__ import annotations

from backend.core.errors import DomainError, NotFound


class PaymentsUnavailable(DomainError):
    """No Stripe key configured: the town settles by bank only, or Stripe is not set up yet."""

    status = 503
    code = "payments_unavailable"
    title = "Online payments are not available"


class PaymentProviderError(DomainError):
    status = 502
    code = "payment_provider_error"
    title = "The payment provider did not answer as expected"


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    title = "Merchant not found"


class TopUpNotFound(NotFound):
    code = "topup_not_found"
    title = "Top-up not found"


class AmountNotWholePoints(DomainError):
    status = 422
    code = "amount_not_whole_points"
    title = "The amount does not buy a whole number of points"


class AmountOutOfRange(DomainError):
    status = 422
    code = "amount_out_of_range"
    title = "The amount is too small or too large for a top-up"


class MerchantNotActive(DomainError):
    status = 409
    code = "merchant_not_active"
    title = "Only an active shop can buy float"


class StripeSignatureInvalid(DomainError):
    status = 400
    code = "stripe_signature_invalid"
    title = "The Stripe-Signature header does not match the payload"


class StripePayloadInvalid(DomainError):
    status = 400
    code = "stripe_payload_invalid"
    title = "The webhook body is not a Stripe event"


class InvalidPeriod(DomainError):
    status = 422
    code = "invalid_period"
    title = "The period is not valid"
