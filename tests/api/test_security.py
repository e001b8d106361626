"""Security limits and error masking, as a client sees them; CORS; health endpoints."""

from __future__ import annotations

import logging

import httpx
import pytest

from walletql.app import create_app
from walletql.ledger import reads
from walletql.settings import Settings
from walletql.shortcuts.strawberry import Documents


def readable(body: dict) -> list[dict]:
    """The errors of a refused request: coded BAD_USER_INPUT, never masked."""
    assert body.get("data") is None, body
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["message"] != "Internal server error"
    return body["errors"]


async def test_depth_limit(gql):
    # No real path in the schema is deeper than about 8 levels, so nest an unknown field: the
    # depth rule still measures it (and the unknown field is reported next to it).
    deep = "{ me { wallets { " + "x { " * 12 + "id" + " }" * 12 + " } } }"
    body = await gql(deep)
    errors = readable(body)
    assert any("exceeds maximum operation depth of 12" in e["message"] for e in errors), errors
    # introspection cycles are capped as well
    cyclic = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert readable(await gql(cyclic))
    # and a legitimate deep query is fine
    ok = "{ me { wallets { history { edges { node { transaction { source { name } } } } } } } }"
    assert "errors" not in await gql(ok)


async def test_alias_limit(gql):
    body = await gql("{ " + " ".join(f"a{i}: currencies {{ code }}" for i in range(31)) + " }")
    (error,) = readable(body)
    assert "aliases" in error["message"].lower() and "30" in error["message"], error
    body = await gql("{ " + " ".join(f"a{i}: currencies {{ code }}" for i in range(30)) + " }")
    assert "errors" not in body and len(body["data"]) == 30


async def test_token_limit(gql):
    body = await gql("{ currencies { " + "code " * 5000 + "} }")
    (error,) = readable(body)
    assert "5000 tokens" in error["message"], error


async def test_request_body_limit(gql):
    query = "{ currencies { code } }" + " " * (1024 * 1024)
    response = await gql.post(query)
    assert response.status_code == 413
    assert "currencies" not in response.text


async def test_no_mutation_over_get(gql):
    user = await gql.signup()
    response = await gql.http.get(
        "/graphql",
        params={"query": "mutation { logout }"},
        headers={"authorization": f"Bearer {user['token']}"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert '"logout"' not in response.text
    # nothing changed: the token still works
    assert (await gql.ok("{ me { id } }", token=user["token"]))["me"]["id"] == user["id"]
    # queries over GET are fine
    response = await gql.http.get("/graphql", params={"query": "{ currencies { code } }"})
    assert response.status_code == 200 and len(response.json()["data"]["currencies"]) == 6


async def test_syntax_and_unknown_field_errors_stay_readable(gql):
    (error,) = readable(await gql("{ currencies { code }"))
    assert "Syntax Error" in error["message"]
    (error,) = readable(await gql("{ currencies { code colour } }"))
    assert "Cannot query field 'colour' on type 'Currency'" in error["message"]
    (error,) = readable(await gql("query($n: Int!) { currencies { code } }"))
    assert "$n" in error["message"]
    (error,) = readable(await gql('{ wallet(id: 1, extra: "x") { id } }'))
    assert "extra" in error["message"]


async def test_unexpected_errors_are_masked_and_logged(gql, monkeypatch, caplog):
    user, wallet = await gql.funded("1")

    async def broken(actor, wallet, at):
        raise RuntimeError("secret sql detail")

    monkeypatch.setattr(reads, "balance_at", broken)
    caplog.set_level(logging.ERROR, logger="walletql.api")
    response = await gql.post(
        'query($id: ID!) { wallet(id: $id) { id balanceAt(at: "2030-01-01T00:00:00Z") } }',
        {"id": wallet["id"]},
        user["token"],
    )
    assert response.status_code == 200
    assert "secret" not in response.text and "RuntimeError" not in response.text
    body = response.json()
    assert body["data"] == {"wallet": None}
    (error,) = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == ["wallet", "balanceAt"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert request_id
    logged = [r for r in caplog.records if r.name == "walletql.api"]
    assert any(request_id in r.getMessage() for r in logged), logged
    assert any("secret sql detail" in str(r.exc_info[1]) for r in logged if r.exc_info)


async def test_an_error_before_execution_is_masked_too(gql, monkeypatch, caplog):
    """An exception outside graphql-core's execution (here in validation) becomes Strawberry's
    pre-execution error, with the exception's text as its message: masked like any other."""
    user = await gql.signup()

    def broken(*args):
        raise RuntimeError("secret validation detail")

    monkeypatch.setattr("walletql.api.too_long", broken)  # run in both modes, before validation
    caplog.set_level(logging.ERROR, logger="walletql.api")
    response = await gql.post("{ me { id } }", None, user["token"])
    assert "secret" not in response.text and "RuntimeError" not in response.text
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    logged = [r for r in caplog.records if r.name == "walletql.api" and r.exc_info]
    assert any("secret validation detail" in str(r.exc_info[1]) for r in logged)


async def test_cors(database_url):
    settings = Settings(database_url=database_url, cors_origins=("https://app.example",))
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://walletql.test") as http:

        async def preflight(origin):
            return await http.options(
                "/graphql",
                headers={
                    "origin": origin,
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "authorization, content-type",
                },
            )

        allowed = await preflight("https://app.example")
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = await preflight("https://evil.example")
        assert "access-control-allow-origin" not in refused.headers
        response = await http.post(
            "/graphql",
            json={"query": "{ currencies { code } }"},
            headers={"origin": "https://app.example"},
        )
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        response = await http.post(
            "/graphql",
            json={"query": "{ currencies { code } }"},
            headers={"origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in response.headers


async def test_no_cors_headers_by_default(gql):
    response = await gql.http.options(
        "/graphql",
        headers={"origin": "https://app.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


async def test_health_endpoints(gql):
    response = await gql.http.get("/healthz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")
    response = await gql.http.get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ready")


async def test_introspection_can_be_turned_off(database_url):
    closed = create_app(
        Settings(database_url=database_url, introspection=False), manage_database=False
    )
    transport = httpx.ASGITransport(app=closed)
    async with httpx.AsyncClient(transport=transport, base_url="http://walletql.test") as http:
        refused = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        served = await http.post("/graphql", json={"query": "{ currencies { code } }"})
    body = refused.json()
    assert body.get("data") is None and body["errors"], body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "introspection" in body["errors"][0]["message"].lower()
    assert served.json()["data"]["currencies"][0] == {"code": "BTC"}


async def test_validation_is_remembered_per_query_text_without_mixing_texts(gql):
    # Validation results are cached by query text (walletql.shortcuts.strawberry.Documents, with fast paths): each text
    # keeps its own verdict, however often the texts alternate.
    bad = "{ me { wallets { nope } } }"
    good = "{ currencies { code } }"
    for _ in range(3):
        errors = readable(await gql(bad))
        assert any("nope" in e["message"] for e in errors), errors
        assert (await gql(good))["data"]["currencies"]


def test_documents_are_bounded_by_bytes_and_evict_the_least_recently_used():
    from graphql import specified_rules

    from walletql.api import build_schema

    schema = build_schema(Settings())
    rules = tuple(specified_rules)
    texts = ["{ currencies { code } }", "{ operations { code } }", "{ nope }"]
    weight = (len(texts[0]) + 64) * Documents.TREE_FACTOR
    documents = Documents(max_bytes=2 * weight + 10, max_document=1000)  # room for two
    for text in texts:
        documents.errors(schema, text, documents.parse(text, {}), rules)
    assert set(documents._cache) == set(texts[1:])  # the oldest went first
    assert documents.errors(schema, texts[2], documents.parse(texts[2], {}), rules)  # refused
    assert documents.errors(schema, texts[1], documents.parse(texts[1], {}), rules) == []
    documents.parse(texts[0], {})  # texts[2] is now the least recently used
    assert set(documents._cache) == {texts[1], texts[0]}


def test_a_document_above_the_size_limit_is_validated_but_not_kept():
    from graphql import specified_rules

    from walletql.api import build_schema

    schema = build_schema(Settings())
    documents = Documents(max_bytes=10**9, max_document=100)
    big = '{ wallet(id: "%s") { id } }' % ("9" * 200)
    document = documents.parse(big, {})
    assert documents.errors(schema, big, document, tuple(specified_rules)) == []
    assert len(documents) == 0
    assert documents.parse(big, {}) is not document  # parsed again, never kept


async def test_a_document_with_several_operations_needs_an_operation_name(gql):
    document = "query A { currencies { code } } query B { operations { code } }"
    refused = await gql(document)
    assert refused.get("data") is None
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "operationName" in error["message"]
    response = await gql.http.post("/graphql", json={"query": document, "operationName": "B"})
    chosen = response.json()["data"]
    assert list(chosen) == ["operations"]  # the named one, not the first
    assert (await gql("query A { currencies { code } }"))["data"][
        "currencies"
    ]  # one: no name needed


DOCUMENTS = [
    "{ currencies { code } }",
    "{ me { wallets { nope } } }",
    "{ currencies { code",
    "query Q($x: Int!) { currencies { code } }",
    "{ wallet(id: 12) { id } }",
    "{ wallet { id } }",
    "fragment F on Wallet { id } { currencies { code } }",
    "{ a: currencies { code } a: operations { code } }",
    "{ me { wallets { history(first: %s) { edges { cursor } } } } }" % ("9" * 5000),
    "{ me "
    + "{ wallets { history { edges { node { transaction " * 3
    + "{ id }"
    + " } } } }" * 3
    + " }",
]


@pytest.mark.parametrize("query", DOCUMENTS)
async def test_parsing_and_validation_answer_as_strawberrys_own(query):
    """Documents parsed and validated once per text (a shortcut) answer what Strawberry's own
    parse and validation steps answer (plain mode), twice in a row."""
    from walletql.api import build_schema

    fast = build_schema(Settings(fast_paths=True))
    plain = build_schema(Settings(fast_paths=False))
    for _ in range(2):
        mine, theirs = await fast.execute(query), await plain.execute(query)
        assert [e.formatted for e in mine.errors or []] == [
            e.formatted for e in theirs.errors or []
        ]
        assert mine.data == theirs.data
