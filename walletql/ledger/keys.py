"""API keys: secrets for servers, acting as their owner within their scopes.

A key is made and revoked by its owner, signed in with a password (never by a key: a leaked key
cannot make itself a successor). The secret is shown once, when it is made; only its sha256 is
kept (walletql.auth reads it back, as it reads tokens). Making and revoking are audited in the
same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from walletql import ids
from walletql.auth import KEY_PREFIX, REVOKED_CHANNEL, Principal, token_digest
from walletql.ledger.accounts import parse_id, text_input
from walletql.ledger.errors import Forbidden, NotFound, ValidationError
from walletql.models import Scope
from walletql.models.rows import fetch

MAX_LIVE_KEYS = 100  # per user: a runaway script cannot fill the table
SHOWN_PREFIX = 12  # characters of the secret kept to recognise it ("wqk_" and 8 more)
MAX_NAME = 100


@dataclass(frozen=True)
class ApiKey:
    id: int
    user_id: int
    name: str
    prefix: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _key(row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=tuple(Scope(s) for s in row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


_LIVE_COUNT = """
SELECT count(*) AS live FROM api_keys
WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
"""
_MAKE = """
WITH made AS (
    INSERT INTO api_keys (user_id, name, prefix, secret_hash, scopes, expires_at)
    VALUES ($1, $2, $3, $4, $5::varchar[], $6)
    RETURNING *
), audited AS (
    INSERT INTO audit_events (action, actor_id, subject)
    SELECT 'API_KEY_CREATED', made.user_id, 'ApiKey:' || made.id FROM made
)
SELECT * FROM made
"""
# Revoked, audited and announced (every process forgets it, its websockets close) in one
# statement; revoking a revoked key answers it unchanged, writing nothing.
_REVOKE = f"""
WITH revoked AS (
    UPDATE api_keys SET revoked_at = now()
    WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
    RETURNING *
), audited AS (
    INSERT INTO audit_events (action, actor_id, subject)
    SELECT 'API_KEY_REVOKED', revoked.user_id, 'ApiKey:' || revoked.id FROM revoked
), told AS (
    SELECT pg_notify('{REVOKED_CHANNEL}', revoked.secret_hash) FROM revoked
)
SELECT revoked.*, (SELECT count(*) FROM told) AS told FROM revoked
UNION ALL
SELECT k.*, 0 FROM api_keys AS k
WHERE k.id = $1 AND k.user_id = $2 AND NOT EXISTS (SELECT FROM revoked)
"""


def _scopes(actor: Principal, scopes: Iterable[object] | None) -> tuple[Scope, ...]:
    chosen: list[Scope] = []
    for value in scopes or ():
        try:
            scope = Scope(str(getattr(value, "value", value)))
        except ValueError:
            raise ValidationError("BAD_INPUT", f"Unknown scope {value!r}", "scopes") from None
        if scope not in chosen:
            chosen.append(scope)
    if not chosen:
        raise ValidationError("BAD_INPUT", "Give at least one scope", "scopes")
    if Scope.OPERATIONS in chosen and not actor.is_operator:
        raise Forbidden("Only operators' keys may have the OPERATIONS scope")
    return tuple(chosen)


def _expiry(expires_at: object) -> datetime | None:
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
        raise ValidationError("BAD_INPUT", "expiresAt must be a time with a zone", "expiresAt")
    if expires_at <= datetime.now(UTC):
        raise ValidationError("BAD_INPUT", "expiresAt must be in the future", "expiresAt")
    return expires_at


async def create_key(
    actor: Principal, name: object, scopes: Iterable[object] | None, expires_at: object = None
) -> tuple[ApiKey, str]:
    """A new key of the caller's, and its secret (shown this once)."""
    actor.require_person("make API keys")
    text = text_input(name, "name", max_length=MAX_NAME)
    assert text is not None  # required
    chosen = _scopes(actor, scopes)
    expiry = _expiry(expires_at)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    async with in_transaction():
        # The owner's row, locked: two keys made at once cannot both pass the count.
        await fetch("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", actor.user_id)
        live = (await fetch(_LIVE_COUNT, actor.user_id))[0]["live"]
        if live >= MAX_LIVE_KEYS:
            raise ValidationError(
                "KEY_LIMIT_REACHED",
                f"You have {MAX_LIVE_KEYS} live API keys: revoke one first",
                "name",
            )
        rows = await fetch(
            _MAKE,
            actor.user_id,
            text,
            secret[:SHOWN_PREFIX],
            token_digest(secret),
            [s.value for s in chosen],
            expiry,
        )
    return _key(rows[0]), secret


async def revoke_key(actor: Principal, key_id: object) -> ApiKey:
    """The caller's key `key_id`, revoked (at once, on every process); anyone else's NotFound."""
    actor.require_person("revoke API keys")
    number = parse_id(key_id, ids.API_KEY, "API key not found")
    rows = await fetch(_REVOKE, number, actor.user_id)
    if not rows:
        raise NotFound("API key not found")
    return _key(rows[0])


async def keys_of(user_id: int) -> list[ApiKey]:
    """A user's keys, revoked ones too, newest first."""
    rows = await fetch("SELECT * FROM api_keys WHERE user_id = $1 ORDER BY id DESC", user_id)
    return [_key(row) for row in rows]
