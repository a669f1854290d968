"""What can go wrong when a shop applies and the municipality decides on it."""

from __future__ import annotations

from backend.core.errors import Conflict, DomainError, NotFound


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    title = "No such merchant"


class VatNumberInvalid(DomainError):
    status = 422
    code = "vat_number_invalid"
    title = "Not a valid Belgian VAT number (BE0123456749: ten digits, mod-97 check)"


class IbanInvalid(DomainError):
    status = 422
    code = "iban_invalid"
    title = "Not a valid IBAN"


class VillageUnknown(DomainError):
    status = 422
    code = "village_unknown"
    title = "The village is not one of the municipality's"


class PhoneInvalid(DomainError):
    status = 422
    code = "phone_invalid"
    title = "Not a telephone number"


class VatNumberTaken(Conflict):
    code = "vat_number_taken"
    title = "A shop with this VAT number has applied or takes part already"


class WrongMerchantStatus(Conflict):
    code = "merchant_status_conflict"
    title = "The shop's status does not allow this"
