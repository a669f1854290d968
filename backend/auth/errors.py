"""Problems the auth domain reports; each ``code`` is stable for clients to switch on."""

from __future__ import annotations

from backend.core.errors import (  # noqa: F401  (DurableFailure, Remember re-exported)
    Conflict,
    DomainError,
    DurableFailure,
    Forbidden,
    NotFound,
    Remember,
    Unauthorized,
)

class TokenExpired(Unauthorized):
    code = "token_expired"
    title = "The access token has expired"


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    title = "The access token is not valid"


class InvalidCredentials(DurableFailure, Unauthorized):
    code = "invalid_credentials"
    title = "Wrong municipality, e-mail address or password"


class RefreshTokenInvalid(Unauthorized):
    code = "refresh_token_invalid"
    title = "The refresh token is not valid"


class RefreshTokenExpired(Unauthorized):
    code = "refresh_token_expired"
    title = "The refresh token has expired; sign in again"


class RefreshTokenReused(DurableFailure, Unauthorized):
    code = "refresh_token_reused"
    title = "The refresh token was already used; the session has been ended"


class MerchantSuspended(Forbidden):
    """The caller's shop is not active (suspended, rejected, still pending): its POS keys
    and its staff's tokens no longer get in, not merely its till actions."""

    code = "merchant_suspended"
    title = "This shop is not active; its staff and till keys cannot use Kernpunt until the municipality reactivates it"


class ApiKeyInvalid(Unauthorized):
    code = "api_key_invalid"
    title = "The API key is not valid"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "This e-mail address already has an account in this municipality"


class EmailInvalid(DomainError):
    status = 422
    code = "email_invalid"
    title = "The e-mail address is not valid"


class PasswordTooWeak(DomainError):
    status = 422
    code = "password_too_weak"
    title = "The password does not meet the policy"


class MerchantRequired(DomainError):
    status = 422
    code = "merchant_required"
    title = "Merchant staff must belong to a merchant"


class MerchantNotAllowed(DomainError):
    status = 422
    code = "merchant_not_allowed"
    title = "Only merchant staff belong to a merchant"


class RoleNotAllowed(Forbidden):
    code = "role_not_allowed"
    title = "You may not create a user with this role"


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    title = "Merchant not found"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    title = "API key not found"
