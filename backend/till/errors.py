"""Problems the till and the wallet QR report; each ``code`` is stable for the apps.

Scan problems are 422 when the scanned text can never work (unreadable, tampered,
another municipality) and 409 when it did work but no longer does (expired, used).
They are not 401s: the cashier's own session is fine, only the scanned code is not.
"""

from __future__ import annotations

from backend.auth.errors import MerchantSuspended as MerchantInactive
from backend.core.errors import (
    Conflict,
    DomainError,
    DurableFailure,
    Forbidden,
    NotFound,
    RateLimited,
)


class ScanUnreadable(DomainError):
    status = 422
    code = "scan_unreadable"
    title = "This code is not a Kernpunt wallet, card or claim code"


class ShortCodeUnknown(DurableFailure, ScanUnreadable):
    """A typed short code that matches no wallet code: ``scan_unreadable`` for the app,
    and one more failed guess counted after the rollback (see ``backend.till.scan``)."""


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"
    title = "Too many unknown short codes were typed here; scan the QR code or wait"


class ScanTampered(DomainError):
    status = 422
    code = "token_tampered"
    title = "This code has been altered or was not issued by Kernpunt"


class ScanForeign(DomainError):
    status = 422
    code = "token_foreign"
    title = "This code belongs to another municipality"


class ScanExpired(Conflict):
    code = "token_expired"
    title = "This code has expired; ask the shopper to show a fresh one"


class ScanUsed(Conflict):
    code = "token_used"
    title = "This code was already used to pay; ask the shopper to show a fresh one"


class PurchaseBelowMinimum(DomainError):
    status = 422
    code = "purchase_below_minimum"
    title = "This purchase is too small to earn points"


class DailyCapReached(Conflict):
    code = "daily_cap_reached"
    title = "This shopper has earned the most points allowed here today"


class FloatExhausted(Conflict):
    code = "float_exhausted"
    title = "The shop's points float is empty"


class MerchantSuspended(MerchantInactive):
    """The same ``merchant_suspended`` as sign-in gives; raised here where a shopper (not
    the shop's staff) meets the shop, e.g. claiming a suspended shop's claim code."""

    title = "This shop may not issue or accept points at the moment"


class NotTillStaff(Forbidden):
    code = "forbidden"
    title = "Only staff of a shop can use the till"


class EarnNotFound(NotFound):
    code = "earn_not_found"
    title = "No such earn at this shop"


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"
    title = "No such redemption at this shop"


class ClaimNotFound(NotFound):
    code = "claim_not_found"
    title = "No such claim code at this shop"


class UndoWindowPassed(Conflict):
    code = "undo_window_passed"
    title = "This earn can no longer be undone; refund it instead"


class RefundExceedsPurchase(DomainError):
    status = 422
    code = "refund_exceeds_purchase"
    title = "A refund cannot exceed the purchase"


class RefundTooSmall(DomainError):
    status = 422
    code = "refund_too_small"
    title = "This refund is too small to take back any points"


class AmountInvalid(DomainError):
    status = 422
    code = "invalid_amount"
    title = "The amount is not valid"


class ClaimUsed(Conflict):
    code = "claim_used"
    title = "This claim code was already used"


class ClaimExpired(Conflict):
    code = "claim_expired"
    title = "This claim code has expired; ask the shop for a new one"


class ShopperRequired(Forbidden):
    code = "forbidden"
    title = "Only a shopper with a wallet can do this"
