"""The operators' back office through the API: finding users, reading anyone's wallets and
transactions, freezing and unfreezing wallets, and the audit log of what operators did."""

from __future__ import annotations

import secrets

import asyncpg
import pytest

from tests.api.conftest import new_key
from tests.api.holds import authorize, capture, held, parties, refund, state, void
from walletql import ids

USERS = """query($search: String, $role: Role, $first: Int, $after: String) {
    users(search: $search, role: $role, first: $first, after: $after) {
        edges { cursor node { id email name phone role company { name } } }
        pageInfo { hasNextPage endCursor } } }"""
AUDIT = """query($first: Int, $after: String, $action: String, $subject: String) {
    auditLog(first: $first, after: $after, action: $action, subject: $subject) {
        edges { cursor node { id action actor { id email } subject reason createdAt } }
        pageInfo { hasNextPage endCursor } } }"""
STATUS = """mutation($input: WalletStatusInput!) {{ {name}(input: $input) {{
    __typename ... on WalletPayload {{ wallet {{ id status balance version }} }}
    ... on Error {{ code message }} ... on ValidationError {{ field }} }} }}"""


async def set_status(gql, caller: dict | None, name: str, wallet_id: str, reason="Fraud check"):
    body = await gql(
        STATUS.format(name=name),
        {"input": {"walletId": wallet_id, "reason": reason}},
        caller["token"] if caller else None,
    )
    return body["data"][name]


async def audit(gql, operator: dict, **filters) -> list[dict]:
    data = await gql.ok(AUDIT, {"first": 100, **filters}, operator["token"])
    return [e["node"] for e in data["auditLog"]["edges"]]


# --- finding users -----------------------------------------------------------------------------


async def test_operators_find_users_by_any_part_case_insensitively(gql):
    tag = secrets.token_hex(4)
    ann = await gql.signup(email=f"ann.{tag}@example.com", name=f"Ann {tag.upper()}")
    bob = await gql.signup(name=f"Bob {tag}", phone=f"+3466{secrets.randbelow(10**7):07d}")
    shop = await gql.signup(
        "MERCHANT", name="Owner", company={"name": f"Shoes {tag} Ltd"}, email=f"s{tag}@x.io"
    )
    operator = await gql.operator()

    async def found(**variables) -> list[str]:
        data = await gql.ok(USERS, variables, operator["token"])
        return [e["node"]["id"] for e in data["users"]["edges"]]

    assert await found(search=tag) == [shop["id"], bob["id"], ann["id"]]  # newest first
    assert await found(search=tag.upper()) == [shop["id"], bob["id"], ann["id"]]
    assert await found(search=f"ann.{tag}") == [ann["id"]]  # by email
    assert await found(search=f"shoes {tag}") == [shop["id"]]  # by company name
    bob_phone = (await gql.ok("{ me { phone } }", token=bob["token"]))["me"]["phone"]
    assert await found(search=bob_phone[3:]) == [bob["id"]]  # by phone
    assert await found(search=tag, role="MERCHANT") == [shop["id"]]
    # LIKE's wildcards are taken literally: "%" matches only a "%".
    assert await found(search=f"{tag}%") == []
    assert await found(search="_" + tag) == []


async def test_users_are_paged_newest_first_without_gaps(gql):
    tag = secrets.token_hex(4)
    made = [(await gql.signup(name=f"Page {tag} {i}"))["id"] for i in range(5)]
    operator = await gql.operator()
    seen, after = [], None
    while True:
        data = await gql.ok(USERS, {"search": tag, "first": 2, "after": after}, operator["token"])
        page = data["users"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == made[::-1]


async def test_only_operators_find_users(gql):
    customer = await gql.signup()
    body = await gql(USERS, {"search": "a"}, customer["token"])
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql(USERS, {"search": "a"})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    operator = await gql.operator()
    for variables, field in (({"first": 0}, "first"), ({"first": 101}, "first"),
                             ({"after": "usr_nonsense"}, "after"), ({"search": "x" * 201}, "search")):  # fmt: skip
        bad = await gql(USERS, variables, operator["token"])
        extensions = bad["errors"][0]["extensions"]
        assert (extensions["code"], extensions["field"]) == ("BAD_USER_INPUT", field), variables


async def test_user_by_id_is_anyone_for_operators_and_only_oneself_for_others(gql):
    ann, card = await gql.funded("12")
    bob = await gql.signup()
    operator = await gql.operator()
    query = "query($id: ID!) { user(id: $id) { email wallets { id balance token } } }"
    seen = (await gql.ok(query, {"id": ann["id"]}, operator["token"]))["user"]
    # The operator reads the wallets, but a payment token is its owner's secret.
    assert seen == {"email": ann["email"], "wallets": [{"id": card["id"], "balance": "12.00", "token": None}]}  # fmt: skip
    own = (await gql.ok(query, {"id": ann["id"]}, ann["token"]))["user"]
    assert own["wallets"][0]["token"] == card["token"]
    other = await gql(query, {"id": ann["id"]}, bob["token"])
    assert other["data"]["user"] is None
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_operators_read_any_wallet_transaction_and_history(gql):
    ann, card = await gql.funded("20")
    operator = await gql.operator()
    bob = await gql.signup()
    wallet = await gql.get_wallet(operator["token"], card["id"])
    assert (wallet["balance"], wallet["token"]) == ("20.00", None)
    data = await gql.ok(
        "query($id: ID!) { wallet(id: $id) { history(first: 5) { edges { node { transaction { id } } } } } }",
        {"id": card["id"]},
        operator["token"],
    )
    tx_id = data["wallet"]["history"]["edges"][0]["node"]["transaction"]["id"]
    query = "query($id: ID!) { transaction(id: $id) { id amount } }"
    assert (await gql.ok(query, {"id": tx_id}, operator["token"]))["transaction"]["id"] == tx_id
    for q, v in ((query, {"id": tx_id}), ("query($id: ID!) { wallet(id: $id) { id } }", {"id": card["id"]})):  # fmt: skip
        refused = await gql(q, v, bob["token"])
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# --- freezing ----------------------------------------------------------------------------------


async def test_a_frozen_wallet_takes_no_debit_credit_hold_or_capture_but_releases(gql):
    ann, card, shop, till = await parties(gql, "100")
    operator = await gql.operator()
    hold = await held(gql, shop, card, "30")
    second = await held(gql, shop, card, "10")
    frozen = await set_status(gql, operator, "freezeWallet", card["id"], "Card reported stolen")
    assert frozen["__typename"] == "WalletPayload", frozen
    assert frozen["wallet"]["status"] == "FROZEN"
    version = frozen["wallet"]["version"]

    _, other = await gql.funded(None)
    refusals = [
        await gql.pay("withdraw", ann["token"], walletId=card["id"], amount="1"),
        await gql.pay("deposit", ann["token"], walletId=card["id"], amount="1"),
        await gql.pay(
            "transfer", ann["token"], fromWalletId=card["id"], toWalletId=other["id"], amount="1"
        ),  # fmt: skip
        await authorize(gql, shop, card, "5"),
        await capture(gql, shop, hold["id"], amount="5"),
    ]
    for refused in refusals:
        assert (refused["__typename"], refused["code"]) == ("WalletInactive", "WALLET_INACTIVE")
    # Releases still happen: a void frees the money on a frozen wallet.
    voided = await void(gql, shop, second["id"])
    assert voided["__typename"] == "HoldPayload", voided
    after = await state(gql, ann, card)
    assert (after["balance"], after["held"], after["version"]) == ("100.00", "30.00", version + 1)
    assert after["status"] == "FROZEN"  # reads still work

    thawed = await set_status(gql, operator, "unfreezeWallet", card["id"], "Card found")
    assert thawed["wallet"]["status"] == "ACTIVE"
    captured = await capture(gql, shop, hold["id"], amount="5")
    assert captured["__typename"] == "HoldPayload", captured


async def test_freezing_is_idempotent_and_audited_once_per_change(gql):
    _, card = await gql.funded("5")
    operator = await gql.operator()
    for _ in range(2):
        result = await set_status(gql, operator, "freezeWallet", card["id"], "Chargeback")
        assert result["wallet"]["status"] == "FROZEN"
    result = await set_status(gql, operator, "unfreezeWallet", card["id"], "Resolved")
    assert result["wallet"]["status"] == "ACTIVE"
    subject = f"Wallet:{card['id']}"
    events = await audit(gql, operator, subject=subject)
    assert [(e["action"], e["reason"], e["actor"]["id"]) for e in events] == [
        ("WALLET_UNFROZEN", "Resolved", operator["id"]),
        ("WALLET_FROZEN", "Chargeback", operator["id"]),
    ]
    assert all(e["subject"] == subject for e in events)


async def test_bad_status_changes_are_refused_and_change_nothing(gql):
    ann, card = await gql.funded("5")
    operator = await gql.operator()
    refused = await set_status(gql, ann, "freezeWallet", card["id"])
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    anonymous = await set_status(gql, None, "freezeWallet", card["id"])
    assert anonymous["__typename"] == "NotAuthenticated"
    for reason in ("", "x" * 501, "tab\u0000null"):
        bad = await set_status(gql, operator, "freezeWallet", card["id"], reason)
        assert (bad["__typename"], bad["field"]) == ("ValidationError", "reason"), reason
    missing = await set_status(gql, operator, "freezeWallet", "wal_0000000000000000")
    assert missing["__typename"] == "NotFound"
    assert (await gql.get_wallet(ann["token"], card["id"]))["status"] == "ACTIVE"
    assert await audit(gql, operator, subject=f"Wallet:{card['id']}") == []


# --- the audit log -----------------------------------------------------------------------------


async def test_operators_postings_are_audited_with_the_posting(gql):
    ann, card, shop, till = await parties(gql, "50")
    operator = await gql.operator()
    charge = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="20", description="Shoes"
    )
    own = await refund(gql, shop, charge["transaction"]["id"], amount="5")
    by_operator = await refund(gql, operator, charge["transaction"]["id"], amount="5", reason="Goodwill")  # fmt: skip
    _, credits = await gql.funded(None, "CREDIT")
    applied = await gql.pay("applyOperation", operator["token"], walletId=credits["id"], operation="DAILY_REWARD")  # fmt: skip
    for result in (own, by_operator, applied):
        assert result["__typename"] == "PaymentPayload", result

    refunds = await audit(gql, operator, action="REFUND")
    mine = [e for e in refunds if e["subject"] == f"Transaction:{by_operator['transaction']['id']}"]
    assert [(e["reason"], e["actor"]["id"]) for e in mine] == [("Goodwill", operator["id"])]
    # The merchant's own refund is no operator's action.
    assert not [e for e in refunds if e["subject"] == f"Transaction:{own['transaction']['id']}"]
    subject = f"Transaction:{applied['transaction']['id']}"
    events = await audit(gql, operator, subject=subject)
    assert [(e["action"], e["reason"]) for e in events] == [("OPERATION_APPLIED", "DAILY_REWARD")]
    # A replay is no new action.
    key = new_key()
    for _ in range(2):
        replayed = await gql.pay("applyOperation", operator["token"], walletId=credits["id"], operation="DAILY_REWARD", idempotencyKey=key)  # fmt: skip
    events = await audit(gql, operator, subject=f"Transaction:{replayed['transaction']['id']}")
    assert len(events) == 1


async def test_the_audit_log_pages_and_filters_and_is_for_operators_only(gql):
    _, card = await gql.funded("5")
    operator = await gql.operator()
    for i in range(3):
        name = "freezeWallet" if i % 2 == 0 else "unfreezeWallet"
        await set_status(gql, operator, name, card["id"], f"step {i}")
    subject = f"Wallet:{card['id']}"
    first = await gql.ok(AUDIT, {"first": 2, "subject": subject}, operator["token"])
    page = first["auditLog"]
    assert [e["node"]["reason"] for e in page["edges"]] == ["step 2", "step 1"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql.ok(
        AUDIT,
        {"first": 2, "subject": subject, "after": page["pageInfo"]["endCursor"]},
        operator["token"],
    )
    assert [e["node"]["reason"] for e in rest["auditLog"]["edges"]] == ["step 0"]
    assert rest["auditLog"]["pageInfo"]["hasNextPage"] is False
    frozen = await audit(gql, operator, subject=subject, action="WALLET_FROZEN")
    assert [e["reason"] for e in frozen] == ["step 2", "step 0"]
    assert await audit(gql, operator, subject="Wallet:wal_nonsense") == []
    customer = await gql.signup()
    refused = await gql(AUDIT, {}, customer["token"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'edited'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
async def test_the_audit_log_refuses_update_and_delete(gql, database_url, statement):
    _, card = await gql.funded("5")
    operator = await gql.operator()
    await set_status(gql, operator, "freezeWallet", card["id"])
    connection = await asyncpg.connect(database_url)
    try:
        count = await connection.fetchval("SELECT count(*) FROM audit_events")
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await connection.execute(statement)
        assert await connection.fetchval("SELECT count(*) FROM audit_events") == count
    finally:
        await connection.close()


async def test_subjects_are_shown_with_public_ids(gql):
    _, card = await gql.funded("5")
    operator = await gql.operator()
    await set_status(gql, operator, "freezeWallet", card["id"])
    events = await audit(gql, operator, subject=f"Wallet:{card['id']}")
    assert events[0]["subject"] == f"Wallet:{card['id']}"
    assert events[0]["id"].startswith(ids.AUDIT_EVENT + "_")
