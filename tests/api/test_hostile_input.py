"""Hostile input over HTTP is always the client's error, never the server's.

Every request here is malformed on purpose: an undecodable or non-object body, JSON nested
thousands deep, integers of thousands of digits, NUL bytes, lone surrogates and invisible
characters in strings, DateTimes that leave the calendar once converted to UTC, a subscription
over HTTP. Each must answer HTTP 400, a GraphQL error coded BAD_USER_INPUT, or a mutation's
error type; never HTTP 5xx, never INTERNAL_SERVER_ERROR, and never a traceback in the log.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.api.conftest import PAYMENT_FIELDS, new_email, new_key
from walletql.app import create_app
from walletql.settings import Settings

NUL = "\x00"
SURROGATE = "\ud800"
DIGITS = "9" * 5000  # more than Python's default int_max_str_digits (4300)
DEEP = 10_000


@pytest.fixture(scope="module")
async def raw(database_url):
    """The real app, answering an exception with HTTP 500 instead of raising it in the test."""
    transport = httpx.ASGITransport(
        app=create_app(Settings(), manage_database=False), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://walletql.test") as http:
        yield http


@pytest.fixture
def log(caplog):
    """Records of every logger at ERROR and above; `clean()` asserts there are none (an
    unexpected error is logged at ERROR with its traceback and request id)."""
    caplog.set_level(logging.ERROR)

    class Log:
        @staticmethod
        def clean() -> None:
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors == [], [(r.getMessage(), r.exc_info) for r in errors]

    return Log


def refused(body: dict) -> list[dict]:
    """The errors of a query refused as the client's mistake."""
    assert body.get("errors"), body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return body["errors"]


async def post_raw(raw, body: bytes, content_type: str = "application/json", token=None):
    headers = {"content-type": content_type}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await raw.post("/graphql", content=body, headers=headers)


async def post(raw, query: str, variables: dict | None = None, token: str | None = None):
    """A well-formed request (strings may hold lone surrogates: JSON escapes them)."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    response = await post_raw(raw, body, token=token)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    return response.json()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- The HTTP body (security issue, item 8) -------------------------------------------------------

QUERY = '{"query": "{ currencies { code } }"'
BODIES = {
    "invalid utf-8 in the body": b'{"query": "{ currencies { code } }", "x": "\xff\xfe"}',
    "invalid utf-8 alone": b"\xff",
    "array nested 10,000 deep": nested(DEEP).encode(),
    "object nested 10,000 deep": ('{"a":' * DEEP + "1" + "}" * DEEP).encode(),
    "variables nested 10,000 deep": f'{QUERY}, "variables": {{"v": {nested(DEEP)}}}}}'.encode(),
    "integer of 5,000 digits": f'{QUERY}, "variables": {{"n": {DIGITS}}}}}'.encode(),
    "negative integer of 5,000 digits": f'{QUERY}, "variables": {{"n": -{DIGITS}}}}}'.encode(),
    "null": b"null",
    "a number": b"123",
    "a string": b'"s"',
    "true": b"true",
    "an empty body": b"",
    "not json": b"{currencies { code }}",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_a_malformed_body_is_http_400(raw, log, body):
    response = await post_raw(raw, body)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert len(response.text) < 200 and "Traceback" not in response.text
    log.clean()


QUERY_STRINGS = {
    "variables nested 10,000 deep": "query=%7Bcurrencies%7Bcode%7D%7D&variables="
    + "%5B" * DEEP
    + "%5D" * DEEP,
    "variables with an integer of 5,000 digits": "query=%7Bcurrencies%7Bcode%7D%7D&variables="
    + "%7B%22n%22%3A"
    + DIGITS
    + "%7D",
    "variables not an object": "query=%7Bcurrencies%7Bcode%7D%7D&variables=123",
    "variables not json": "query=%7Bcurrencies%7Bcode%7D%7D&variables=%FF%FE",
}


@pytest.mark.parametrize("query_string", QUERY_STRINGS.values(), ids=QUERY_STRINGS.keys())
async def test_malformed_get_variables_are_http_400(raw, log, query_string):
    response = await raw.get(f"/graphql?{query_string}", headers={"accept": "application/json"})
    assert response.status_code == 400, (response.status_code, response.text[:300])
    log.clean()


async def asgi_get(app, query_string: bytes) -> tuple[int, bytes]:
    """A GET with exactly these bytes as its query string, straight to the ASGI app (an HTTP
    client escapes them; a hostile one, or a server that passes them on, does not)."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"walletql.test"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 4000),
        "server": ("walletql.test", 80),
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


INVALID_UTF8_QUERY_STRINGS = [
    b"query=%7Bcurrencies%7Bcode%7D%7D\xff",
    b"query=\xff\xfe",
    b"query=%ED%A0%80",  # a UTF-8-encoded surrogate
    b"query=%7Bcurrencies%7Bcode%7D%7D&variables=%7B%22a%22%3A%22\xff%FF%22%7D",
    b"\xff=%FF",
]


@pytest.mark.parametrize("query_string", INVALID_UTF8_QUERY_STRINGS)
async def test_invalid_utf8_in_the_query_string_is_never_a_server_error(
    database_url, log, query_string
):
    status, body = await asgi_get(create_app(Settings(), manage_database=False), query_string)
    assert status < 500, (status, body[:300])
    if status == 200:  # replaced by U+FFFD: a document that does not parse, or harmless data
        errors = json.loads(body).get("errors") or []
        assert all(e["extensions"]["code"] == "BAD_USER_INPUT" for e in errors), body
    log.clean()


# --- Passwords (item 7) ---------------------------------------------------------------------------

SIGNUP = """mutation($input: SignupInput!) { signup(input: $input) {
    __typename ... on Error { code message } ... on ValidationError { field } } }"""


@pytest.mark.parametrize(
    "password",
    [" " * 10, "\t" * 10, NUL * 10, "\u3000" * 10, " \t\n\r" * 3, "1234567890"],
    ids=["spaces", "tabs", "NULs", "ideographic spaces", "mixed whitespace", "digits"],
)
async def test_a_blank_or_control_password_is_weak(raw, log, password):
    body = await post(
        raw, SIGNUP, {"input": {"email": new_email(), "password": password, "name": "Weak"}}
    )
    result = body["data"]["signup"]
    assert result["__typename"] == "ValidationError", result
    assert (result["code"], result["field"]) == ("WEAK_PASSWORD", "password"), result
    log.clean()


@pytest.mark.parametrize(
    "password",
    ["correct horse\x00battery", "correct horse\x7fbattery", f"correct horse{SURROGATE}battery"],
    ids=["NUL", "DEL", "surrogate"],
)
async def test_a_password_with_a_control_character_is_refused(raw, log, password):
    body = await post(
        raw, SIGNUP, {"input": {"email": new_email(), "password": password, "name": "Weak"}}
    )
    result = body["data"]["signup"]
    assert result["__typename"] == "ValidationError", result
    assert (result["code"], result["field"]) == ("WEAK_PASSWORD", "password"), result
    log.clean()


async def test_a_password_with_spaces_inside_is_fine(raw, log):
    body = await post(
        raw, SIGNUP, {"input": {"email": new_email(), "password": " a  b  c d ", "name": "Ok"}}
    )
    assert body["data"]["signup"]["__typename"] == "AuthPayload", body
    log.clean()


# --- NUL bytes and lone surrogates in every string (item 9) ---------------------------------------

HOSTILE = {"NUL": NUL, "surrogate": SURROGATE}
hostile = pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())


@pytest.fixture(scope="module")
async def people(gql):
    """A funded customer, a merchant with a USD wallet and an operator with its token."""
    customer, wallet = await gql.funded("100.00")
    merchant, till = await gql.funded(None, role="MERCHANT")
    operator = await gql.operator()
    credits = await gql.wallet(customer["token"], "CREDIT")
    return {
        "customer": customer["token"],
        "wallet": wallet["id"],
        "payment_token": wallet["token"],
        "credits": credits["id"],
        "merchant": merchant["token"],
        "till": till["id"],
        "operator": operator["token"],
    }


def union(body: dict, field: str) -> dict:
    assert not body.get("errors"), body
    return body["data"][field]


@hostile
@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("email", "BAD_EMAIL"),
        ("name", "BAD_INPUT"),
        ("password", "WEAK_PASSWORD"),
        ("phone", None),  # BAD_INPUT or BAD_PHONE: either names the field
        ("company.name", "BAD_INPUT"),
        ("company.url", "BAD_INPUT"),
    ],
)
async def test_signup_refuses_hostile_strings(raw, log, bad, field, code):
    fields = {
        "email": new_email(),
        "password": "correct horse battery",
        "name": "Ana",
        "phone": "+34666123456",
        "role": "MERCHANT",
        "company": {"name": "Acme", "url": "https://acme.example"},
    }
    if field.startswith("company."):
        fields["company"][field.split(".")[1]] += bad
    elif field == "email":
        fields["email"] = bad + fields["email"]
    else:
        fields[field] += bad
    result = union(await post(raw, SIGNUP, {"input": fields}), "signup")
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field, result
    assert code is None or result["code"] == code, result
    log.clean()


@hostile
@pytest.mark.parametrize("field", ["email", "password"])
async def test_login_with_hostile_strings_is_simply_wrong(raw, log, gql, bad, field):
    user = await gql.signup()
    fields = {"email": user["email"], "password": "correct horse battery"}
    fields[field] += bad
    body = await post(
        raw,
        """mutation($input: LoginInput!) { login(input: $input) {
            __typename ... on Error { code } } }""",
        {"input": fields},
    )
    assert union(body, "login") == {
        "__typename": "InvalidCredentials",
        "code": "INVALID_CREDENTIALS",
    }
    log.clean()


WALLET = """mutation($input: CreateWalletInput!) { createWallet(input: $input) {
    __typename ... on Error { code } ... on ValidationError { field } } }"""


@hostile
async def test_create_wallet_refuses_hostile_strings(raw, log, people, bad):
    token = people["customer"]
    result = union(
        await post(raw, WALLET, {"input": {"currency": "USD" + bad}}, token), "createWallet"
    )
    assert (result["__typename"], result["code"]) == ("ValidationError", "UNKNOWN_CURRENCY")
    result = union(await post(raw, WALLET, {"input": {"currency": bad}}, token), "createWallet")
    assert (result["__typename"], result["code"]) == ("ValidationError", "UNKNOWN_CURRENCY")
    for label in ("main" + bad, bad + "x"):
        body = await post(raw, WALLET, {"input": {"currency": "USD", "label": label}}, token)
        result = union(body, "createWallet")
        assert result == {"__typename": "ValidationError", "code": "BAD_INPUT", "field": "label"}
    log.clean()


def payment(mutation: str, input_type: str) -> str:
    return f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {PAYMENT_FIELDS} }} }}"


def payment_cases(people: dict, bad: str) -> list[tuple[str, str, str, dict, str, str | None]]:
    """(who, mutation, input type, input, expected __typename, expected field)."""
    wallet, till = people["wallet"], people["till"]
    deposit = {"walletId": wallet, "amount": "1.00", "idempotencyKey": new_key()}
    transfer = {"fromWalletId": wallet, "toWalletId": till, "amount": "1.00"}
    charge = {"walletToken": people["payment_token"], "amount": "1.00", "description": "Tea"}
    operation = {"walletId": people["credits"], "operation": "DAILY_REWARD"}
    cases = []
    for mutation, kind in (("deposit", "DepositInput"), ("withdraw", "WithdrawInput")):
        cases += [
            ("customer", mutation, kind, {**deposit, "idempotencyKey": "k" + bad}, "ValidationError", "idempotencyKey"),
            ("customer", mutation, kind, {**deposit, "description": "rent" + bad}, "ValidationError", "description"),
            ("customer", mutation, kind, {**deposit, "walletId": wallet + bad}, "NotFound", None),
            ("customer", mutation, kind, {**deposit, "amount": "1" + bad}, "ValidationError", "amount"),
        ]  # fmt: skip
    cases += [
        ("customer", "transfer", "TransferInput", {**transfer, "idempotencyKey": bad}, "ValidationError", "idempotencyKey"),
        ("customer", "transfer", "TransferInput", {**transfer, "description": bad + "x"}, "ValidationError", "description"),
        ("customer", "transfer", "TransferInput", {**transfer, "toWalletId": till + bad}, "NotFound", None),
        ("customer", "transfer", "TransferInput", {**transfer, "toWalletId": None, "toUserId": bad}, "NotFound", None),
        ("merchant", "charge", "ChargeInput", {**charge, "walletToken": people["payment_token"] + bad}, "NotFound", None),
        ("merchant", "charge", "ChargeInput", {**charge, "walletToken": bad}, "NotFound", None),
        ("merchant", "charge", "ChargeInput", {**charge, "description": "Tea" + bad}, "ValidationError", "description"),
        ("merchant", "charge", "ChargeInput", {**charge, "idempotencyKey": "order" + bad}, "ValidationError", "idempotencyKey"),
        ("merchant", "charge", "ChargeInput", {**charge, "toWalletId": till + bad}, "NotFound", None),
        ("operator", "applyOperation", "ApplyOperationInput", {**operation, "operation": "DAILY_REWARD" + bad}, "ValidationError", "operation"),
        ("operator", "applyOperation", "ApplyOperationInput", {**operation, "idempotencyKey": bad}, "ValidationError", "idempotencyKey"),
    ]  # fmt: skip
    return cases


@hostile
async def test_money_mutations_refuse_hostile_strings_before_any_query(raw, log, people, bad):
    for who, mutation, kind, fields, typename, field in payment_cases(people, bad):
        fields.setdefault("idempotencyKey", new_key())
        body = await post(raw, payment(mutation, kind), {"input": fields}, people[who])
        result = union(body, mutation)
        assert result["__typename"] == typename, (mutation, fields, result)
        assert field is None or result["field"] == field, (mutation, fields, result)
    log.clean()


@hostile
async def test_queries_refuse_hostile_strings(raw, log, people, bad):
    token = people["customer"]
    cases = [
        ("query($v: ID!) { wallet(id: $v) { id } }", "NOT_FOUND"),
        ("query($v: ID!) { transaction(id: $v) { id } }", "NOT_FOUND"),
        ("query($v: String) { me { wallets(currency: $v) { id } } }", "BAD_USER_INPUT"),
        ("query($v: String) { me { balances(currency: $v) { balance } } }", "BAD_USER_INPUT"),
    ]
    for query, code in cases:
        for value in (bad, "USD" + bad, people["wallet"] + bad):
            body = await post(raw, query, {"v": value}, token)
            assert [e["extensions"]["code"] for e in body["errors"]] == [code], (query, body)
    history = """query($w: ID!, $v: String) { wallet(id: $w) {
        history(after: $v) { totalCount } } }"""
    body = await post(raw, history, {"w": people["wallet"], "v": "abc" + bad}, token)
    refused(body)
    log.clean()


# --- DateTimes that leave the calendar in UTC, huge Int literals, subscriptions (item 9) ----------

BAD_DATETIMES = {
    "before year 1 in UTC": "0001-01-01T00:00:00+23:59",
    "after year 9999 in UTC": "9999-12-31T23:59:59-23:59",
    "a NUL after it": "2024-01-01T00:00:00+00:00\x00",
    "a lone surrogate in it": "2024-01-01T00:00:00\ud800Z",
}


@pytest.mark.parametrize("at", BAD_DATETIMES.values(), ids=BAD_DATETIMES.keys())
async def test_a_datetime_out_of_range_in_utc_is_bad_user_input(raw, log, people, at):
    token, wallet = people["customer"], people["wallet"]
    queries = [
        "query($w: ID!, $t: DateTime) { wallet(id: $w) {"
        " history(filter: {from: $t}) { totalCount } } }",
        "query($w: ID!, $t: DateTime) { wallet(id: $w) {"
        " history(filter: {to: $t}) { totalCount } } }",
        "query($w: ID!, $t: DateTime) { wallet(id: $w) { summary(from: $t) { net } } }",
        "query($w: ID!, $t: DateTime) { wallet(id: $w) { summary(to: $t) { net } } }",
        "query($w: ID!, $t: DateTime!) { wallet(id: $w) { balanceAt(at: $t) } }",
    ]
    for query in queries:
        refused(await post(raw, query, {"w": wallet, "t": at}, token))
        # and as a literal in the document
        literal = query.replace("$t", json.dumps(at)).replace(", DateTime)", ")")
        literal = literal.replace(", DateTime!)", ")")
        refused(await post(raw, literal, {"w": wallet}, token))
    log.clean()


async def test_the_extreme_datetimes_that_fit_are_fine(raw, log, people):
    token, wallet = people["customer"], people["wallet"]
    query = """query($w: ID!, $a: DateTime, $b: DateTime) {
        wallet(id: $w) { summary(from: $a, to: $b) { net } } }"""
    body = await post(
        raw, query, {"w": wallet, "a": "0001-01-01T00:00:00Z", "b": "9999-12-31T23:59:59Z"}, token
    )
    assert body["data"]["wallet"]["summary"]["net"] == "100.00", body
    log.clean()


async def test_an_int_literal_of_thousands_of_digits_is_bad_user_input(raw, log, people):
    token, wallet = people["customer"], people["wallet"]
    for digits in (DIGITS, "-" + DIGITS):
        queries = [
            f"query($w: ID!) {{ wallet(id: $w) {{ history(first: {digits}) {{ totalCount }} }} }}",
            f"query($w: ID!, $f: Int = {digits}) {{ wallet(id: $w) {{"
            " history(first: $f) { totalCount } } }",
            f'mutation {{ deposit(input: {{walletId: "x", amount: {digits}, idempotencyKey: "k"}})'
            " { __typename } }",
            f"{{ currencies {{ code }} __typename @skip(if: {digits}) }}",
        ]
        for query in queries:
            refused(await post(raw, query, {"w": wallet}, token))
    log.clean()


async def test_an_int_variable_of_thousands_of_digits_is_http_400(raw, log, people):
    query = "query($w: ID!, $f: Int) { wallet(id: $w) { history(first: $f) { totalCount } } }"
    variables = f'{{"w": "{people["wallet"]}", "f": {DIGITS}}}'
    body = f'{{"query": {json.dumps(query)}, "variables": {variables}}}'
    response = await post_raw(raw, body.encode(), token=people["customer"])
    assert response.status_code == 400, response.text[:300]
    log.clean()


async def test_a_subscription_over_http_is_a_client_error(raw, log, people):
    for method in ("POST", "GET"):
        query = "subscription { balanceUpdates { walletId } }"
        if method == "POST":
            response = await post_raw(
                raw, json.dumps({"query": query}).encode(), token=people["customer"]
            )
        else:
            response = await raw.get(
                "/graphql",
                params={"query": query},
                headers={
                    "accept": "application/json",
                    "authorization": f"Bearer {people['customer']}",
                },
            )
        if response.status_code == 200:
            refused(response.json())
        else:
            assert 400 <= response.status_code < 500, response.text[:300]
    log.clean()


# --- Idempotency keys are printable (item 12) -----------------------------------------------------

INVISIBLE = {
    "DEL": "\x7f",
    "C1 control": "\x85",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "right-to-left override": "\u202e",
    "private use": "\ue000",
    "unassigned": "\u0378",
    "tab": "\t",
}


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
async def test_an_idempotency_key_with_an_invisible_character_is_refused(
    raw, log, people, character
):
    for key in (f"order-1{character}", f"{character}order-1", character * 3):
        fields = {"walletId": people["wallet"], "amount": "1.00", "idempotencyKey": key}
        body = await post(
            raw, payment("deposit", "DepositInput"), {"input": fields}, people["customer"]
        )
        result = union(body, "deposit")
        assert (result["__typename"], result["field"]) == ("ValidationError", "idempotencyKey"), (
            result
        )
        assert result["code"] == "BAD_INPUT"
    log.clean()


async def test_a_printable_unicode_idempotency_key_is_fine(raw, log, people):
    key = f"commande-é-日本-🙂 {new_key()}"
    fields = {"walletId": people["wallet"], "amount": "0.01", "idempotencyKey": key}
    body = await post(
        raw, payment("deposit", "DepositInput"), {"input": fields}, people["customer"]
    )
    result = union(body, "deposit")
    assert result["__typename"] == "PaymentPayload", result
    assert result["transaction"]["idempotencyKey"] == key
    log.clean()


# --- Documents and operation names graphql-core cannot take as they are ---------------------------

DOCUMENTS = {
    "selections nested 2,400 deep": "{" + " me {" * 2400 + " id" + " }" * 2400 + " }",
    "list literal nested 2,400 deep": "{ wallet(id: " + "[" * 2400 + "]" * 2400 + ") { id } }",
    "object literal nested 1,600 deep": "mutation { deposit(input: "
    + "{a: " * 1600
    + "1"
    + "}" * 1600
    + ") { __typename } }",
    "empty": "",
    "only a fragment": "fragment F on Query { me { id } }",
}


@pytest.mark.parametrize("query", DOCUMENTS.values(), ids=DOCUMENTS.keys())
async def test_a_hostile_document_is_a_client_error(raw, log, people, query):
    response = await post_raw(raw, json.dumps({"query": query}).encode(), token=people["customer"])
    if response.status_code == 200:
        refused(response.json())
    else:
        assert response.status_code == 400, (response.status_code, response.text[:300])
    log.clean()


@pytest.mark.parametrize("name", [123, [], {}, True, "", "Nope", NUL, SURROGATE])
async def test_a_hostile_operation_name_is_a_client_error(raw, log, name):
    body = {"query": "query A { currencies { code } }", "operationName": name}
    response = await post_raw(raw, json.dumps(body).encode())
    if response.status_code == 200:
        body = response.json()
        assert body.get("data") or refused(body), body
    else:
        assert response.status_code == 400, (response.status_code, response.text[:300])
    log.clean()
