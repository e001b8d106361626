"""Users, sign-in tokens and wallets: validation, uniqueness, credentials, token lifetimes."""

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections

from tests.calls import ledger
from walletql import auth
from walletql.auth import principal_of
from walletql.ledger.errors import (
    AlreadyExists,
    Forbidden,
    InvalidCredentials,
    ValidationError,
    WalletLimitReached,
)
from walletql.models import AuthToken, Role, User, Wallet

GOOD = "correct horse battery"


def email() -> str:
    return f"A{secrets.token_hex(6)}@Example.COM"


async def new_user(on=ledger, **fields):
    values = {"email": email(), "password": GOOD, "name": "Ada"} | fields
    return await on.create_user(**values)


async def test_create_user_stores_a_normalised_email_and_a_hash(database_url):
    address = email()
    user = await new_user(email=f"  {address} ", phone=f"+3466{secrets.randbelow(10**7):07d}")
    assert user.email == address.lower() and user.role == Role.CUSTOMER
    assert user.password_hash.startswith("$argon2id$") and GOOD not in user.password_hash


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"password": "short"}, "WEAK_PASSWORD", "password"),
        ({"password": "123456789"}, "WEAK_PASSWORD", "password"),
        ({"password": "12345678901234"}, "WEAK_PASSWORD", "password"),
        ({"password": None}, "WEAK_PASSWORD", "password"),
        ({"email": "not-an-email"}, "BAD_EMAIL", "email"),
        ({"email": "a@b"}, "BAD_EMAIL", "email"),
        ({"email": "two@@example.com"}, "BAD_EMAIL", "email"),
        ({"email": None}, "BAD_EMAIL", "email"),
        ({"phone": "666666666"}, "BAD_PHONE", "phone"),
        ({"phone": "+0123456789"}, "BAD_PHONE", "phone"),
        ({"phone": "+34 666 666 666"}, "BAD_PHONE", "phone"),
        ({"name": "   "}, "BAD_INPUT", "name"),
        ({"role": Role.MERCHANT}, "BAD_INPUT", "company.name"),
        (
            {"role": Role.MERCHANT, "company_name": "Shop", "company_url": "ftp://x"},
            "BAD_INPUT",
            "company.url",
        ),
        ({"role": "ADMIN"}, "BAD_INPUT", "role"),
        ({"role": Role.OPERATOR}, "BAD_ROLE", "role"),
        ({"role": "OPERATOR"}, "BAD_ROLE", "role"),
    ],
)
async def test_create_user_validation(database_url, fields, code, field):
    values = {"email": email()} | fields
    with pytest.raises(ValidationError) as info:
        await new_user(**values)
    assert (info.value.code, info.value.field) == (code, field)
    if isinstance(values["email"], str) and "@" in values["email"]:
        assert not await User.filter(email=values["email"].strip().lower()).exists()


async def test_merchants_and_operators(database_url):
    shop = await new_user(
        role="MERCHANT", company_name=" Shop Ltd ", company_url="https://shop.example"
    )
    assert (shop.role, shop.company_name) == (Role.MERCHANT, "Shop Ltd")
    customer = await new_user(company_name="ignored for customers")
    assert customer.company_name is None
    admin = await new_user(role=Role.OPERATOR, allow_operator=True)
    assert admin.role == Role.OPERATOR


async def test_duplicate_email_and_phone(database_url):
    phone = f"+4475{secrets.randbelow(10**8):08d}"
    first = await new_user(phone=phone)
    with pytest.raises(AlreadyExists) as info:
        await new_user(email=first.email.upper())
    assert info.value.field == "email"
    with pytest.raises(AlreadyExists) as info:
        await new_user(phone=phone)
    assert info.value.field == "phone"
    assert await User.filter(phone=phone).count() == 1


async def test_concurrent_signups_with_one_email(database_url):
    address = email()
    calls = [new_user(email=address if i % 2 else address.upper()) for i in range(6)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["AlreadyExists"] * 5 + ["User"]
    assert await User.filter(email=address.lower()).count() == 1


async def test_login_good_and_bad(database_url):
    user = await new_user()
    session = await ledger.login(f" {user.email.upper()} ", GOOD)
    assert session.user.id == user.id and len(session.token) >= 40
    found = await auth.authenticate(session.token, ledger.live_tokens)
    assert found is not None and found[0].id == user.id
    assert found[1] == auth.token_digest(session.token)
    # Only the digest is stored, never the token.
    assert not await AuthToken.filter(token_hash=session.token).exists()
    for address, password in [
        (user.email, GOOD + "x"),
        (user.email, ""),
        (user.email, None),
        ("nobody-" + user.email, GOOD),
        ("not an email", GOOD),
        (None, GOOD),
    ]:
        with pytest.raises(InvalidCredentials):
            await ledger.login(address, password)


async def test_signup_issues_a_working_token(database_url):
    session = await ledger.signup(email=email(), password=GOOD, name="Bea")
    assert (await auth.authenticate(session.token, ledger.live_tokens))[0].id == session.user.id


async def test_revoked_and_expired_tokens_authenticate_nobody(database_url):
    user = await new_user()
    revoked = await ledger.login(user.email, GOOD)
    expired = await ledger.login(user.email, GOOD)
    live = await ledger.login(user.email, GOOD)
    assert await auth.revoke(auth.token_digest(revoked.token), ledger.live_tokens)
    assert not await auth.revoke(
        auth.token_digest(revoked.token), ledger.live_tokens
    )  # already revoked
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await connections.get("default").execute_script(
        f"UPDATE auth_tokens SET expires_at = '{past}' "
        f"WHERE token_hash = '{auth.token_digest(expired.token)}'"
    )
    assert await auth.authenticate(revoked.token, ledger.live_tokens) is None
    assert await auth.authenticate(expired.token, ledger.live_tokens) is None
    assert (await auth.authenticate(live.token, ledger.live_tokens))[0].id == user.id
    for junk in (None, "", live.token + "x", live.token[:-1], "x" * 201):
        assert await auth.authenticate(junk, ledger.live_tokens) is None


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        (None, None),
        ("abc", None),
    ],
)
def test_bearer_token(header, token):
    assert auth.bearer_token(header) == token


async def test_wallet_labels_are_unique_per_owner_case_insensitively(database_url):
    owner, other = principal_of(await new_user()), principal_of(await new_user())
    first = await ledger.create_wallet(owner, "USD", " Savings ")
    assert first.label == "Savings"
    with pytest.raises(AlreadyExists) as info:
        await ledger.create_wallet(owner, "EUR", "SAVINGS")
    assert info.value.field == "label"
    await ledger.create_wallet(other, "USD", "savings")  # another owner may use it
    await ledger.create_wallet(owner, "USD")  # unlabelled wallets never clash
    await ledger.create_wallet(owner, "USD")
    assert await Wallet.filter(owner_id=owner.user_id).count() == 3


async def test_payment_tokens_are_distinct_and_long(database_url):
    owner = principal_of(await new_user())
    wallets = [await ledger.create_wallet(owner, "CREDIT") for _ in range(20)]
    tokens = {w.payment_token for w in wallets}
    assert len(tokens) == 20
    assert all(len(t) >= 32 for t in tokens)  # token_urlsafe(24): 192 random bits
    assert all(w.balance == 0 and w.version == 0 and w.status == "ACTIVE" for w in wallets)


async def test_wallet_limits_by_role(database_url):
    shop = principal_of(await new_user(role="MERCHANT", company_name="Shop"))
    await ledger.create_wallet(shop, "USD")
    with pytest.raises(WalletLimitReached) as info:
        await ledger.create_wallet(shop, "EUR")
    assert info.value.limit == 1
    unlimited = ledger.with_settings(max_wallets_per_merchant=0)  # 0 = unlimited
    await unlimited.create_wallet(shop, "EUR")
    customer = principal_of(await new_user())
    for currency in ("USD", "USD", "EUR", "BTC", "ETH"):  # customers: unlimited by default
        await ledger.create_wallet(customer, currency)
    with pytest.raises(WalletLimitReached):
        await ledger.with_settings(max_wallets_per_customer=5).create_wallet(customer, "USD")


async def test_signup_wallet_currency(database_url):
    credits = ledger.with_settings(signup_wallet_currency="CREDIT")
    user = await new_user(credits)
    admin = await new_user(credits, role=Role.OPERATOR, allow_operator=True)
    assert [w.currency for w in await ledger.user_wallets(user.id)] == ["CREDIT"]
    assert await ledger.user_wallets(admin.id) == []
    assert await ledger.user_wallets(user.id, "usd") == []


async def test_unknown_caller_cannot_create_a_wallet(database_url):
    ghost = auth.Principal(user_id=2**62, role=Role.CUSTOMER)
    with pytest.raises(Forbidden):
        await ledger.create_wallet(ghost, "USD")
