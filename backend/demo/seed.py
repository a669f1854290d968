"""Build a demo town in the database, entirely through the tenant, auth and ledger services.

Nothing is written around the ledger: every point moves through ``post_transfer``,
``create_hold``/``capture_hold``/``void_hold`` or ``reverse_transfer``, so the town
passes ``kernpunt ledger verify`` like real data must. Campaigns, their bonuses and the
expiry of lapsed points go through their own services (``backend.demo.seed_campaigns``).
The caller owns the transaction (and seals the hash chain afterwards, once the transfers
are committed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import passwords
from backend.auth import service as auth_service
from backend.auth.models import Role, User
from backend.campaigns.models import Campaign
from backend.config import Settings
from backend.core.types import utcnow
from backend.demo import pilot, seed_campaigns
from backend.demo.history import (
    Earn,
    Event,
    Expire,
    Fund,
    HistorySimulator,
    Payout,
    Redeem,
    Reversal,
    Topup,
)
from backend.demo.logins import DEMO_LOGINS, DemoLogin
from backend.demo.town import OUTLYING_VILLAGES, VILLAGES, TownSpec
from backend.demo.town_campaigns import plan_town_campaigns
from backend.ledger import service as ledger
from backend.ledger.models import Account, AccountType
from backend.merchants.models import Merchant
from backend.tenants.models import Tenant
from backend.tenants.service import create_tenant
from backend.wallets.models import Shopper

# Shops and shoppers "joined" a fortnight before the history starts.
JOINED_BEFORE_HISTORY = timedelta(days=14)
# The demo sign-ins' passwords are published (``kernpunt demo`` prints them), so a full-cost
# Argon2 hash protects nothing there, yet costs ~0.15 s of CPU a user. Their first sign-in
# upgrades such a hash to the full cost (``auth.service`` rehashes outdated parameters).
PUBLISHED_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

STAFF_NAMES = {
    Role.MUNICIPALITY_ADMIN: "Dienst Lokale Economie",
    Role.AUDITOR: "Financiële dienst (audit)",
    Role.MERCHANT_OWNER: "Wim De Wilde",
    Role.CASHIER: "Kassa Bakkerij De Wilde",
}


@dataclass
class DemoSummary:
    tenant_id: int
    slug: str
    name: str
    merchants: int = 0
    shoppers: int = 0
    users: int = 0
    transfers: int = 0
    holds: int = 0
    history_start: date | None = None
    history_end: date | None = None
    campaigns: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class TownIds:
    """Database ids behind the simulator's merchant and shopper indices."""

    tenant: Tenant
    funding_id: int
    payouts_id: int
    merchants: list[Merchant]
    floats: list[int]
    redeemed: list[int]
    wallets: list[int]
    shopper_ids: list[int]
    breakage_id: int
    merchant_staff: dict[int, dict[Role, int]]  # merchant index -> role -> user id
    admin_id: int | None
    transfer_ids: dict[str, int] = field(default_factory=dict)
    campaigns: list[Campaign] = field(default_factory=list)  # by the plan's campaign index


def _login_for(role: Role | str, email: str | None = None) -> DemoLogin:
    for login in DEMO_LOGINS:
        if login.role == role and (email is None or login.email == email):
            return login
    raise LookupError(f"no demo login for role {role} {email or ''}".strip())


async def seed_town(
    session: AsyncSession, spec: TownSpec, *, seed: int, settings: Settings, today: date | None = None
) -> DemoSummary:
    """Create the municipality of ``spec`` with its shops, people and history up to yesterday.

    All in the caller's one transaction, which suits a small town; a large generated town
    would call ``populate_town`` and then ``post_events`` per day in transactions of its own.
    """
    today = today or utcnow().astimezone(pilot.LOCAL_TZ).date()  # a Brussels day, as the reports count
    days = spec.weeks * 7
    history_start = today - timedelta(days=days)
    joined = datetime.combine(history_start - JOINED_BEFORE_HISTORY, datetime.min.time(), tzinfo=UTC)

    tenant = await create_tenant(session, slug=spec.slug, name=spec.name, settings=settings)
    expiry_days = tenant.points_expiry_days
    # With expiry the municipality started with a pilot that long before the history.
    launched = pilot.launched(history_start, expiry_days) if pilot.has_pilot(expiry_days) else None
    tenant.created_at = launched or joined
    tenant.villages = list(VILLAGES)
    session.add(tenant)
    with _hashing_published_passwords():
        town = await populate_town(session, spec, tenant=tenant, joined=joined, pilot_joined=launched)
    planned = plan_town_campaigns(history_start, days, villages=OUTLYING_VILLAGES)
    town.campaigns = await seed_campaigns.create_campaigns(session, town, planned)

    simulator = HistorySimulator(
        spec,
        seed=seed,
        start=history_start,
        days=days,
        points_per_euro=tenant.points_per_euro,
        point_value_cents=tenant.point_value_cents,
        key_prefix=f"demo-{seed}",
        campaigns=planned,
        expiry_days=expiry_days,
    )
    summary = DemoSummary(
        tenant_id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        merchants=len(town.merchants),
        shoppers=len(town.wallets),
        users=len(DEMO_LOGINS),
        history_start=history_start,
        history_end=today - timedelta(days=1),
        campaigns=[c.name for c in planned],
    )
    await post_events(session, town, simulator.pilot(), summary)
    for _day, events in simulator.history():
        await post_events(session, town, events, summary)
    await post_events(session, town, simulator.closing(), summary)
    await _date_accounts(session, spec, town, joined=joined, launched=launched)
    await session.flush()
    return summary


@contextmanager
def _hashing_published_passwords() -> Iterator[None]:
    previous = passwords._hasher  # no getter: the tests' fixture reads it the same way
    passwords.set_hasher(PUBLISHED_PASSWORD_HASHER)
    try:
        yield
    finally:
        passwords.set_hasher(previous)


async def _date_accounts(
    session: AsyncSession, spec: TownSpec, town: TownIds, *, joined: datetime, launched: datetime | None
) -> None:
    """Accounts were opened just now; date them with their shop, shopper or campaign so
    that no account looks younger than its first entry."""
    tenant_id = town.tenant.id
    await session.execute(update(Account).where(Account.tenant_id == tenant_id).values(created_at=joined))
    if launched is not None:
        shops = [m.id for m, s in zip(town.merchants, spec.merchants, strict=True) if s.in_pilot]
        savers = [sid for sid, s in zip(town.shopper_ids, spec.shoppers, strict=True) if s.in_pilot]
        municipality = and_(Account.merchant_id.is_(None), Account.shopper_id.is_(None),
                            Account.type != AccountType.CAMPAIGN_BUDGET.value)
        await session.execute(
            update(Account)
            .where(Account.tenant_id == tenant_id,
                   or_(municipality, Account.merchant_id.in_(shops), Account.shopper_id.in_(savers)))
            .values(created_at=launched)
        )
    await seed_campaigns.date_budget_accounts(session, town)


async def populate_town(
    session: AsyncSession, spec: TownSpec, *, tenant: Tenant, joined: datetime, pilot_joined: datetime | None = None
) -> TownIds:
    """Shops with their ledger accounts, shoppers with wallets, and every demo sign-in.

    Shops and shoppers of the pilot joined at ``pilot_joined``, the others at ``joined``.
    """
    tenant_id = tenant.id
    merchants, floats, redeemed = [], [], []
    for merchant_spec in spec.merchants:
        merchant = Merchant(
            tenant_id=tenant_id,
            name=merchant_spec.name,
            category=merchant_spec.category,
            village=merchant_spec.village,
            address=merchant_spec.address,
            postcode=merchant_spec.postcode,
            vat_number=merchant_spec.vat_number,
            iban=merchant_spec.iban,
            created_at=pilot_joined if merchant_spec.in_pilot and pilot_joined else joined,
        )
        session.add(merchant)
        await session.flush()
        float_account, redeemed_account = await ledger.open_merchant_accounts(
            session, tenant_id=tenant_id, merchant_id=merchant.id, merchant_name=merchant.name
        )
        merchants.append(merchant)
        floats.append(float_account.id)
        redeemed.append(redeemed_account.id)

    wallets, shopper_ids = [], []
    for shopper_spec in spec.shoppers:
        shopper_joined = pilot_joined if shopper_spec.in_pilot and pilot_joined else joined
        if shopper_spec.login_email:
            login = _login_for(Role.SHOPPER, shopper_spec.login_email)
            user = await auth_service.create_user(
                session,
                tenant_id=tenant_id,
                email=login.email,
                password=login.password,
                role=Role.SHOPPER,
                display_name=f"{shopper_spec.first_name} {shopper_spec.last_name}".strip(),
            )
            shopper = (await session.execute(select(Shopper).where(Shopper.user_id == user.id))).scalar_one()
            shopper.first_name = shopper_spec.first_name
            shopper.postcode = shopper_spec.postcode
            shopper.village = shopper_spec.village
            shopper.created_at = shopper_joined
            session.add(shopper)
            await session.flush()
            wallet = await ledger.find_account(session, tenant_id=tenant_id, code=f"shopper:{shopper.id}:wallet")
        else:
            shopper = Shopper(
                tenant_id=tenant_id,
                first_name=shopper_spec.first_name,
                postcode=shopper_spec.postcode,
                village=shopper_spec.village,
                created_at=shopper_joined,
            )
            session.add(shopper)
            await session.flush()
            wallet = await ledger.open_shopper_wallet(session, tenant_id=tenant_id, shopper_id=shopper.id)
        wallets.append(wallet.id)
        shopper_ids.append(shopper.id)

    staff_shop = next((i for i, m in enumerate(spec.merchants) if m.has_demo_logins), None)
    merchant_staff: dict[int, dict[Role, int]] = {}
    admin_id = None
    for login in DEMO_LOGINS:
        role = Role(login.role)
        if role is Role.SHOPPER:
            continue  # made with its shopper above
        merchant_id = None
        if role in auth_service.MERCHANT_ROLES:
            if staff_shop is None:
                raise LookupError("the town has no shop marked has_demo_logins for the merchant sign-ins")
            merchant_id = merchants[staff_shop].id
        user: User = await auth_service.create_user(
            session,
            tenant_id=tenant_id,
            email=login.email,
            password=login.password,
            role=role,
            merchant_id=merchant_id,
            display_name=STAFF_NAMES.get(role, ""),
        )
        if merchant_id is not None:
            merchant_staff.setdefault(staff_shop, {})[role] = user.id  # type: ignore[index]
        if role is Role.MUNICIPALITY_ADMIN:
            admin_id = user.id

    funding = await ledger.find_account(session, tenant_id=tenant_id, code="funding")
    payouts = await ledger.find_account(session, tenant_id=tenant_id, code="payouts")
    breakage = await ledger.find_account(session, tenant_id=tenant_id, code="breakage")
    return TownIds(
        tenant=tenant,
        funding_id=funding.id,
        payouts_id=payouts.id,
        merchants=merchants,
        floats=floats,
        redeemed=redeemed,
        wallets=wallets,
        shopper_ids=shopper_ids,
        breakage_id=breakage.id,
        merchant_staff=merchant_staff,
        admin_id=admin_id,
    )


async def post_events(session: AsyncSession, town: TownIds, events: Sequence[Event], summary: DemoSummary) -> None:
    """Post planned events in order; a large town calls this once per day, per transaction."""
    for event in events:
        await _post(session, town, event, summary)


async def _post(session: AsyncSession, town: TownIds, event: Event, summary: DemoSummary) -> None:
    tenant_id = town.tenant.id
    posted: ledger.PostedTransfer | None = None
    if isinstance(event, Topup):
        posted = await ledger.post_transfer(
            session,
            tenant_id=tenant_id,
            idempotency_key=event.key,
            kind="topup",
            debit_account_id=town.funding_id,
            credit_account_id=town.floats[event.merchant],
            amount=event.points,
            description="Opwaardering spaarpunten",
            meta={"paid_cents": event.points * town.tenant.point_value_cents, "method": "demo"},
            created_by_user_id=town.merchant_staff.get(event.merchant, {}).get(Role.MERCHANT_OWNER),
            now=event.at,
        )
    elif isinstance(event, Earn):
        posted = await ledger.post_transfer(
            session,
            tenant_id=tenant_id,
            idempotency_key=event.key,
            kind="earn",
            debit_account_id=town.floats[event.merchant],
            credit_account_id=town.wallets[event.shopper],
            amount=event.points,
            description=f"Aankoop bij {town.merchants[event.merchant].name}",
            meta={"purchase_cents": event.purchase_cents},
            created_by_user_id=town.merchant_staff.get(event.merchant, {}).get(Role.CASHIER),
            now=event.at,
        )
        bonuses = await seed_campaigns.pay_bonuses(session, town, event, earn_transfer_id=posted.id)
        _count(summary, "bonus", bonuses)
    elif isinstance(event, Fund):
        posted = await seed_campaigns.fund(session, town, event)
    elif isinstance(event, Expire):
        _count(summary, "expiry", await seed_campaigns.expire(session, town, event))
    elif isinstance(event, Redeem):
        posted = await _redeem(session, town, event, summary)
    elif isinstance(event, Payout):
        posted = await ledger.post_transfer(
            session,
            tenant_id=tenant_id,
            idempotency_key=event.key,
            kind="payout",
            debit_account_id=town.redeemed[event.merchant],
            credit_account_id=town.payouts_id,
            amount=event.points,
            description=f"Uitbetaling {event.period_start:%d/%m}–{event.period_end:%d/%m/%Y}",
            meta={
                "period_start": event.period_start.isoformat(),
                "period_end": event.period_end.isoformat(),
                "method": "sepa",
                "paid_cents": event.points * town.tenant.point_value_cents,
            },
            created_by_user_id=town.admin_id,
            now=event.at,
        )
    elif isinstance(event, Reversal):
        posted = await ledger.reverse_transfer(
            session,
            tenant_id=tenant_id,
            transfer_id=town.transfer_ids[event.target_key],
            idempotency_key=event.key,
            amount=event.amount,
            description=event.reason,
            created_by_user_id=town.admin_id,
        )
    if posted is not None:
        town.transfer_ids[event.key] = posted.id
        _count(summary, posted.kind, 1)


def _count(summary: DemoSummary, kind: str, transfers: int) -> None:
    if transfers:
        summary.transfers += transfers
        summary.kinds[kind] = summary.kinds.get(kind, 0) + transfers


async def _redeem(
    session: AsyncSession, town: TownIds, event: Redeem, summary: DemoSummary
) -> ledger.PostedTransfer | None:
    tenant_id = town.tenant.id
    cashier = town.merchant_staff.get(event.merchant, {}).get(Role.CASHIER)
    hold, _replayed = await ledger.create_hold(
        session,
        tenant_id=tenant_id,
        idempotency_key=f"{event.key}:hold",
        kind="redeem",
        debit_account_id=town.wallets[event.shopper],
        credit_account_id=town.redeemed[event.merchant],
        amount=event.held,
        timeout_seconds=town.tenant.hold_timeout_seconds,
        description=f"Betalen met punten bij {town.merchants[event.merchant].name}",
        meta={"purchase_cents": event.purchase_cents},
        created_by_user_id=cashier,
        now=event.at,
    )
    summary.holds += 1
    if event.captured is None:
        await ledger.void_hold(session, tenant_id=tenant_id, hold_id=hold.id, now=event.resolved_at)
        return None
    return await ledger.capture_hold(
        session,
        tenant_id=tenant_id,
        hold_id=hold.id,
        idempotency_key=event.key,
        amount=event.captured,
        created_by_user_id=cashier,
        now=event.resolved_at,
    )
