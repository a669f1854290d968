"""Signed QR texts: the shopper's rotating wallet token and the shop's claim code.

Both are compact HS256 JWTs signed with the access-token keyring (same keys, same
rotation), told apart from access tokens and from each other by ``typ``. The QR only
carries what the server needs to find the row: tenant, subject, jti and expiry. The
row decides the rest (spent, claimed), so a copied QR is worth nothing after use.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import segno
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.tokens import ALGORITHM, signing_keyring
from backend.config import Settings
from backend.core.types import utcnow
from backend.tenants.models import Tenant
from backend.till.codes import format_short_code, new_short_code
from backend.till.errors import ScanExpired, ScanForeign, ScanTampered
from backend.till.models import WalletToken

WALLET_PREFIX = "KPW1:"
CARD_PREFIX = "KPC1:"
CLAIM_PREFIX = "KPK1:"
WALLET_TYP = "wallet"
CLAIM_TYP = "claim"

# Error correction M survives a scratched phone screen; 8 px modules stay crisp on a
# 360 px phone and read from a webcam at arm's length.
QR_ERROR = "m"
QR_SCALE = 8
QR_BORDER = 4


def sign(settings: Settings, claims: dict[str, Any]) -> str:
    keyring = signing_keyring(settings)
    kid = keyring.signing_kid
    # No "typ": "JWT" header: every byte makes the QR denser.
    return jwt.encode(
        claims, keyring.keys[kid], algorithm=ALGORITHM, headers={"kid": kid, "typ": None}
    )


def verify(
    settings: Settings, token: str, *, typ: str, tenant_id: int, now: datetime
) -> dict[str, Any]:
    """The claims of a token we signed for ``tenant_id``; expiry is checked against ``now``."""
    keyring = signing_keyring(settings)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        # Our prefix, then garbage: a damaged or forged code, not a misread of another kind.
        raise ScanTampered("The code is damaged; scan it again or type the short code.") from exc
    key = keyring.keys.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
    if key is None:
        raise ScanTampered("This code was not signed by Kernpunt (or with a key that was retired).")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "require": ["exp", "jti", "tid"]},
        )
    except jwt.PyJWTError as exc:
        raise ScanTampered() from exc
    if claims.get("typ") != typ or type(claims["tid"]) is not int or type(claims["exp"]) is not int:
        raise ScanTampered("This code is not a valid Kernpunt code of this kind.")
    if claims["tid"] != tenant_id:
        raise ScanForeign("This code was issued by another municipality's scheme.")
    if claims["exp"] <= int(now.timestamp()):
        raise ScanExpired(
            f"The code expired at {datetime.fromtimestamp(claims['exp'], UTC).isoformat()}."
        )
    return claims


def qr_svg(text: str, *, title: str) -> str:
    qr = segno.make(text, error=QR_ERROR, micro=False)
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        scale=QR_SCALE,
        border=QR_BORDER,
        title=title,
        xmldecl=False,
        svgns=True,
        nl=False,
    )
    return out.getvalue().decode()


def new_jti() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


@dataclass(frozen=True, slots=True)
class IssuedWalletToken:
    row: WalletToken
    qr_text: str
    qr_svg: str
    short_code: str  # formatted XXXX-XXXX

    @property
    def expires_at(self) -> datetime:
        return self.row.expires_at


async def issue_wallet_token(
    session: AsyncSession,
    *,
    tenant: Tenant,
    shopper_id: int,
    settings: Settings,
    now: datetime | None = None,
) -> IssuedWalletToken:
    now = now or utcnow()
    expires_at = now.replace(microsecond=0) + timedelta(seconds=tenant.qr_token_ttl_seconds)
    jti = new_jti()
    for _ in range(5):  # 40-bit codes: a clash with a live code is rare, retry it anyway
        row = WalletToken(
            tenant_id=tenant.id,
            shopper_id=shopper_id,
            jti=jti,
            short_code=new_short_code(),
            expires_at=expires_at,
            created_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover
        raise RuntimeError("could not find a free short code")
    token = sign(
        settings,
        {
            "typ": WALLET_TYP,
            "tid": tenant.id,
            "sid": shopper_id,
            "jti": jti,
            "exp": int(expires_at.timestamp()),
        },
    )
    qr_text = WALLET_PREFIX + token
    short = format_short_code(row.short_code)
    return IssuedWalletToken(
        row=row,
        qr_text=qr_text,
        qr_svg=qr_svg(qr_text, title=f"Kernpunt QR code, code {short}"),
        short_code=short,
    )


# Kept an hour after expiry so a late scan still reads "expired", not "unknown code".
EXPIRED_TOKEN_GRACE = timedelta(hours=1)


async def delete_expired_wallet_tokens(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 5000
) -> int:
    """Drop old wallet tokens: a phone with the app open makes one a minute."""
    t = WalletToken.__table__
    cutoff = (now or utcnow()) - EXPIRED_TOKEN_GRACE
    old = select(t.c.id).where(t.c.expires_at < cutoff).order_by(t.c.expires_at).limit(limit)
    result = await session.execute(delete(t).where(t.c.id.in_(old.scalar_subquery())))
    return result.rowcount or 0
