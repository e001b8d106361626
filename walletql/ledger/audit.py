"""The audit log: what privileged accounts did, and security events (migration 10's
`audit_events`, append-only). Rows are written by the actions themselves, in their own
transaction (freezing, operators' postings, keys, lockouts); this module reads them.

A row's subject names a row by database id ("Wallet:12"); the API shows and takes it with the
public id ("Wallet:wal_3b0c..."). A subject that is not a row ("Email:...") is shown as kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from walletql import ids
from walletql.auth import Principal
from walletql.ledger.errors import Forbidden, ValidationError
from walletql.ledger.reads import MAX_PAGE
from walletql.models.rows import fetch

# The kinds of row a subject may name, with their public ids' kind.
SUBJECT_KINDS = {
    "User": ids.USER,
    "Wallet": ids.WALLET,
    "Transaction": ids.TRANSACTION,
    "Hold": ids.HOLD,
    "ApiKey": ids.API_KEY,
}
MAX_FILTER = 300


@dataclass(frozen=True)
class AuditEvent:
    id: int
    action: str
    actor_id: int | None
    subject: str  # as the API shows it
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    has_next_page: bool


def shown_subject(stored: str) -> str:
    kind, _, number = stored.partition(":")
    if kind in SUBJECT_KINDS and number.isdigit():
        return f"{kind}:{ids.encode(SUBJECT_KINDS[kind], int(number))}"
    return stored


def stored_subject(shown: str) -> str | None:
    """The stored form of a subject as the API shows it; None when it names no row of ours."""
    kind, _, public = shown.partition(":")
    if kind in SUBJECT_KINDS:
        number = ids.decode(SUBJECT_KINDS[kind], public)
        return None if number is None else f"{kind}:{number}"
    return shown


_PAGE = """
SELECT * FROM audit_events
WHERE id < $1 AND ($2::varchar IS NULL OR action = $2) AND ($3::varchar IS NULL OR subject = $3)
ORDER BY id DESC LIMIT $4
"""


async def audit_log(
    actor: Principal,
    first: int,
    after: str | None,
    action: str | None,
    subject: str | None,
) -> AuditPage:
    """Operators only: the log, newest first, optionally of one action and one subject."""
    if not actor.is_operator:
        raise Forbidden("Only operators may read the audit log")
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError("BAD_INPUT", f"first must be from 1 to {MAX_PAGE}", "first")
    before = ids.MAX_ID
    if after is not None:
        number = ids.decode(ids.AUDIT_EVENT, after)
        if number is None:
            raise ValidationError(
                "BAD_CURSOR", "Invalid cursor: pass an endCursor you were given", "after"
            )
        before = number
    for name, value in (("action", action), ("subject", subject)):
        if value is not None and len(value) > MAX_FILTER:
            raise ValidationError("BAD_INPUT", f"{name} is longer than {MAX_FILTER}", name)
    stored = None
    if subject is not None:
        stored = stored_subject(subject)
        if stored is None:  # names nothing: nothing happened to it
            return AuditPage([], False)
    rows = await fetch(_PAGE, before, action, stored, first + 1)
    events = [
        AuditEvent(
            id=r["id"],
            action=r["action"],
            actor_id=r["actor_id"],
            subject=shown_subject(r["subject"]),
            reason=r["reason"],
            created_at=r["created_at"],
        )
        for r in rows[:first]
    ]
    return AuditPage(events, len(rows) > first)
