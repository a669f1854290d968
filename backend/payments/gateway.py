"""The one place that talks to Stripe: create a Checkout Session, verify a webhook event.

The gateway is built from the settings on first use and kept on ``app.state``; tests put
their own there (pointed at localstripe, which has no Checkout Sessions).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import stripe
from fastapi import Request

from backend.config import Settings
from backend.payments.errors import PaymentProviderError, PaymentsUnavailable

PAYMENT_METHOD_TYPES = ("card", "bancontact")


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str
    payment_intent_id: str | None


class StripeGateway:
    def __init__(self, *, secret_key: str | None, webhook_secret: str | None, api_base: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self.client: stripe.StripeClient | None = None
        if secret_key:
            options: dict[str, Any] = {"max_network_retries": 2}
            if api_base:
                options["base_addresses"] = {"api": api_base}
            self.client = stripe.StripeClient(secret_key, **options)

    def require_client(self) -> stripe.StripeClient:
        if self.client is None:
            raise PaymentsUnavailable(
                "This municipality has not set up online payments; ask it about buying float by bank transfer."
            )
        return self.client

    async def create_checkout_session(
        self,
        *,
        amount_cents: int,
        description: str,
        metadata: dict[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        customer_email: str | None = None,
    ) -> CheckoutSession:
        client = self.require_client()
        params: dict[str, Any] = {
            "mode": "payment",
            "payment_method_types": list(PAYMENT_METHOD_TYPES),
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": amount_cents,
                        "product_data": {"name": description},
                    },
                }
            ],
            "metadata": metadata,
            # Copied onto the PaymentIntent so its events name the top-up too.
            "payment_intent_data": {"metadata": metadata, "description": description},
            "client_reference_id": metadata["topup_id"],
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if customer_email:
            params["customer_email"] = customer_email
        try:
            return await self._create_session(client, params, idempotency_key)
        except stripe.StripeError as exc:
            raise PaymentProviderError(f"Stripe refused the Checkout Session: {exc.user_message or exc}") from exc

    async def _create_session(
        self, client: stripe.StripeClient, params: dict[str, Any], idempotency_key: str
    ) -> CheckoutSession:
        session = await asyncio.to_thread(
            client.v1.checkout.sessions.create, params, {"idempotency_key": idempotency_key}
        )
        payment_intent = session.payment_intent if "payment_intent" in session else None
        return CheckoutSession(id=session.id, url=session.url, payment_intent_id=payment_intent)

    def construct_event(self, payload: bytes, sig_header: str | None) -> stripe.Event:
        if not self.webhook_secret:
            raise PaymentsUnavailable("No Stripe webhook secret is configured.")
        return stripe.Webhook.construct_event(payload, sig_header, self.webhook_secret)


def gateway_from_settings(settings: Settings) -> StripeGateway:
    return StripeGateway(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
    )


async def get_gateway(request: Request) -> StripeGateway:
    state = request.app.state
    gateway = getattr(state, "stripe_gateway", None)
    if gateway is None:
        gateway = state.stripe_gateway = gateway_from_settings(state.settings)
    return gateway
