"""What operators do beyond postings: find users, read any of them, freeze and unfreeze
wallets. Everyone else may read only themselves; wallet status changes are audited in the same
transaction (migration 10's walletql_set_wallet_status)."""

from __future__ import annotations

from dataclasses import dataclass

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import characters
from walletql.ledger.accounts import parse_id, text_input
from walletql.ledger.errors import Forbidden, NotFound, ValidationError
from walletql.ledger.reads import MAX_PAGE
from walletql.models import Role, User, Wallet, WalletStatus
from walletql.models.rows import fetch_all, fetch_one

MAX_SEARCH = 200
MAX_REASON = 500


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    has_next_page: bool


# Case-insensitive "contains" on each searchable column; the id keyset makes each page one
# backward scan of the primary key, stopping once the page is full.
_USERS = """
SELECT * FROM users
WHERE id < $1
  AND ($2::varchar IS NULL OR email ILIKE $2 OR name ILIKE $2 OR phone ILIKE $2
       OR company_name ILIKE $2)
  AND ($3::varchar IS NULL OR role = $3)
ORDER BY id DESC LIMIT $4
"""


def _pattern(search: str | None) -> str | None:
    if search is None or not search.strip():
        return None
    text = search.strip()
    if len(text) > MAX_SEARCH:
        raise ValidationError("BAD_INPUT", f"search is longer than {MAX_SEARCH}", "search")
    characters.check(text, "search")
    # Taken literally: LIKE's wildcards and its escape character are escaped.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find_users(
    actor: Principal, search: str | None, role: Role | None, first: int, after: str | None
) -> UserPage:
    """Operators only: users whose email, name, phone or company name contains `search`."""
    if not actor.is_operator:
        raise Forbidden("Only operators may search users")
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError("BAD_INPUT", f"first must be from 1 to {MAX_PAGE}", "first")
    before = ids.MAX_ID
    if after is not None:
        number = ids.decode(ids.USER, after)
        if number is None:
            raise ValidationError(
                "BAD_CURSOR", "Invalid cursor: pass an endCursor you were given", "after"
            )
        before = number
    role_code = None if role is None else Role(role).value
    rows = await fetch_all(User, _USERS, before, _pattern(search), role_code, first + 1)
    return UserPage(rows[:first], len(rows) > first)


async def user_for(actor: Principal, user_id: object) -> User:
    """Operators: any user. Anyone else: only themselves; another is NotFound."""
    number = parse_id(user_id, ids.USER, "User not found")
    if number != actor.user_id and not actor.is_operator:
        raise NotFound("User not found")
    user = await fetch_one(User, "SELECT * FROM users WHERE id = $1", number)
    if user is None:
        raise NotFound("User not found")
    return user


async def readable_wallet(actor: Principal, wallet_id: object) -> Wallet:
    """The caller's wallet, any wallet for an operator; else NotFound, like a missing one."""
    wallet = await fetch_one(
        Wallet,
        "SELECT * FROM wallets WHERE id = $1 AND (owner_id = $2 OR $3)",
        parse_id(wallet_id, ids.WALLET, "Wallet not found"),
        actor.user_id,
        actor.is_operator,
    )
    if wallet is None:
        raise NotFound("Wallet not found")
    return wallet


async def set_wallet_status(
    actor: Principal, wallet_id: object, status: WalletStatus, reason: object
) -> Wallet:
    """Operators only, signed in (not with a key): `status` on the wallet, with the reason
    kept in the audit log. Setting the status a wallet has answers it unchanged."""
    action = "freeze" if status == WalletStatus.FROZEN else "unfreeze"
    if not actor.is_operator:
        raise Forbidden(f"Only operators may {action} wallets")
    actor.require_person(f"{action} wallets")
    why = text_input(reason, "reason", max_length=MAX_REASON)
    number = parse_id(wallet_id, ids.WALLET, "Wallet not found")
    wallet = await fetch_one(
        Wallet,
        "SELECT * FROM walletql_set_wallet_status($1, $2, $3, $4)",
        actor.user_id,
        number,
        status.value,
        why,
    )
    if wallet is None:
        raise NotFound("Wallet not found")
    return wallet
