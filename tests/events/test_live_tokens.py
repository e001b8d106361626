"""Tokens a process remembers: never past a revocation, an expiry, or a gap in the feed.

authenticate() reads a token once and then answers from memory, but only while the feed's
LISTEN connection would deliver a revocation; revoke() notifies in the same statement.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from asyncpg.connection import Connection

from tests.calls import ledger
from walletql import auth, models
from walletql.db import asyncpg_dsn
from walletql.ledger import accounts
from walletql.services import build_services
from walletql.settings import Settings

WAIT = 10  # seconds; only to turn a hang into a failure


@pytest.fixture
def tokens():
    """The memory of live tokens of an app's services; remembering nothing until a feed runs."""
    return auth.LiveTokens()


@pytest.fixture
async def feed(database_url, tokens):
    """A feed carrying revocations to the token memory, as the app wires them."""
    feed = build_services(Settings()).feed
    feed.watch(auth.REVOKED_CHANNEL, tokens.forget, tokens.listening)
    await feed.start(database_url)
    try:
        yield feed
    finally:
        await feed.stop()
    assert tokens.get("anything") is None


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Statements this process sends, as they reach asyncpg."""
    sent: list[str] = []
    original = Connection.fetch

    async def fetch(self, query, *args, **kwargs):
        sent.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(Connection, "fetch", fetch)
    return sent


async def _session() -> accounts.Session:
    email = f"t{secrets.token_hex(5)}@example.com"
    await ledger.create_user(email=email, password="correct horse", name="T")
    return await ledger.login(email, "correct horse")


async def _until(condition) -> None:
    """Poll: the state changes in a notification callback, which has no event to wait on."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_live_token_is_read_once_then_remembered(feed, tokens, reads):
    session = await _session()
    reads.clear()
    for _ in range(3):
        user, digest = await auth.authenticate(session.token, tokens)
        assert (user.id, digest) == (session.user.id, auth.token_digest(session.token))
    assert len(reads) == 1


async def test_a_remembered_caller_is_the_users_profile_without_its_password_hash(feed, tokens):
    """What each process keeps for up to 10,000 live secrets: the fields `me` answers, as the
    users row holds them, and no password hash."""
    session = await _session()
    user, _ = await auth.authenticate(session.token, tokens)
    stored = await models.User.get(id=session.user.id)
    fields = ("id", "email", "name", "phone", "company_name", "company_url", "created_at")
    assert [getattr(user, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert user.role == stored.role
    assert not hasattr(user, "password_hash") and not hasattr(user, "__dict__")


async def test_nothing_is_remembered_without_the_feed(tokens, reads):
    session = await _session()
    reads.clear()
    for _ in range(3):
        assert (await auth.authenticate(session.token, tokens))[0].id == session.user.id
    assert len(reads) == 3


async def test_logout_here_is_effective_at_once(feed, tokens):
    session = await _session()
    assert await auth.authenticate(session.token, tokens) is not None
    assert await auth.revoke(auth.token_digest(session.token), tokens)
    assert await auth.authenticate(session.token, tokens) is None


async def test_a_revocation_by_another_process_is_heard(feed, tokens, database_url):
    session = await _session()
    digest = auth.token_digest(session.token)
    assert await auth.authenticate(session.token, tokens) is not None
    assert tokens.get(digest) is not None
    other = await asyncpg.connect(asyncpg_dsn(database_url))  # another server's revoke()
    try:
        assert len(await other.fetch(auth._REVOKE, digest)) == 1
    finally:
        await other.close()
    await _until(lambda: tokens.get(digest) is None)
    assert await auth.authenticate(session.token, tokens) is None


async def test_a_gap_in_the_feed_forgets_every_token(feed, tokens, database_url):
    session = await _session()
    digest = auth.token_digest(session.token)
    assert await auth.authenticate(session.token, tokens) is not None
    old_pid = feed.backend_pid
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
        # A revocation whose notification this process never hears (sent during the gap).
        await admin.execute(
            "UPDATE auth_tokens SET revoked_at = now() WHERE token_hash = $1", digest
        )
    finally:
        await admin.close()
    await _until(lambda: feed.backend_pid not in (None, old_pid))
    assert tokens.get(digest) is None
    assert await auth.authenticate(session.token, tokens) is None


async def test_an_expired_token_is_not_answered_from_memory(feed):
    session = await _session()
    tokens = auth.LiveTokens()
    tokens.listening(True)
    soon = datetime.now(UTC) + timedelta(milliseconds=50)
    tokens.keep(auth.Caller(session.user, "d", soon), tokens.generation)
    hit = tokens.get("d")
    assert hit is not None and hit.user is session.user
    await asyncio.sleep(0.1)
    assert tokens.get("d") is None


def _caller(digest: str, user: object = "user", expires_at: datetime | None = None):
    later = expires_at or datetime.now(UTC) + timedelta(hours=1)
    return auth.Caller(user, digest, later)  # type: ignore[arg-type]  # any user will do


def _user_of(tokens: auth.LiveTokens, digest: str) -> object:
    hit = tokens.get(digest)
    return None if hit is None else hit.user


def test_a_read_that_overlapped_a_revocation_is_not_kept():
    tokens = auth.LiveTokens()
    tokens.listening(True)
    before_read = tokens.generation
    tokens.forget("some token")  # heard while the read was on its way
    tokens.keep(_caller("d", object()), before_read)
    assert tokens.get("d") is None
    tokens.keep(_caller("d"), tokens.generation)
    assert _user_of(tokens, "d") == "user"
    tokens.listening(False)
    assert tokens.get("d") is None
    tokens.keep(_caller("d"), tokens.generation)  # not listening: not kept
    assert tokens.get("d") is None


def test_the_most_recently_used_tokens_are_kept():
    tokens = auth.LiveTokens(size=2)
    tokens.listening(True)
    for digest in ("a", "b"):
        tokens.keep(_caller(digest, digest.upper()), tokens.generation)
    assert _user_of(tokens, "a") == "A"  # now the most recently used
    tokens.keep(_caller("c", "C"), tokens.generation)
    assert [_user_of(tokens, d) for d in "abc"] == ["A", None, "C"]


def test_a_key_that_never_expires_is_kept_and_its_use_written_once_a_minute():
    tokens = auth.LiveTokens()
    tokens.listening(True)
    scopes = frozenset({models.Scope.READ})
    tokens.keep(auth.Caller("user", "k", None, scopes, 7), tokens.generation)  # type: ignore[arg-type]
    hit = tokens.get("k")
    assert hit is not None and hit.live() and (hit.scopes, hit.key_id) == (scopes, 7)
    assert tokens.key_used(7) is True
    assert tokens.key_used(7) is False  # within the minute: not written again
    assert tokens.key_used(8) is True  # another key has its own minute
