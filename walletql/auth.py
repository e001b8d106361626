"""Password hashing, bearer tokens and the acting principal."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from walletql.models import AuthToken, Role, User
from walletql.models.rows import fetch_one

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verifying against this when the email is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash("walletql-timing-equaliser")


@dataclass(frozen=True)
class Principal:
    """Who is acting. Every ledger call that needs a caller receives one."""

    user_id: int
    role: Role

    @property
    def is_merchant(self) -> bool:
        return self.role == Role.MERCHANT

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, role=Role(user.role))


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(user: User, ttl_seconds: int) -> tuple[str, datetime]:
    """A new random bearer token; only its sha256 is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    await AuthToken.create(token_hash=token_digest(token), user=user, expires_at=expires_at)
    return token, expires_at


_LIVE_TOKEN_USER = """
SELECT u.* FROM auth_tokens AS t JOIN users AS u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
"""


async def authenticate(token: str | None) -> tuple[User, str] | None:
    """The user behind a live token, and the token's digest; None for anything else."""
    if not token or len(token) > 200:
        return None
    digest = token_digest(token)
    user = await fetch_one(User, _LIVE_TOKEN_USER, digest)
    return (user, digest) if user is not None else None


async def revoke(token_digest_hex: str) -> bool:
    updated = await AuthToken.filter(token_hash=token_digest_hex, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC)
    )
    return updated > 0


def bearer_token(header_value: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` value, or None."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
