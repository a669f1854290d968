"""Problems of sign-up, the shopper's account and wallet; each ``code`` is stable."""

from __future__ import annotations

from backend.core.errors import DomainError, DurableFailure, Forbidden, Unauthorized


class ConsentRequired(DomainError):
    status = 422
    code = "consent_required"
    title = "Accept the privacy terms to create an account"


class PostcodeInvalid(DomainError):
    status = 422
    code = "postcode_invalid"
    title = "A Belgian postcode is four digits from 1000 to 9999"


class ConfirmationRequired(DomainError):
    status = 422
    code = "confirmation_required"
    title = "Confirm the deletion explicitly with confirm: true"


class EmailTokenInvalid(DomainError):
    status = 400
    code = "email_token_invalid"
    title = "This link is not valid"


class EmailTokenExpired(DomainError):
    status = 400
    code = "email_token_expired"
    title = "This link has expired; ask for a new one"


class EmailTokenUsed(DomainError):
    status = 400
    code = "email_token_used"
    title = "This link was already used"


class PasswordIncorrect(DurableFailure, Forbidden):
    """The current password, asked again before a sensitive change, is wrong.

    A 403 and not a 401: the session itself is fine, the client must not sign out.
    Counts towards the same lockout as a failed sign-in.
    """

    code = "password_incorrect"
    title = "The current password is not correct"


class AccountClosed(Unauthorized):
    code = "account_closed"
    title = "This account was deleted"
