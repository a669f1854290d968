from __future__ import annotations

from backend.core.errors import Conflict, DomainError, NotFound


class PeriodNotFound(NotFound):
    code = "period_not_found"
    title = "Settlement period not found"


class StatementNotFound(NotFound):
    code = "statement_not_found"
    title = "Statement not found"


class PayoutRunNotFound(NotFound):
    code = "payout_run_not_found"
    title = "No payout run for this period yet"


class InvalidPeriod(DomainError):
    status = 422
    code = "invalid_period"
    title = "The period is not valid"


class PeriodNotOver(Conflict):
    code = "period_not_over"
    title = "A period can only be closed once it has ended"


class PeriodOutOfOrder(Conflict):
    code = "period_out_of_order"
    title = "Periods are closed in calendar order"


class NothingToPay(Conflict):
    code = "nothing_to_pay"
    title = "No merchant is owed anything for this period"


class BankAccountMissing(Conflict):
    code = "municipality_bank_account_missing"
    title = "The municipality's IBAN is not set"


class InvalidIban(DomainError):
    status = 422
    code = "invalid_iban"
    title = "The IBAN is not valid"


class InvalidBic(DomainError):
    status = 422
    code = "invalid_bic"
    title = "The BIC is not valid"


class MerchantIbanInvalid(DomainError):
    status = 422
    code = "merchant_iban_invalid"
    title = "A merchant to be paid has no valid IBAN"


class PayoutExceedsOwed(Conflict):
    code = "payout_exceeds_owed"
    title = "A payout is more than the merchant is owed now"
