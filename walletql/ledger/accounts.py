"""Users, sign-in tokens and wallets, with the per-role wallet limits."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from walletql import auth, ids
from walletql.auth import Principal
from walletql.ledger import characters, money, throttle
from walletql.ledger.errors import (
    AlreadyExists,
    Forbidden,
    InvalidCredentials,
    NotAuthenticated,
    NotFound,
    ValidationError,
    WalletLimitReached,
)
from walletql.ledger.money import Currency, get_currency
from walletql.models import Role, Scope, User, Wallet, WalletStatus
from walletql.models.rows import fetch_one
from walletql.settings import Settings

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte password is an attack, not a secret


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime
    user: User


def parse_id(value: object, kind: str, message: str = "Not found") -> int:
    """The database id of a `kind` id (walletql.ids: ids.USER, ids.WALLET, ids.TRANSACTION).

    A str is a public id, as the API shows it: anything that is not one of ours (another kind's
    id, a malformed text, a plain number like "2") is simply not found. An int is a database id
    already, which only Python callers (the CLI, tests) hold: no public input arrives as one,
    GraphQL's ID is always a str.

    `message` is the caller's own not-found message: a malformed id must answer exactly like a
    missing one (same code and same message), or the difference is an oracle."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value <= ids.MAX_ID:
            return value
    elif (number := ids.decode(kind, value)) is not None:
        return number
    raise NotFound(message)


def id_or_none(value: object, kind: str) -> int | None:
    """An id looked up alongside another; a malformed one is reported (as not found) when its
    own check comes."""
    try:
        return parse_id(value, kind)
    except NotFound:
        return None


def named_id(value: object, kind: str) -> int | None:
    """An id a movement names, for the posting functions: None when absent, 0 (which no row
    has) when malformed, so a malformed id is refused exactly where a missing one is."""
    if value is None:
        return None
    number = id_or_none(value, kind)
    return 0 if number is None else number


def fingerprint_id(value: object, kind: str) -> str:
    """An id as a request's fingerprint holds it: the database id, so the same request under
    the same idempotency key is the same whichever form named the row; "None" when absent and
    "invalid" for what names nothing (never a posted request's)."""
    if value is None:
        return "None"
    number = id_or_none(value, kind)
    return "invalid" if number is None else str(number)


def text_input(value: object, field: str, *, max_length: int, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("BAD_INPUT", f"{field} is required", field)
        return None
    if not isinstance(value, str):
        raise ValidationError("BAD_INPUT", f"{field} must be a string", field)
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError("BAD_INPUT", f"{field} is longer than {max_length} characters", field)
    return characters.check(text, field)


def _password(password: object, field: str = "password") -> str:
    """At least 10 characters, not all digits, not only whitespace, no control character
    (nor a lone surrogate). No list of common passwords is checked."""

    def weak(message: str) -> ValidationError:
        return ValidationError("WEAK_PASSWORD", message, field)

    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise weak(f"Password must have at least {MIN_PASSWORD} characters")
    if password.isdigit():
        raise weak("Password must not be all digits")
    if not password.strip():
        raise weak("Password must not be only whitespace")
    if (character := characters.refused(password)) is not None:
        raise weak(f"Password must not contain {characters.describe(character)}")
    if len(password) > MAX_PASSWORD:
        raise ValidationError("BAD_INPUT", "Password is too long", field)
    return password


def normalize_email(email: object) -> str:
    text = email.strip().lower() if isinstance(email, str) else ""
    if len(text) > 254 or not _EMAIL.match(text) or characters.refused(text) is not None:
        raise ValidationError("BAD_EMAIL", "Not a valid email address", "email")
    return text


def _taken_field(error: IntegrityError) -> str:
    text = str(error)
    for field in ("email", "phone", "label"):
        if field in text:
            return field
    return "email"


async def create_user(
    *,
    email: object,
    password: object,
    name: object,
    role: Role | str = Role.CUSTOMER,
    phone: object = None,
    company_name: object = None,
    company_url: object = None,
    allow_operator: bool = False,
    settings: Settings,
) -> User:
    """Validate and store a new user, with a wallet in WALLETQL_SIGNUP_WALLET_CURRENCY when
    `settings` name one. OPERATOR only when `allow_operator` (the CLI)."""
    email = normalize_email(email)
    name = text_input(name, "name", max_length=200)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError("BAD_INPUT", f"Unknown role {role!r}", "role") from None
    if role == Role.OPERATOR and not allow_operator:
        raise ValidationError(
            "BAD_ROLE", "Operator accounts are created by an administrator", "role"
        )
    phone = text_input(phone, "phone", max_length=16, required=False)
    if phone is not None and not _PHONE.match(phone):
        raise ValidationError("BAD_PHONE", "Phone must be E.164, e.g. +34666666666", "phone")
    if role == Role.MERCHANT:
        company_name = text_input(company_name, "company.name", max_length=200)
        company_url = text_input(company_url, "company.url", max_length=500, required=False)
        if company_url is not None and not _URL.match(company_url):
            raise ValidationError("BAD_INPUT", "company.url must be an http(s) URL", "company.url")
    else:
        company_name = company_url = None
    password_hash = await auth.hash_password(_password(password))

    try:
        async with in_transaction():
            user = await User.create(
                email=email,
                password_hash=password_hash,
                name=name,
                phone=phone,
                role=role,
                company_name=company_name,
                company_url=company_url,
            )
            if settings.signup_wallet_currency and role != Role.OPERATOR:
                await _insert_wallet(user, settings.signup_wallet_currency, None, settings)
    except IntegrityError as exc:
        field = _taken_field(exc)
        raise AlreadyExists(f"That {field} is already registered", field) from None
    return user


async def signup(*, settings: Settings, **fields) -> Session:
    user = await create_user(settings=settings, **fields)
    token, expires_at = await auth.issue_token(user, settings.token_ttl_seconds)
    return Session(token, expires_at, user)


async def login(
    email: object, password: object, *, settings: Settings, address: str | None = None
) -> Session:
    """A new session for the right email and password. Throttled (walletql.ledger.throttle)
    per email and per client `address` (None: not counted by address, e.g. the CLI): a wrong
    password and an email nobody has take the same path and the same time (an argon2 check
    against a stand-in hash) and answer the same."""
    raw = email if isinstance(email, str) else ""
    try:
        normalized: str | None = normalize_email(raw)
    except ValidationError:
        normalized = None
    user = await User.get_or_none(email=normalized) if normalized else None
    subject = _lockout_subject(user, normalized)
    attempt = await throttle.begin(normalized or raw, subject, address, settings)
    if not await _checked(attempt, user.password_hash if user else None, password, settings):
        await throttle.failed(attempt, settings)
        raise InvalidCredentials("Email or password is wrong")
    assert user is not None  # a password matched: someone has this email
    await throttle.succeeded(attempt)
    token, expires_at = await auth.issue_token(user, settings.token_ttl_seconds)
    return Session(token, expires_at, user)


_NEW_PASSWORD = """
UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3 RETURNING *
"""


async def change_password(
    actor: Principal,
    current: object,
    new: object,
    *,
    token: str,
    token_digest: str,
    expires_at: datetime,
    settings: Settings,
    live_tokens: auth.LiveTokens,
    address: str | None = None,
) -> Session:
    """A person's new password. The current one is checked as a sign-in is, and throttled with
    the sign-ins of the caller's email (a wrong one counts as a failed sign-in, so a stolen
    token is no way around the lockout). Every other token of the caller is revoked, on every
    process (their websockets close); the calling token (`token`) stays, and so do API keys."""
    actor.require_person("change the password")
    new_password = _password(new, "newPassword")  # before anything is checked or counted
    user = await User.get_or_none(id=actor.user_id)
    if user is None:
        raise NotAuthenticated("Sign in first")
    attempt = await throttle.begin(user.email, _lockout_subject(user, None), address, settings)
    if not await _checked(attempt, user.password_hash, current, settings):
        await throttle.failed(attempt, settings)
        raise InvalidCredentials("The current password is wrong")
    new_hash = await auth.hash_password(new_password)
    async with in_transaction():
        # Only over the password just checked: of two changes at once, the second finds
        # another hash and is refused, as its current password no longer is.
        changed = await fetch_one(User, _NEW_PASSWORD, user.id, new_hash, user.password_hash)
        if changed is not None:
            await auth.revoke_others(user.id, token_digest, live_tokens)
    if changed is None:
        await throttle.failed(attempt, settings)
        raise InvalidCredentials("The current password is wrong")
    await throttle.succeeded(attempt)
    return Session(token, expires_at, changed)


async def _checked(
    attempt: throttle.Attempt, password_hash: str | None, password: object, settings: Settings
) -> bool:
    """Whether `password` matches, for a begun attempt. A caller gone mid-check (a websocket
    closed, its operation cancelled) still ends the attempt, as a failure: left under way, it
    would hold back the email's other sign-ins until throttle.STALE."""
    try:
        return await _password_matches(password_hash, password)
    except asyncio.CancelledError:
        await asyncio.shield(throttle.failed(attempt, settings))
        raise


async def _password_matches(password_hash: str | None, password: object) -> bool:
    secret = password if isinstance(password, str) else ""
    if characters.refused(secret, characters.SURROGATE) is not None:
        secret = ""  # cannot be encoded, so no stored password holds it: simply a wrong one
    return await auth.verify_password(password_hash, secret)


def _lockout_subject(user: User | None, email: str | None) -> str:
    """What a lockout is audited against: the user, or the email no one has."""
    if user is not None:
        return f"User:{user.id}"
    return f"Email:{email}" if email else "Email:(not an email address)"


def wallet_limit(role: Role, settings: Settings) -> int:
    if role == Role.MERCHANT:
        return settings.max_wallets_per_merchant
    if role == Role.CUSTOMER:
        return settings.max_wallets_per_customer
    return 0


async def _insert_wallet(
    user: User, currency_code: str, label: str | None, settings: Settings
) -> Wallet:
    """Insert under the owner's row lock, so concurrent creations cannot pass the limit together."""
    await User.select_for_update(no_key=True).filter(id=user.id).first()
    limit = wallet_limit(Role(user.role), settings)
    if limit and await Wallet.filter(owner_id=user.id).count() >= limit:
        raise WalletLimitReached(f"A {user.role.lower()} may hold at most {limit} wallet(s)", limit)
    return await Wallet.create(
        owner_id=user.id,
        currency=currency_code,
        label=label,
        payment_token=secrets.token_urlsafe(24),  # 192 random bits
        balance=0,
        minimum_balance=settings.minimum_balance,
        version=0,
        status=WalletStatus.ACTIVE,
    )


async def create_wallet(
    actor: Principal,
    currency: object,
    label: object = None,
    *,
    settings: Settings,
    currencies: Mapping[str, Currency],
) -> Wallet:
    """A new wallet in one of `currencies`, within the limits and with the floor `settings`
    give."""
    actor.require_person("open wallets")
    code = get_currency(currencies, currency).code
    label = text_input(label, "label", max_length=100, required=False)
    user = await User.get_or_none(id=actor.user_id)
    if user is None:
        raise Forbidden("Unknown caller")
    try:
        async with in_transaction():
            return await _insert_wallet(user, code, label, settings)
    except IntegrityError:
        raise AlreadyExists(f"You already have a wallet labelled {label!r}", "label") from None


async def owned_wallet(actor: Principal, wallet_id: object) -> Wallet:
    """The caller's wallet; someone else's is NotFound, exactly like a missing one."""
    wallet = await fetch_one(
        Wallet,
        "SELECT * FROM wallets WHERE id = $1 AND owner_id = $2",
        parse_id(wallet_id, ids.WALLET, "Wallet not found"),
        actor.user_id,
    )
    if wallet is None:
        raise NotFound("Wallet not found")
    return wallet


async def user_wallets(
    user_id: int, currency: str | None = None, *, currencies: Mapping[str, Currency]
) -> list[Wallet]:
    """A user's wallets, oldest first; only those in `currency` (one of `currencies`) if given."""
    query = Wallet.filter(owner_id=user_id)
    if currency is not None:
        query = query.filter(currency=get_currency(currencies, currency).code)
    return await query.order_by("id")


def may_read(actor: Principal | None, wallet: Wallet) -> bool:
    """Who may read a wallet: its owner, and operators (who read anything)."""
    return actor is not None and (actor.user_id == wallet.owner_id or actor.is_operator)


def check_reader(actor: Principal | None, wallet: Wallet) -> None:
    """Reading a wallet's ledger (history, holds, summaries): NotFound unless `actor` may read
    it, and Forbidden for an API key without READ (beyond what a posting answers, reading
    needs READ)."""
    if actor is not None:
        actor.require(Scope.READ)
    if not may_read(actor, wallet):
        raise NotFound("Wallet not found")


def payment_token(actor: Principal | None, wallet: Wallet) -> str | None:
    """A wallet's payment token is its owner's secret: anyone else sees None."""
    owns = actor is not None and actor.user_id == wallet.owner_id
    return wallet.payment_token if owns else None


async def balances(
    user_id: int, currency: str | None = None, *, currencies: Mapping[str, Currency]
) -> dict[str, Decimal]:
    """Total balance per currency over a user's wallets, currencies in code order."""
    totals: dict[str, Decimal] = {}
    for wallet in await user_wallets(user_id, currency, currencies=currencies):
        totals[wallet.currency] = money.add(totals.get(wallet.currency, Decimal(0)), wallet.balance)
    return dict(sorted(totals.items()))
