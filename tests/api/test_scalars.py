"""DateTime answers: always UTC, always with a Z, whatever offset the value carried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from walletql.schema.scalars import _serialize_datetime


def test_datetimes_are_answered_in_utc_with_a_z():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert _serialize_datetime(at) == "2026-01-02T03:04:05Z"
    assert _serialize_datetime(at.replace(microsecond=120)) == "2026-01-02T03:04:05.000120Z"
    plus_two = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert _serialize_datetime(plus_two) == "2026-01-02T03:04:05Z"
    zero_offset = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0), "GMT"))
    assert _serialize_datetime(zero_offset) == "2026-01-02T03:04:05Z"
