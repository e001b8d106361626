"""The sign-in throttle forgets what no longer counts (throttle.forget, migration 14): an email's
record a day after its last attempt and the end of its lockout, an address's once its last
attempt has left the window; never a record that still counts, never an attempt under way, and
never a row a sign-in is using (forgetting runs while sign-ins go on, on any process).

Time passing is written into the rows (their last attempt moved back), as the tests of lockouts
do. Other tests' servers forget too, on the same database: these tests look at the rows, not at
how many one call forgot."""

from __future__ import annotations

import asyncio
import secrets

from tortoise import connections

from walletql.ledger import throttle
from walletql.ledger.errors import TooManyAttempts
from walletql.settings import Settings

SETTINGS = Settings()  # 5 failures per email, 100 per address in throttle.ADDRESS_WINDOW
DAY = throttle.FORGET


def new_email() -> str:
    return f"forget-{secrets.token_hex(6)}@example.com"


def new_address() -> str:
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"  # documentation prefix


async def sql(query: str, *args) -> list[dict]:
    return await connections.get("default").execute_query_dict(query, list(args))


async def fail(email: str, address: str | None = None) -> None:
    attempt = await throttle.begin(email, "Email:test", address, SETTINGS)
    await throttle.failed(attempt, SETTINGS)


async def succeed(email: str, address: str | None = None) -> None:
    attempt = await throttle.begin(email, "Email:test", address, SETTINGS)
    await throttle.succeeded(attempt)


async def email_record(email: str) -> dict | None:
    rows = await sql(
        "SELECT failures, lockouts, coalesce(locked_until > now(), false) AS locked "
        "FROM signin_emails "
        "WHERE email_hash = $1",
        throttle.email_key(email),
    )
    return rows[0] if rows else None


async def address_failures(address: str) -> int | None:
    """The address's failure rows, or None when it has no record at all."""
    rows = await sql(
        "SELECT count(f.id) AS n FROM signin_addresses AS a "
        "LEFT JOIN signin_address_failures AS f ON f.address = a.address "
        "WHERE a.address = $1 GROUP BY a.address",
        address,
    )
    return rows[0]["n"] if rows else None


async def email_ages(email: str, seconds: float, *, lockout_too: bool = False) -> None:
    """`seconds` pass for the email's record: its last attempt (and lockout) move back."""
    lockout = ", locked_until = locked_until - make_interval(secs => $2)" if lockout_too else ""
    await sql(
        "UPDATE signin_emails SET last_attempt_at = last_attempt_at - make_interval(secs => $2)"
        f"{lockout} WHERE email_hash = $1",
        throttle.email_key(email),
        seconds,
    )


async def address_ages(address: str, seconds: float) -> None:
    await sql(
        "UPDATE signin_addresses SET last_attempt_at = last_attempt_at - make_interval(secs => $2)"
        " WHERE address = $1",
        address,
        seconds,
    )
    await sql(
        "UPDATE signin_address_failures SET failed_at = failed_at - make_interval(secs => $2)"
        " WHERE address = $1",
        address,
        seconds,
    )


async def test_failures_count_for_a_day_after_the_last_attempt_then_start_again(database_url):
    email = new_email()
    for _ in range(3):
        await fail(email)
    await email_ages(email, DAY - 60)
    await throttle.forget()
    assert await email_record(email) == {"failures": 3, "lockouts": 0, "locked": False}
    # Still counting: two more lock it.
    await fail(email)
    await fail(email)
    assert (await email_record(email))["locked"] is True

    other = new_email()
    for _ in range(4):
        await fail(other)
    await email_ages(other, DAY + 1)
    await throttle.forget()
    assert await email_record(other) is None
    # Its count starts again from nothing: four more failures lock nothing.
    for _ in range(4):
        await fail(other)
    assert await email_record(other) == {"failures": 4, "lockouts": 0, "locked": False}


async def test_a_lockout_is_kept_until_a_day_after_it_ends(database_url):
    email = new_email()
    for _ in range(5):
        await fail(email)
    # Its last attempt long ago, its lockout still in force: kept, and still refusing.
    await email_ages(email, 3 * DAY)
    await throttle.forget()
    assert (await email_record(email))["locked"] is True
    try:
        await throttle.begin(email, "Email:test", None, SETTINGS)
        raise AssertionError("a locked email began an attempt")
    except TooManyAttempts:
        pass
    # The lockout ended a little less than a day ago: kept, and the next failure doubles it.
    await sql(
        "UPDATE signin_emails SET locked_until = now() - make_interval(secs => $2) "
        "WHERE email_hash = $1",
        throttle.email_key(email),
        DAY - 60,
    )
    await email_ages(email, 3 * DAY)  # the refused attempt was an attempt too
    await throttle.forget()
    assert await email_record(email) == {"failures": 5, "lockouts": 1, "locked": False}
    # A day after it ended: forgotten.
    await email_ages(email, 120, lockout_too=True)
    await throttle.forget()
    assert await email_record(email) is None


async def test_a_success_is_forgotten_a_day_later_and_an_attempt_under_way_never(database_url):
    done, under_way = new_email(), new_email()
    await succeed(done)
    assert await email_record(done) == {"failures": 0, "lockouts": 0, "locked": False}
    attempt = await throttle.begin(under_way, "Email:test", None, SETTINGS)
    # Forgetting at once (no day to wait) still keeps the attempt begun just now.
    await email_ages(done, DAY + 1)
    await throttle.forget(forget_seconds=0)
    assert await email_record(done) is None
    assert await email_record(under_way) is not None
    await throttle.failed(attempt, SETTINGS)
    assert (await email_record(under_way))["failures"] == 1


async def test_an_abandoned_attempt_goes_with_its_email(database_url):
    email = new_email()
    await throttle.begin(email, "Email:test", None, SETTINGS)  # its process dies checking it
    key = throttle.email_key(email)
    await sql(
        "UPDATE signin_attempts SET started_at = started_at - make_interval(secs => $2) "
        "WHERE email_hash = $1",
        key,
        DAY + 1,
    )
    await email_ages(email, DAY + 1)
    await throttle.forget()
    assert await email_record(email) is None
    assert await sql("SELECT id FROM signin_attempts WHERE email_hash = $1", key) == []


async def test_an_address_is_forgotten_once_its_last_attempt_left_the_window(database_url):
    kept, gone = new_address(), new_address()
    for address in (kept, gone):
        await fail(new_email(), address)
        await fail(new_email(), address)
    await address_ages(kept, throttle.ADDRESS_WINDOW - 60)
    await address_ages(gone, throttle.ADDRESS_WINDOW + 1)
    await throttle.forget()
    assert await address_failures(kept) == 2
    assert await address_failures(gone) is None  # the row and its failures
    # Tried again: a record of its own again, counting from nothing.
    await fail(new_email(), gone)
    assert await address_failures(gone) == 1


async def test_a_full_address_stays_refused_until_its_failures_leave_the_window(database_url):
    settings = Settings(signin_max_address_failures=2)
    address = new_address()
    for _ in range(3):
        attempt = await throttle.begin(new_email(), "Email:test", address, settings)
        await throttle.failed(attempt, settings)
    await throttle.forget(forget_seconds=0)
    try:
        await throttle.begin(new_email(), "Email:test", address, settings)
        raise AssertionError("a refused address began an attempt")
    except TooManyAttempts:
        pass
    assert await address_failures(address) == 3


async def test_forgetting_while_the_same_emails_sign_in_never_fails_a_sign_in(database_url):
    """Rounds of forgetting (each record made forgettable first) race sign-ins on the same
    emails and addresses: every attempt begins on a locked row of its own email, never on one
    deleted under it (which would end in a foreign-key error), and nothing is left over."""
    emails = [new_email() for _ in range(4)]
    address = new_address()
    stop = asyncio.Event()

    async def forgetting() -> int:
        rounds = 0
        while not stop.is_set():
            await sql(
                "UPDATE signin_emails SET last_attempt_at = now() - interval '2 days' "
                "WHERE email_hash = ANY($1)",
                [throttle.email_key(e) for e in emails],
            )
            await address_ages(address, throttle.ADDRESS_WINDOW + 1)
            await throttle.forget()
            rounds += 1
        return rounds

    async def signing_in(email: str) -> None:
        for number in range(80):
            if number % 2:
                await succeed(email, address)
            else:
                await fail(email, address)

    forgetter = asyncio.create_task(forgetting())
    try:
        await asyncio.gather(*(signing_in(email) for email in emails))
    finally:
        stop.set()
        rounds = await forgetter
    assert rounds > 0
    # Each email ended on a success: its record, if kept, counts nothing.
    for email in emails:
        assert await email_record(email) in (None, {"failures": 0, "lockouts": 0, "locked": False})
    assert (
        await sql(
            "SELECT id FROM signin_attempts WHERE email_hash = ANY($1)",
            [throttle.email_key(e) for e in emails],
        )
        == []
    )
