from __future__ import annotations

from backend.core.errors import Conflict, DomainError, NotFound


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "Transfer not found"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "Hold not found"


class InvalidAmount(DomainError):
    status = 422
    code = "invalid_amount"
    title = "The amount is not valid"


class FlowNotAllowed(DomainError):
    status = 422
    code = "flow_not_allowed"
    title = "This kind of transfer cannot move points between these accounts"


class InsufficientFunds(DomainError):
    """The debited account would drop below its floor (zero, or a float's credit limit)."""

    status = 409
    code = "insufficient_funds"
    title = "Not enough points available"


class AlreadyReversed(Conflict):
    code = "already_reversed"
    title = "This transfer has already been reversed"


class CannotReverse(Conflict):
    code = "cannot_reverse"
    title = "This transfer cannot be reversed"


class ReversalExceedsAmount(DomainError):
    status = 422
    code = "reversal_exceeds_amount"
    title = "A reversal cannot exceed the original amount"


class HoldAlreadyResolved(Conflict):
    code = "hold_already_resolved"
    title = "This hold was already captured or voided"


class HoldExpired(Conflict):
    code = "hold_expired"
    title = "This hold has expired; its points are available again"


class CaptureExceedsHold(DomainError):
    status = 422
    code = "capture_exceeds_hold"
    title = "A capture cannot exceed the held amount"


class CreditLimitTooLow(Conflict):
    code = "credit_limit_below_balance"
    title = "The account is already below the requested credit limit"


class AccountExists(Conflict):
    code = "account_exists"
    title = "An account with this code already exists"
