"""Public ids: the database's integer ids, as opaque, non-enumerable text at the API boundary.

Rows keep their sequential integer ids. Everything the API shows or accepts as an id goes
through this module, and nothing else makes or reads that text:

    ids.encode(ids.WALLET, 42)  -> "wal_3b0c9e1f5a27d684"   (say)
    ids.decode(ids.WALLET, "wal_3b0c9e1f5a27d684") -> 42
    ids.decode(ids.WALLET, "42" / "usr_3b0c..." / "wal_3B0C..." / 42) -> None

The text is a per-kind prefix and 16 lowercase hex digits: the id, as a 64-bit block, through a
keyed pseudo-random permutation (a 4-round Feistel network whose round function is keyed
BLAKE2b of the half block, with the kind and the round as its personalisation). Without the key,
one id says nothing about any other: neighbours of a known id are random-looking texts, and a
guessed text names an existing row with probability (rows of that kind) / 2^64. The kind is part
of the permutation, so a wallet's text is no user's, even with its prefix swapped.

The key is a random secret made once per database by a migration (walletql_keys, name 'ids') and
read at start-up by every process (`await ids.load()` once the ORM is open), so all processes of
a deployment show the same ids, and the same ids survive restarts. Replacing it changes every id
a client holds: don't.

An id already seen is served from a bounded cache per key and direction: a page shows the same
wallets and transactions again and again, and encoding costs a keyed hash each time.

Clients are told the format is opaque: it may change, and they must not parse it.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

# The kinds of id, each its public prefix and (ids, not cursors) its own permutation.
USER = "usr"
WALLET = "wal"
TRANSACTION = "txn"
HOLD = "hld"
API_KEY = "key"
AUDIT_EVENT = "aud"
# A history cursor is no id, but it names a transaction (the position after it): the
# transaction's permutation under a prefix of its own, so a page's cursors cost nothing more
# than its transactions' ids, and a transaction's id is no cursor.
CURSOR = "cur"
SHARED = {CURSOR: TRANSACTION}
KINDS = (USER, WALLET, TRANSACTION, HOLD, API_KEY, AUDIT_EVENT, CURSOR)

KEY_NAME = "ids"  # the row of walletql_keys that holds the secret
MIN_KEY_BYTES = 16
ROUNDS = 4
MAX_ID = 2**63 - 1  # bigint: the database's ids are 1 .. MAX_ID
_HALF = 0xFFFFFFFF
_CACHE = 8192  # (kind, id) pairs per direction; a 100-edge history page shows ~300 ids


class Codec:
    """Encodes and decodes the ids of every kind under one secret."""

    def __init__(self, secret: bytes) -> None:
        secret = bytes(secret)
        if not MIN_KEY_BYTES <= len(secret) <= hashlib.blake2b.MAX_KEY_SIZE:
            raise ValueError(
                f"an id key has {MIN_KEY_BYTES} to {hashlib.blake2b.MAX_KEY_SIZE} bytes"
            )
        # One keyed hash per kind and round, copied for each use: keying costs a whole block.
        self._rounds = {
            kind: tuple(
                hashlib.blake2b(key=secret, digest_size=4, person=f"walletql:{kind}:{i}".encode())
                for i in range(ROUNDS)
            )
            for kind in KINDS
            if kind not in SHARED
        }
        self._rounds.update({kind: self._rounds[shared] for kind, shared in SHARED.items()})
        self._backwards = {kind: rounds[::-1] for kind, rounds in self._rounds.items()}
        self._texts = {kind: re.compile(f"{kind}_([0-9a-f]{{16}})") for kind in KINDS}
        # A request often names the same id twice (its fingerprint, then its look-up), and a
        # page shows the same wallets again and again. Bounded: text from clients fills the
        # decode cache at most, and only the short texts that can be ids reach it.
        self.encode = lru_cache(maxsize=_CACHE, typed=True)(self._encode)
        self._decode = lru_cache(maxsize=_CACHE)(self._decode_uncached)

    def _encode(self, kind: str, number: int) -> str:
        if not isinstance(number, int) or not 0 < number <= MAX_ID:
            raise ValueError(f"not a database id: {number!r}")
        if (shared := SHARED.get(kind)) is not None:
            return kind + self.encode(shared, number)[len(shared) :]
        left, right = number >> 32, number & _HALF
        for f in self._rounds[kind]:
            h = f.copy()
            h.update(right.to_bytes(4, "big"))
            left, right = right, left ^ int.from_bytes(h.digest(), "big")
        return f"{kind}_{(left << 32) | right:016x}"

    def decode(self, kind: str, text: object) -> int | None:
        """The id `text` stands for; None for anything that is not a `kind` id made here."""
        if not isinstance(text, str) or len(text) != len(kind) + 17:
            return None
        return self._decode(kind, text)

    def _decode_uncached(self, kind: str, text: str) -> int | None:
        match = self._texts[kind].fullmatch(text)
        if match is None:
            return None
        block = int(match.group(1), 16)
        left, right = block >> 32, block & _HALF
        for f in self._backwards[kind]:
            h = f.copy()
            h.update(left.to_bytes(4, "big"))
            left, right = right ^ int.from_bytes(h.digest(), "big"), left
        number = (left << 32) | right
        return number if 0 < number <= MAX_ID else None


_codec: Codec | None = None


def use_key(secret: bytes) -> Codec:
    """Make `secret` this process's id key (load() does, from the database)."""
    global _codec
    _codec = Codec(secret)
    return _codec


def codec() -> Codec:
    if _codec is None:
        raise RuntimeError("the id key is not loaded: await walletql.ids.load() at start-up")
    return _codec


def encode(kind: str, number: int) -> str:
    """The public text of the database id `number` of this kind."""
    return codec().encode(kind, number)


def decode(kind: str, text: object) -> int | None:
    """The database id `text` stands for, or None when it is not one (wrong kind, malformed)."""
    return codec().decode(kind, text)


async def read_key() -> bytes:
    """This database's id key, through the ORM's default connection."""
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT secret FROM walletql_keys WHERE name = $1", [KEY_NAME]
    )
    if not rows:
        raise RuntimeError(f"walletql_keys has no {KEY_NAME!r} key: run `walletql migrate`")
    return bytes(rows[0]["secret"])


async def load() -> Codec:
    """Read this database's id key and use it: once per process, after the ORM is open."""
    return use_key(await read_key())
