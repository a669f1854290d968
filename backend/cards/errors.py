from __future__ import annotations

from backend.core.errors import Conflict, DomainError, DurableFailure, Forbidden, NotFound


class CardNumberInvalid(DomainError):
    status = 422
    code = "card_number_invalid"
    title = "This is not a valid card number"


class CardUnknown(NotFound):
    code = "card_unknown"
    title = "Unknown card"


class CardBlocked(Forbidden):
    code = "card_blocked"
    title = "This card is blocked"


class CardPinRequired(Forbidden):
    code = "card_pin_required"
    title = "Enter the card's PIN"


class CardPinWrong(DurableFailure, Forbidden):
    """Carries ``attempts_left``; its ``remember`` counts the attempt after the rollback."""

    code = "card_pin_wrong"
    title = "Wrong PIN"


class CardLocked(DomainError):
    status = 423
    code = "card_locked"
    title = "Too many wrong PINs: the card is locked for a while"


class CardAlreadyRegistered(Conflict):
    code = "card_already_registered"
    title = "This card is already registered to another account"


class CardBatchNotFound(NotFound):
    code = "card_batch_not_found"
    title = "Card batch not found"


class CardSheetGone(DomainError):
    status = 410
    code = "card_sheet_gone"
    title = "The PIN sheet of this batch can no longer be downloaded"


class ShopperOnly(Forbidden):
    code = "shopper_only"
    title = "Only a shopper account can do this"
