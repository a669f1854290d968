"""The shopper's privacy rights: a copy of everything we hold, and erasure.

Erasure keeps the ledger whole: entries are append-only and name only account ids, so
once the person behind the shopper row is pseudonymised the history is anonymous.
The remaining points go to breakage in one ``forfeit`` transfer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.deps import Principal
from backend.auth.models import EmailToken, RefreshToken
from backend.cards.models import Card
from backend.core.errors import Forbidden
from backend.core.types import utcnow
from backend.ledger import service as ledger
from backend.ledger.models import Hold, HoldStatus
from backend.notifications.models import OutboxMessage
from backend.notifications.service import erase_recipient
from backend.wallets import accounts
from backend.wallets.errors import ConfirmationRequired
from backend.wallets.models import Shopper
from backend.wallets.service import full_history, shopper_wallet, wallet_code, wallet_view

# A stored hash no password ever matches (argon2 rejects it as malformed).
UNUSABLE_PASSWORD = "!erased"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def export_data(session: AsyncSession, *, principal: Principal) -> dict[str, Any]:
    now = utcnow()
    profile = await accounts.get_profile(session, principal=principal)
    user, shopper = profile.user, profile.shopper
    _, wallet = await shopper_wallet(session, principal=principal)
    view = await wallet_view(session, principal=principal, now=now)
    history = await full_history(session, tenant_id=shopper.tenant_id, account_id=wallet.id)  # type: ignore[arg-type]
    cards = await session.scalars(
        select(Card)
        .where(Card.tenant_id == shopper.tenant_id, Card.shopper_id == shopper.id)
        .order_by(Card.id)
    )
    sessions = await session.scalars(
        select(RefreshToken)
        .where(RefreshToken.tenant_id == user.tenant_id, RefreshToken.user_id == user.id)
        .order_by(RefreshToken.id)
    )
    email_tokens = await session.scalars(
        select(EmailToken)
        .where(EmailToken.tenant_id == user.tenant_id, EmailToken.user_id == user.id)
        .order_by(EmailToken.id)
    )
    mails = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == user.tenant_id, OutboxMessage.to_email == user.email)
        .order_by(OutboxMessage.id)
    )
    return {
        "exported_at": _iso(now),
        "profile": {
            "email": user.email,
            "email_verified_at": _iso(user.email_verified_at),
            "first_name": shopper.first_name,
            "language": shopper.language,
            "postcode": shopper.postcode,
            "village": shopper.village,
            "role": user.role,
            "created_at": _iso(shopper.created_at),
        },
        "consent": {"version": shopper.consent_version, "accepted_at": _iso(shopper.consent_at)},
        "wallet": {
            "balance": view.balance,
            "pending": view.pending,
            "available": view.available,
            "value_cents": view.value_cents,
            "expiring": [{"points": p, "expires_on": d.isoformat()} for d, p in view.expiring],
        },
        "history": [
            {
                "id": item.transfer_id,
                "kind": item.kind,
                "points": item.points,
                "merchant_name": item.merchant_name,
                "merchant_category": item.merchant_category,
                "reversal_of": item.reversal_of,
                "created_at": _iso(item.created_at),
            }
            for item in history
        ],
        "cards": [
            {
                "number": card.number,
                "registered_at": _iso(card.registered_at),
                "blocked_at": _iso(card.blocked_at),
                "created_at": _iso(card.created_at),
            }
            for card in cards
        ],
        # Metadata of sign-in sessions; the tokens themselves are stored only as digests.
        "sessions": [
            {
                "session_id": token.family_id,
                "created_at": _iso(token.created_at),
                "expires_at": _iso(token.expires_at),
                "used_at": _iso(token.used_at),
                "revoked_at": _iso(token.revoked_at),
            }
            for token in sessions
        ],
        "email_links": [
            {"purpose": t.purpose, "created_at": _iso(t.created_at), "used_at": _iso(t.used_at)}
            for t in email_tokens
        ],
        "emails": [
            {
                "kind": m.kind,
                "subject": m.subject,
                "status": m.status,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in mails
        ],
    }


async def delete_account(
    session: AsyncSession, *, principal: Principal, password: str, confirm: bool
) -> bool:
    """Forfeit the points and erase the person. False when it was already done."""
    if confirm is not True:
        raise ConfirmationRequired()
    if principal.shopper_id is None or principal.user_id is None:
        raise Forbidden("Only a shopper can delete their account here.")
    shopper = await session.scalar(
        select(Shopper)
        .where(Shopper.tenant_id == principal.tenant_id, Shopper.id == principal.shopper_id)
        .with_for_update()
    )
    if shopper is None or shopper.deleted_at is not None:
        return False  # idempotent: a repeated request (same still-valid token) is done
    user = await accounts.current_user(session, principal=principal)
    await accounts.check_current_password(session, user=user, password=password)
    now = utcnow()
    tenant_id = shopper.tenant_id
    assert shopper.id is not None and user.id is not None
    wallet = await ledger.find_account(session, tenant_id=tenant_id, code=wallet_code(shopper.id))
    assert wallet.id is not None

    # An open sale at a till would otherwise keep points reserved in a closed wallet.
    open_holds = await session.scalars(
        select(Hold.id).where(
            Hold.tenant_id == tenant_id,
            Hold.debit_account_id == wallet.id,
            Hold.status == HoldStatus.PENDING.value,
        )
    )
    for hold_id in list(open_holds):
        await ledger.void_hold(session, tenant_id=tenant_id, hold_id=hold_id, now=now)
    balance = await ledger.get_balance(session, tenant_id=tenant_id, account_id=wallet.id)
    if balance.balance > 0:
        breakage = await ledger.find_account(session, tenant_id=tenant_id, code="breakage")
        await ledger.post_transfer(
            session,
            tenant_id=tenant_id,
            idempotency_key=f"forfeit:shopper:{shopper.id}",
            kind="forfeit",
            debit_account_id=wallet.id,
            credit_account_id=breakage.id,  # type: ignore[arg-type]
            amount=balance.balance,
            description="Account deleted: remaining points forfeited",
            created_by_user_id=user.id,
            now=now,
        )

    old_email = user.email
    pseudonym = f"deleted-{user.id}@invalid"
    user.email = pseudonym
    user.display_name = ""
    user.password_hash = UNUSABLE_PASSWORD
    user.is_active = False
    user.email_verified_at = None
    shopper.first_name = ""
    shopper.postcode = None
    shopper.village = None
    shopper.deleted_at = now
    session.add_all([user, shopper])
    await accounts.revoke_sessions(session, user=user)
    await session.execute(
        delete(EmailToken).where(EmailToken.tenant_id == tenant_id, EmailToken.user_id == user.id)
    )
    await erase_recipient(session, tenant_id=tenant_id, email=old_email, replacement=pseudonym)
    # A registered card would keep earning into a closed wallet.
    await session.execute(
        update(Card)
        .where(
            Card.tenant_id == tenant_id, Card.shopper_id == shopper.id, Card.blocked_at.is_(None)
        )
        .values(blocked_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return True
