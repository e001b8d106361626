"""Sign-in throttling, kept in PostgreSQL (migration 11) so that it holds across processes and
restarts.

Per email: after WALLETQL_SIGNIN_MAX_FAILURES consecutive failures the email is refused for
WALLETQL_SIGNIN_LOCKOUT_SECONDS, and after that lockout each further failure locks it again for
twice as long, up to WALLETQL_SIGNIN_MAX_LOCKOUT_SECONDS; a success resets it. Per client
address: more than WALLETQL_SIGNIN_MAX_ADDRESS_FAILURES failures in ADDRESS_WINDOW and the
address is refused until enough of them are older. Refused means TooManyAttempts before any
password is checked. Emails nobody registered count exactly like registered ones, so the answers
never tell which emails exist.

An attempt is reserved before its password is checked (`begin`: counted as a failure, under the
email's row lock), so parallel attempts on any number of processes are admitted exactly up to the
threshold; `succeeded` takes the reservation back, `failed` keeps it and locks when it was the
attempt that reached the threshold. An attempt whose process dies between the two stays a
failure: the safe side.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from walletql.ledger.errors import TooManyAttempts
from walletql.models.rows import fetch
from walletql.settings import Settings

ADDRESS_WINDOW = 15 * 60  # seconds: failures per address are counted over this window
LOCKED = "SIGN_IN_LOCKED"  # the audit log's action for a lockout


@dataclass(frozen=True)
class Attempt:
    """An admitted sign-in attempt, counted as a failure until it succeeds."""

    email_key: str
    address: str | None
    number: int  # the email's consecutive failures, this one included
    resets: int  # the email's successes when it began
    address_number: int | None  # its rank among the address's failures in the window
    address_failure: int | None  # the address's failure row that reserved it


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


async def begin(email: str, address: str | None, settings: Settings) -> Attempt:
    """Reserve an attempt for `email` from `address` (None: no address is counted, e.g. the
    CLI), or raise TooManyAttempts."""
    key = email_key(email)
    (row,) = await fetch(
        "SELECT * FROM walletql_signin_begin($1, $2, $3, $4, $5, $6, $7)",
        key,
        address,
        *_limits(settings),
        ADDRESS_WINDOW,
    )
    if row["retry_after"] is not None:
        raise TooManyAttempts(
            "Too many failed sign-ins: try again later", retry_after_seconds=row["retry_after"]
        )
    return Attempt(
        key,
        address,
        row["attempt"],
        row["resets"],
        row["address_attempt"],
        row["address_failure"],
    )


async def failed(attempt: Attempt, subject: str, settings: Settings) -> None:
    """The attempt's password was wrong. `subject` names what a lockout is audited against
    ("User:7", or the email when no one has it)."""
    await fetch(
        "SELECT walletql_signin_failed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        attempt.email_key,
        attempt.number,
        attempt.resets,
        subject,
        attempt.address,
        attempt.address_number,
        *_limits(settings),
        ADDRESS_WINDOW,
    )


async def succeeded(attempt: Attempt) -> None:
    await fetch(
        "SELECT walletql_signin_succeeded($1, $2)", attempt.email_key, attempt.address_failure
    )
