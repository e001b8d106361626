"""examples/js/generated/ is what graphql-codegen makes of schema.graphql, as schema.graphql is
what the code prints: a schema change that is not regenerated fails here, with the command.

The possibleTypes map is recomputed in Python (no Node needed); the whole output (possibleTypes
and the TypeScript types, scalars mapped) is checked by graphql-codegen itself when
examples/js/node_modules is installed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from graphql import GraphQLInterfaceType, GraphQLUnionType, build_schema

from tests.node_examples import EXAMPLES_JS, node_with_examples

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate them with `npm run codegen --prefix examples/js` and commit them"


def _possible_types_from_schema() -> dict[str, list[str]]:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    return {
        name: sorted(member.name for member in schema.get_possible_types(kind))
        for name, kind in sorted(schema.type_map.items())
        if isinstance(kind, GraphQLUnionType | GraphQLInterfaceType)
    }


def _committed_possible_types() -> dict[str, list[str]]:
    # The generated module is `export default <JSON>`.
    text = (EXAMPLES_JS / "generated" / "possible-types.js").read_text()
    prefix = "export default"
    assert text.strip().startswith(prefix), text[:200]
    return json.loads(text.strip()[len(prefix) :].strip().rstrip(";"))["possibleTypes"]


def test_committed_possible_types_match_the_schema():
    committed = _committed_possible_types()
    assert committed == _possible_types_from_schema(), (
        f"examples/js/generated/possible-types.js drifted from schema.graphql: {REGENERATE}"
    )
    # Every mutation's union has its error types in it: Apollo needs them to read `... on Error`.
    assert "ValidationError" in committed["PaymentResult"]
    assert "InsufficientFunds" in committed["Error"]


async def test_codegen_output_matches_the_schema():
    node = node_with_examples()  # skips (fails under WALLETQL_REQUIRE_NODE=1) without node_modules
    process = await asyncio.create_subprocess_exec(
        node, "node_modules/.bin/graphql-codegen", "--config", "codegen.ts", "--check",
        cwd=EXAMPLES_JS, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, (
        f"examples/js/generated/ drifted from schema.graphql: {REGENERATE}\n"
        f"{output.decode()[-2000:]}"
    )
