"""Sign-in throttling, kept in PostgreSQL (migration 11) so that it holds across processes and
restarts.

Per email: after WALLETQL_SIGNIN_MAX_FAILURES consecutive failures the email is refused for
WALLETQL_SIGNIN_LOCKOUT_SECONDS, and after that lockout each further failure locks it again for
twice as long, up to WALLETQL_SIGNIN_MAX_LOCKOUT_SECONDS; a success resets it. Per client
address: more than WALLETQL_SIGNIN_MAX_ADDRESS_FAILURES failures in ADDRESS_WINDOW and the
address is refused until enough of them are older. Refused means TooManyAttempts before any
password is checked. Emails nobody registered count exactly like registered ones, so the answers
never tell which emails exist.

Exact under concurrency, on any number of processes: an attempt begins (`begin`, under the
email's row lock) only while the email's failures plus its attempts under way stay below the
threshold, so no more passwords are ever checked at once than failures remain before the
lockout. An attempt that cannot begin yet waits for those under way (BUSY_WAIT): if they fail,
the email is locked and it is refused; if one succeeds, the count starts again and it begins.
So parallel wrong passwords get exactly the threshold's InvalidCredentials, and parallel right
ones all sign in. `failed` and `succeeded` end an attempt; one whose process died checking it
counts as a failure after STALE seconds.

Records are kept only while they count (`forget`, every FORGET_EVERY seconds on every process,
migration 14): an email's until its last attempt and the end of its lockout are FORGET old (a
day, after which its count starts again from nothing), an address's until its last attempt
leaves ADDRESS_WINDOW.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from walletql.ledger.errors import TooManyAttempts
from walletql.models.rows import fetch
from walletql.settings import Settings

ADDRESS_WINDOW = 15 * 60  # seconds: failures per address are counted over this window
LOCKED = "SIGN_IN_LOCKED"  # the audit log's action for a lockout
STALE = 60  # seconds after which an attempt still under way counts as failed (its process died)
BUSY_WAIT = 5.0  # seconds an attempt waits for those under way before it is refused
FORGET = 24 * 3600  # seconds after an email's last attempt and lockout that its record is kept
FORGET_EVERY = 60  # seconds between two rounds of forgetting on each process
_FORGET_BATCH = 1000  # records of each kind deleted per statement
_POLL = 0.05  # seconds between two looks while it waits (an argon2 check takes about this)


@dataclass(frozen=True)
class Attempt:
    """An admitted sign-in attempt, counted as a failure until it succeeds."""

    id: int  # its row among the attempts under way
    email_key: str
    subject: str  # what a lockout is audited against
    address: str | None
    address_number: int | None  # its rank among the address's failures in the window
    address_failure: int | None  # the address's failure row, taken back by a success


def email_key(email: str) -> str:
    """What the throttle knows an email by: the sha256 of its normalised form, whether or not
    anyone registered it."""
    return hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


def _limits(settings: Settings) -> tuple[int, int, int, int]:
    return (
        settings.signin_max_failures,
        settings.signin_max_address_failures,
        settings.signin_lockout_seconds,
        settings.signin_max_lockout_seconds,
    )


async def begin(email: str, subject: str, address: str | None, settings: Settings) -> Attempt:
    """Begin an attempt for `email` from `address` (None: no address is counted, e.g. the CLI),
    waiting while attempts under way decide; or raise TooManyAttempts. `subject` names what a
    lockout is audited against ("User:7", or the email when no one has it)."""
    key = email_key(email)
    deadline = time.monotonic() + BUSY_WAIT
    while True:
        (row,) = await fetch(
            "SELECT * FROM walletql_signin_begin($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            key,
            subject,
            address,
            *_limits(settings),
            ADDRESS_WINDOW,
            STALE,
        )
        if row["attempt"] is not None:
            return Attempt(
                row["attempt"],
                key,
                subject,
                address,
                row["address_attempt"],
                row["address_failure"],
            )
        retry_after = row["retry_after"]
        if retry_after is None and time.monotonic() >= deadline:
            retry_after = 1  # those under way take too long to decide: soon, then
        if retry_after is not None:
            raise TooManyAttempts(
                "Too many failed sign-ins: try again later", retry_after_seconds=retry_after
            )
        await asyncio.sleep(_POLL)


async def failed(attempt: Attempt, settings: Settings) -> None:
    """The attempt's password was wrong."""
    await fetch(
        "SELECT walletql_signin_failed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        attempt.id,
        attempt.email_key,
        attempt.subject,
        attempt.address,
        attempt.address_number,
        *_limits(settings),
        ADDRESS_WINDOW,
    )


async def succeeded(attempt: Attempt) -> None:
    await fetch(
        "SELECT walletql_signin_succeeded($1, $2, $3)",
        attempt.id,
        attempt.email_key,
        attempt.address_failure,
    )


async def forget(forget_seconds: int = FORGET) -> int:
    """Delete the records nothing needs any more (an email's once its last attempt and the end
    of its lockout are `forget_seconds` old, an address's once its last attempt has left
    ADDRESS_WINDOW) and answer how many. Any number of processes may run it at once, and
    sign-ins go on meanwhile: each takes the rows no sign-in holds (FOR UPDATE SKIP LOCKED)."""
    forgotten = 0
    while True:
        (row,) = await fetch(
            "SELECT * FROM walletql_signin_forget($1, $2, $3, $4)",
            forget_seconds,
            ADDRESS_WINDOW,
            STALE,
            _FORGET_BATCH,
        )
        forgotten += row["emails"] + row["addresses"]
        if max(row["emails"], row["addresses"]) < _FORGET_BATCH:
            return forgotten
