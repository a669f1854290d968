"""Imports every table so ``metadata`` is complete (Alembic, tests)."""

from backend.audit.models import AuditEvent  # noqa: F401
from backend.auth.models import EmailToken, LoginThrottle, PosApiKey, RefreshToken, User  # noqa: F401
from backend.campaigns.models import Campaign, CampaignAward  # noqa: F401
from backend.cards.models import Card, CardBatch  # noqa: F401
from backend.core.db import metadata  # noqa: F401
from backend.expiry.models import ExpiryNotice  # noqa: F401
from backend.ledger.models import (  # noqa: F401
    Account,
    AccountBalance,
    Entry,
    Hold,
    LedgerChainHead,
    LedgerSeal,
    Transfer,
)
from backend.merchants.models import Merchant  # noqa: F401
from backend.notifications.models import OutboxMessage  # noqa: F401
from backend.payments.models import FloatDebt, StripeEvent, TopUp  # noqa: F401
from backend.settlement.models import (  # noqa: F401
    Payout,
    PayoutBatch,
    SettlementLine,
    SettlementPeriod,
    SettlementStatement,
)
from backend.tenants.models import Tenant  # noqa: F401
from backend.till.models import ClaimCode, WalletToken  # noqa: F401
from backend.wallets.models import Shopper  # noqa: F401
from backend.reports.models import ReportActivity, ReportSetting, ReportShopperMonth  # noqa: F401
