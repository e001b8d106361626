"""Password hashing, bearer tokens and the acting principal."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import LRUCache

from walletql.ledger.errors import Forbidden
from walletql.models import AuthToken, Role, Scope, User
from walletql.models.rows import fetch

# argon2id with the library's recommended parameters: constant, like the functions below.
_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash("walletql-timing-equaliser")


@dataclass(frozen=True)
class Principal:
    """Who is acting. Every ledger call that needs a caller receives one. `scopes` is None for
    a person signed in with a token (everything their role allows), and an API key's scopes
    for a key (walletql.keys): the ledger asks `require` before it acts, so a key can do only
    what its scopes allow however it is called."""

    user_id: int
    role: Role
    scopes: frozenset[Scope] | None = None

    @property
    def is_key(self) -> bool:
        return self.scopes is not None

    def allows(self, scope: Scope) -> bool:
        return self.scopes is None or scope in self.scopes

    def require(self, scope: Scope) -> None:
        if not self.allows(scope):
            raise Forbidden(f"This API key lacks the {scope.value} scope")

    def require_person(self, action: str) -> None:
        """Some things only a person signed in may do (keys cannot make keys, say)."""
        if self.is_key:
            raise Forbidden(f"An API key cannot {action}: sign in with a password")

    @property
    def is_merchant(self) -> bool:
        return self.role == Role.MERCHANT

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR


def principal_of(user: User | UserProfile, scopes: frozenset[Scope] | None = None) -> Principal:
    return Principal(user_id=user.id, role=Role(user.role), scopes=scopes)


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


_LIVE = "t.revoked_at IS NULL AND t.expires_at > now()"  # what a live token is, in one place
_LIVE_KEY = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"  # a key
# What a live secret's caller is remembered by: the user's profile, never the password hash.
_PROFILE = "u.id, u.email, u.name, u.phone, u.role, u.company_name, u.company_url, u.created_at"
_LIVE_TOKEN_USER = f"""
SELECT {_PROFILE}, t.expires_at AS token_expires_at
FROM auth_tokens AS t JOIN users AS u ON u.id = t.user_id
WHERE t.token_hash = $1 AND {_LIVE}
"""
_LIVE_KEY_USER = f"""
SELECT {_PROFILE}, k.expires_at AS token_expires_at, k.id AS key_id, k.scopes AS key_scopes
FROM api_keys AS k JOIN users AS u ON u.id = k.user_id
WHERE k.secret_hash = $1 AND {_LIVE_KEY}
"""
_LIVE_AMONG = f"""
SELECT t.token_hash FROM auth_tokens AS t WHERE t.token_hash = ANY($1::text[]) AND {_LIVE}
UNION ALL
SELECT k.secret_hash FROM api_keys AS k WHERE k.secret_hash = ANY($1::text[]) AND {_LIVE_KEY}
"""
# At most one write a minute per key, whichever processes see it used.
_KEY_USED = """
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= now() - interval '1 minute')
"""
KEY_PREFIX = "wqk_"  # every API key's secret starts so: recognisable in a log or a scanner
KEY_USE_INTERVAL = 60.0  # seconds between two writes of a key's lastUsedAt by one process
REVOKED_CHANNEL = "walletql_token_revoked"
# The revocation and its notification in one statement: every process forgets the token
# exactly when the revocation commits.
_REVOKE = f"""
WITH revoked AS (
    UPDATE auth_tokens SET revoked_at = now()
    WHERE token_hash = $1 AND revoked_at IS NULL
    RETURNING token_hash
)
SELECT pg_notify('{REVOKED_CHANNEL}', token_hash) FROM revoked
"""

# A new password: every other token of the user revoked, each notified like a logout.
_REVOKE_OTHERS = f"""
WITH revoked AS (
    UPDATE auth_tokens SET revoked_at = now()
    WHERE user_id = $1 AND token_hash <> $2 AND revoked_at IS NULL
    RETURNING token_hash
)
SELECT token_hash, pg_notify('{REVOKED_CHANNEL}', token_hash) FROM revoked
"""


@dataclass(frozen=True, slots=True)
class UserProfile:
    """A user as each process remembers the caller of a live secret, for minutes and for up to
    10,000 of them (LiveTokens): what `me` answers and the principal needs, without the
    password hash, and without the model's own per-instance state (slots, no __dict__)."""

    id: int
    email: str
    name: str
    phone: str | None
    role: Role
    company_name: str | None
    company_url: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a live secret acts for: the user, the secret's digest (what revocation names) and
    its expiry (None: an API key that never expires); for an API key, its id and scopes."""

    user: UserProfile
    digest: str
    expires_at: datetime | None
    scopes: frozenset[Scope] | None = None
    key_id: int | None = None

    @property
    def principal(self) -> Principal:
        return principal_of(self.user, self.scopes)

    def live(self) -> bool:
        return self.expires_at is None or self.expires_at > datetime.now(UTC)


class LiveTokens:
    """Secrets (tokens and API keys) this process has recently found live, with who they act
    for, so that a request does not read its secret again: the `size` most recently used. Safe
    only while this process hears every revocation: the balance feed's LISTEN connection
    delivers them (`forget`). Whenever that connection goes down or comes back, a revocation
    may have been missed: everything is forgotten, and nothing is kept while it is down
    (`listening`). Also when each API key's use was last written (`key_used`). One per process
    (walletql.services)."""

    def __init__(self, size: int = 10_000) -> None:
        self._callers: LRUCache[str, Caller] = LRUCache(maxsize=size)
        self._key_writes: LRUCache[int, float] = LRUCache(maxsize=size)
        self._listening = False
        # Bumped by every forget: a read that overlapped one is not kept (it may predate it).
        self.generation = 0

    def get(self, digest: str) -> Caller | None:
        hit = self._callers.get(digest)
        if hit is None:
            return None
        if not hit.live():
            self._callers.pop(digest, None)
            return None
        return hit

    def keep(self, caller: Caller, generation: int) -> None:
        if not self._listening or generation != self.generation:
            return
        self._callers[caller.digest] = caller

    def forget(self, digest: str) -> None:
        self.generation += 1
        self._callers.pop(digest, None)

    def listening(self, on: bool) -> None:
        self.generation += 1
        self._callers.clear()
        self._listening = on

    def key_used(self, key_id: int) -> bool:
        """Whether this use of key `key_id` is to be written (lastUsedAt): not if this process
        wrote one less than KEY_USE_INTERVAL ago."""
        now = time.monotonic()
        last = self._key_writes.get(key_id)
        if last is not None and now - last < KEY_USE_INTERVAL:
            return False
        self._key_writes[key_id] = now
        return True


async def authenticate(
    token: str | None, live_tokens: LiveTokens
) -> tuple[UserProfile, str] | None:
    """The user behind a live token, and the token's digest; None for anything else."""
    caller = await caller_of(token, live_tokens)
    return (caller.user, caller.digest) if caller is not None else None


async def caller_of(token: str | None, live_tokens: LiveTokens) -> Caller | None:
    """Who a live token or API key acts for, as of now; None for anything else.
    `live_tokens` answers for the secrets read recently, and keeps what is read."""
    if not token or len(token) > 200 or not token.isascii():  # ours are ASCII (token_urlsafe)
        return None
    digest = token_digest(token)
    caller = live_tokens.get(digest)
    if caller is None:
        generation = live_tokens.generation
        is_key = token.startswith(KEY_PREFIX)
        rows = await fetch(_LIVE_KEY_USER if is_key else _LIVE_TOKEN_USER, digest)
        if not rows:
            return None
        row = rows[0]
        scopes = row["key_scopes"] if is_key else None
        caller = Caller(
            UserProfile(
                row["id"],
                row["email"],
                row["name"],
                row["phone"],
                Role(row["role"]),
                row["company_name"],
                row["company_url"],
                row["created_at"],
            ),
            digest,
            row["token_expires_at"],
            None if scopes is None else frozenset(Scope(s) for s in scopes),
            row["key_id"] if is_key else None,
        )
        live_tokens.keep(caller, generation)
    if caller.key_id is not None and live_tokens.key_used(caller.key_id):
        await fetch(_KEY_USED, caller.key_id)
    return caller


async def live_among(digests: list[str]) -> set[str]:
    """Those of `digests` whose tokens or keys are live now, read from the database (not the
    cache)."""
    return {row["token_hash"] for row in await fetch(_LIVE_AMONG, digests)}


async def revoke(token_digest_hex: str, live_tokens: LiveTokens) -> bool:
    rows = await fetch(_REVOKE, token_digest_hex)
    live_tokens.forget(token_digest_hex)
    return bool(rows)


async def revoke_others(user_id: int, keep_digest: str, live_tokens: LiveTokens) -> int:
    """Revoke every token of the user but `keep_digest`'s (API keys stay), on every process as
    logout does: their websockets close. Inside a transaction, the notifications leave at its
    commit. How many were revoked."""
    rows = await fetch(_REVOKE_OTHERS, user_id, keep_digest)
    for row in rows:
        live_tokens.forget(row["token_hash"])
    return len(rows)


def bearer_token(header_value: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` value, or None."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
