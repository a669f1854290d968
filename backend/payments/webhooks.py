"""Stripe events: each event id is taken once; its facts are raised on the top-up it names.

An event about a payment we cannot place yet (a refund that overtook the payment's own
events, naming only a PaymentIntent we have not linked) is parked with its payload and
replayed the moment that PaymentIntent is linked to a top-up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.payments.models import StripeEvent, StripeEventStatus, TopUp, TopUpStatus
from backend.payments.service import sync_ledger

PAID_SESSION_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
FAILED_SESSION_EVENTS = {"checkout.session.async_payment_failed", "checkout.session.expired"}
# Every dispute event carries the dispute: its amount and its status as it is now, so
# whichever comes first (or alone) raises the facts.
DISPUTE_EVENTS = {
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
}
# The disputed money is the town's again: won, or an inquiry that closed without a dispute.
# Not ``funds_reinstated`` as such: after a partial refund Stripe also reinstates the
# refunded part of a *lost* dispute (status stays ``lost``), which the cap on paid cents
# already accounts for.
DISPUTE_KEPT_STATUSES = {"won", "warning_closed"}
HANDLED = PAID_SESSION_EVENTS | FAILED_SESSION_EVENTS | DISPUTE_EVENTS | {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
}

event_table = StripeEvent.__table__


def _insert_once(dialect: str) -> Any:
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(event_table)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(event_table.c.id)
    )


_INSERT = {name: _insert_once(name) for name in ("postgresql", "sqlite")}


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _payment_intent_of(event_type: str, obj: dict[str, Any]) -> str | None:
    if event_type.startswith("payment_intent."):
        return obj.get("id")
    value = obj.get("payment_intent")
    if isinstance(value, dict):  # expanded
        value = value.get("id")
    return value if isinstance(value, str) else None


async def handle_event(session: AsyncSession, *, event: stripe.Event, now: datetime | None = None) -> str:
    """Record and apply ``event`` once; returns what happened (for the webhook's answer)."""
    now = now or utcnow()
    obj: dict[str, Any] = event.data.object.to_dict()
    payload = {"id": event.id, "type": event.type, "created": event.created, "object": obj}
    payment_intent = _payment_intent_of(event.type, obj)
    row_id = (
        await session.execute(
            _INSERT[session.bind.dialect.name],
            {
                "event_id": event.id,
                "type": event.type,
                "status": StripeEventStatus.IGNORED,
                "payment_intent_id": payment_intent,
                "stripe_created": _int(event.created) or 0,
                "payload": payload,
                "received_at": now,
            },
        )
    ).scalar()
    if row_id is None:
        return "duplicate"
    record = await session.get(StripeEvent, row_id)
    assert record is not None
    if event.type not in HANDLED:
        return StripeEventStatus.IGNORED
    return await _apply(session, record=record, payload=payload, now=now)


async def _apply(session: AsyncSession, *, record: StripeEvent, payload: dict[str, Any], now: datetime) -> str:
    event_type: str = payload["type"]
    obj: dict[str, Any] = payload["object"]
    topup = await _find_topup(session, event_type=event_type, obj=obj)
    if topup is None:
        record.status = StripeEventStatus.PARKED
        session.add(record)
        await session.flush()
        return StripeEventStatus.PARKED
    newly_linked = _raise_facts(topup, event_type=event_type, obj=obj)
    await sync_ledger(session, topup=topup, now=now)
    record.status = StripeEventStatus.PROCESSED
    record.tenant_id = topup.tenant_id
    record.topup_id = topup.id
    record.processed_at = now
    session.add(record)
    await session.flush()
    if newly_linked is not None:
        await _replay_parked(session, payment_intent=newly_linked, now=now)
    return StripeEventStatus.PROCESSED


async def _find_topup(session: AsyncSession, *, event_type: str, obj: dict[str, Any]) -> TopUp | None:
    metadata = obj.get("metadata") or {}
    tenant_id, topup_id = _int(metadata.get("tenant_id")), _int(metadata.get("topup_id"))
    query = None
    if tenant_id is not None and topup_id is not None:
        query = select(TopUp).where(TopUp.tenant_id == tenant_id, TopUp.id == topup_id)
    elif event_type.startswith("checkout.session.") and obj.get("id"):
        query = select(TopUp).where(TopUp.checkout_session_id == obj["id"])
    else:
        payment_intent = _payment_intent_of(event_type, obj)
        if payment_intent:
            query = select(TopUp).where(TopUp.payment_intent_id == payment_intent)
    if query is None:
        return None
    topup = (await session.execute(query.with_for_update())).scalar_one_or_none()
    if topup is None:
        return None
    # Metadata is ours, but never let one Stripe object claim another's top-up.
    if event_type.startswith("checkout.session.") and topup.checkout_session_id not in (None, obj.get("id")):
        return None
    payment_intent = _payment_intent_of(event_type, obj)
    if payment_intent and topup.payment_intent_id not in (None, payment_intent):
        return None
    return topup


def _raise_facts(topup: TopUp, *, event_type: str, obj: dict[str, Any]) -> str | None:
    """Raise what Stripe says about ``topup``; returns a PaymentIntent id linked just now."""
    linked = None
    payment_intent = _payment_intent_of(event_type, obj)
    if payment_intent and topup.payment_intent_id is None:
        topup.payment_intent_id = payment_intent
        linked = payment_intent
    if event_type in PAID_SESSION_EVENTS:
        if obj.get("payment_status") in ("paid", "no_payment_required"):
            topup.paid_cents = max(topup.paid_cents, _int(obj.get("amount_total")) or 0)
    elif event_type in FAILED_SESSION_EVENTS:
        if topup.paid_cents == 0:
            topup.status = TopUpStatus.FAILED
            topup.failure_reason = event_type.removeprefix("checkout.session.")
    elif event_type == "payment_intent.succeeded":
        received = _int(obj.get("amount_received"))
        if received is None and obj.get("status") == "succeeded":
            received = _int(obj.get("amount"))
        topup.paid_cents = max(topup.paid_cents, received or 0)
    elif event_type == "payment_intent.payment_failed":
        # Checkout lets the payer try another card: a failure is not final, an expiry is.
        error = obj.get("last_payment_error") or {}
        topup.failure_reason = str(error.get("message") or error.get("code") or "payment failed")[:300]
    elif event_type == "charge.refunded":
        if obj.get("paid"):
            topup.paid_cents = max(topup.paid_cents, _int(obj.get("amount_captured") or obj.get("amount")) or 0)
        topup.refunded_cents = max(topup.refunded_cents, _int(obj.get("amount_refunded")) or 0)
    elif event_type in DISPUTE_EVENTS:
        amount = _int(obj.get("amount")) or 0
        topup.disputed_cents = max(topup.disputed_cents, amount)
        # ``closed`` and ``funds_reinstated`` of a won dispute both say so, in either order;
        # raising the same fact twice changes nothing, so the points come back once.
        if obj.get("status") in DISPUTE_KEPT_STATUSES:
            topup.reinstated_cents = max(topup.reinstated_cents, amount)
    return linked


async def _replay_parked(session: AsyncSession, *, payment_intent: str, now: datetime) -> None:
    parked = (
        await session.execute(
            select(StripeEvent)
            .where(StripeEvent.payment_intent_id == payment_intent, StripeEvent.status == StripeEventStatus.PARKED)
            .order_by(StripeEvent.stripe_created, StripeEvent.id)
        )
    ).scalars().all()
    for record in parked:
        await _apply(session, record=record, payload=record.payload, now=now)
