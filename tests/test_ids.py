"""Public ids (walletql/ids.py): a keyed permutation of the database's integer ids, per kind."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from walletql import ids

KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))
EDGES = [1, 2, 3, 41, 42, 1000, 2**32 - 1, 2**32, 2**32 + 1, 2**62, ids.MAX_ID - 1, ids.MAX_ID]


def test_ids_round_trip_and_a_restarted_codec_shows_the_same_ids():
    first = ids.Codec(KEY)
    restarted = ids.Codec(KEY)  # what another process, or this one after a restart, builds
    numbers = EDGES + random.Random(1).sample(range(1, ids.MAX_ID), 2000)
    for kind in ids.KINDS:
        for number in numbers:
            text = first.encode(kind, number)
            assert re.fullmatch(f"{kind}_[0-9a-f]{{16}}", text), text
            assert restarted.encode(kind, number) == text
            assert restarted.decode(kind, text) == number


def test_another_key_shows_other_ids():
    one, other = ids.Codec(KEY), ids.Codec(OTHER_KEY)
    numbers = range(1, 2001)
    texts = [one.encode(ids.WALLET, n) for n in numbers]
    assert set(texts).isdisjoint(other.encode(ids.WALLET, n) for n in numbers)
    # One deployment's ids mean nothing to another: none names the same row there.
    assert all(other.decode(ids.WALLET, text) != n for n, text in zip(numbers, texts, strict=True))


def test_the_codec_is_a_permutation_on_a_sample():
    codec = ids.Codec(KEY)
    sample = list(range(1, 50_001)) + random.Random(2).sample(range(50_001, ids.MAX_ID), 50_000)
    texts = [codec._encode(ids.TRANSACTION, n) for n in sample]  # past the cache
    assert len(set(texts)) == len(sample) == 100_000  # no collisions
    assert [codec._decode_uncached(ids.TRANSACTION, t) for t in texts] == sample


def test_every_well_formed_text_is_one_id_or_none():
    """Half of all 64-bit blocks decode past the largest bigint: those name nothing. Every other
    text is exactly one id, and that id's text is it again (one text per id)."""
    codec = ids.Codec(KEY)
    rng = random.Random(3)
    texts = [f"wal_{rng.getrandbits(64):016x}" for _ in range(4000)]
    decoded = [codec.decode(ids.WALLET, t) for t in texts]
    assert 0.45 < sum(d is None for d in decoded) / len(texts) < 0.55
    assert all(
        codec.encode(ids.WALLET, d) == t
        for d, t in zip(decoded, texts, strict=True)
        if d is not None
    )


def test_consecutive_ids_look_unrelated():
    """Sequential ids give scattered texts: no small gaps between neighbours, and every bit of
    the text is set for about half of them (a counter, even a disguised one, fails both)."""
    codec = ids.Codec(KEY)
    blocks = [int(codec.encode(ids.WALLET, n)[4:], 16) for n in range(1, 10_001)]
    assert min(abs(a - b) for a, b in itertools.pairwise(blocks)) > 2**32
    for bit in range(64):
        share = sum(block >> bit & 1 for block in blocks) / len(blocks)
        assert 0.45 < share < 0.55, (bit, share)


def test_each_kind_is_its_own_permutation():
    codec = ids.Codec(KEY)
    numbers = range(1, 2001)
    hexes = {kind: [codec.encode(kind, n)[len(kind) + 1 :] for n in numbers] for kind in ids.KINDS}
    separate = [ids.USER, ids.WALLET, ids.TRANSACTION]
    for kind in separate:
        for other in separate:
            if other != kind:
                assert set(hexes[kind]).isdisjoint(hexes[other]), (kind, other)
    # A cursor names its transaction with the transaction's permutation, under its own prefix.
    assert hexes[ids.CURSOR] == hexes[ids.TRANSACTION]
    assert codec.decode(ids.CURSOR, codec.encode(ids.TRANSACTION, 5)) is None
    assert codec.decode(ids.TRANSACTION, codec.encode(ids.CURSOR, 5)) is None
    for n, wallet in zip(numbers, hexes[ids.WALLET], strict=True):
        # A wallet's id is no user's: as given, nor with its prefix swapped.
        assert codec.decode(ids.USER, f"wal_{wallet}") is None
        assert codec.decode(ids.USER, f"usr_{wallet}") != n


def _not_ids(valid: str) -> list[object]:
    body = valid[4:]
    return [
        "42", "0", "-1", "", "wal_", "wal", valid.upper(), "WAL_" + body, "wal-" + body,
        valid[:-1], valid + "0", "0" + valid, " " + valid, valid + " ", valid + "\n",
        "wal_0x" + body[2:], "wal_+" + body[1:], "wal_-" + body[1:], f"wal_{body[:8]}_{body[9:]}",
        "wal_" + body.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        "wal_" + body.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        "usr_" + body, "txn_" + body, "cur_" + body, "wal_" + "f" * 16 + "0",
        42, 42.0, None, True, valid.encode(), [valid], {"id": valid},
    ]  # fmt: skip


def test_anything_else_is_not_an_id():
    codec = ids.Codec(KEY)
    valid = codec.encode(ids.WALLET, 42)
    assert codec.decode(ids.WALLET, valid) == 42
    for text in _not_ids(valid):
        # Another kind's text may decode as that kind, never as this one.
        assert codec.decode(ids.WALLET, text) is None, text


def test_encode_refuses_what_is_no_database_id():
    codec = ids.Codec(KEY)
    for number in (0, -1, ids.MAX_ID + 1, 2**64, "1", 1.0, None):
        with pytest.raises(ValueError):
            codec.encode(ids.WALLET, number)
    for key in (b"", b"short", bytes(65)):
        with pytest.raises(ValueError):
            ids.Codec(key)


async def test_the_key_is_made_once_per_database_and_kept(database_url):
    key = await ids.read_key()
    assert len(key) == 32 and key == await ids.read_key()
    assert key not in (bytes(32), KEY)
    # The process loaded it at start-up: its ids are this key's.
    assert ids.encode(ids.WALLET, 7) == ids.Codec(key).encode(ids.WALLET, 7)
    db = connections.get("default")
    for change in (
        "UPDATE walletql_keys SET secret = sha256(secret) WHERE name = 'ids'",
        "DELETE FROM walletql_keys WHERE name = 'ids'",
        "TRUNCATE walletql_keys",
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            await db.execute_script(change)
    assert await ids.read_key() == key
