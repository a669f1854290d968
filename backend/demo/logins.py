"""The demo town's sign-ins, printed by ``kernpunt demo`` and shown on / in dev mode."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_TENANT_SLUG = "sint-gillis-waas"
DEMO_TENANT_NAME = "Gemeente Sint-Gillis-Waas"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    label_nl: str
    label_fr: str
    label_en: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("municipality_admin", "admin@sint-gillis-waas.be", "kernpunt-admin", "Gemeente (beheerder)", "Commune (administrateur)", "Municipality (admin)"),
    DemoLogin("auditor", "audit@sint-gillis-waas.be", "kernpunt-audit", "Gemeente (auditor, alleen lezen)", "Commune (auditeur, lecture seule)", "Municipality (auditor, read-only)"),
    DemoLogin("merchant_owner", "eigenaar@bakkerij-dewilde.be", "kernpunt-winkel", "Handelaar: Bakkerij De Wilde (eigenaar)", "Commerçant : Boulangerie De Wilde (propriétaire)", "Merchant: Bakkerij De Wilde (owner)"),
    DemoLogin("cashier", "kassa@bakkerij-dewilde.be", "kernpunt-kassa", "Kassa: Bakkerij De Wilde", "Caisse : Boulangerie De Wilde", "Cashier: Bakkerij De Wilde"),
    DemoLogin("shopper", "an.peeters@example.be", "kernpunt-spaar", "Klant: An Peeters", "Client : An Peeters", "Shopper: An Peeters"),
)
