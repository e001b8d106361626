"""How an HTTP request's JSON is read: anything malformed is the client's error (HTTP 400).

Strawberry reads the body (and a GET request's `variables` and `extensions` parameters) with
`json.loads`, and turns a `json.JSONDecodeError` into HTTP 400. Other ways JSON text can fail
escaped that and answered HTTP 500 with a traceback in the log: invalid UTF-8
(UnicodeDecodeError), nesting deeper than Python's recursion limit (RecursionError), an integer
longer than Python converts (ValueError: sys.get_int_max_str_digits(), 4,300 digits). And a body
that is valid JSON but not an object (`null`, `123`, `"s"`, `true`) failed on `data.get(...)`,
and an `operationName` holding a lone surrogate made Strawberry's refusal unencodable.

WalletGraphQL (walletql.app) uses these functions through Strawberry's own override points,
`decode_json` and `parse_http_body`. Every decoding failure becomes a JSONDecodeError, which
Strawberry answers with HTTP 400 ("Unable to parse request body as JSON") over HTTP and with
close code 4400 on a graphql-transport-ws websocket, whose messages go through the same
`decode_json`.
"""

from __future__ import annotations

import json
import re

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type

_BLANK = b" \t\r\n"
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")  # a GraphQL Name


def decode_json(data: str | bytes) -> object:
    """`json.loads(data)`, with every malformed input raised as json.JSONDecodeError."""
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deep", "", 0) from None
    except ValueError as error:  # invalid UTF-8, or an integer of too many digits
        raise json.JSONDecodeError(f"Invalid JSON: {type(error).__name__}", "", 0) from None


async def refuse_non_object(request: AsyncHTTPRequestAdapter) -> None:
    """HTTP 400 for a JSON POST body that is valid JSON but neither an object (one operation)
    nor an array (a batch, which Strawberry refuses itself, with 400, when batching is off).

    Starlette keeps the body it has read, so Strawberry's own read after this costs nothing,
    and a body that starts like an object or an array is not decoded here at all."""
    if request.method != "POST":
        return
    content_type, _ = parse_content_type(request.content_type or "")
    if "application/json" not in content_type:
        return
    body = await request.get_body()
    if body.lstrip(_BLANK)[:1] in (b"{", b"["):
        return
    if not isinstance(decode_json(body), dict | list):  # malformed JSON raises: HTTP 400 too
        raise HTTPException(400, "The request body must be a JSON object")


def is_operation_name(name: object) -> bool:
    """None, "" (no name, as some clients send it) or a GraphQL name: anything else can never
    name an operation."""
    return name is None or (isinstance(name, str) and (not name or bool(_NAME.match(name))))


def check_operation_name(data: GraphQLRequestData | list[GraphQLRequestData]) -> None:
    """HTTP 400 for an operationName that `is_operation_name` refuses. Strawberry passes any
    JSON value on; one with a lone surrogate made its refusal ("Unknown operation named ...")
    unencodable: HTTP 500."""
    for item in data if isinstance(data, list) else (data,):
        if not is_operation_name(item.operation_name):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a name")
