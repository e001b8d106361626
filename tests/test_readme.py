"""Every ```graphql block in README.md is valid against schema.graphql, as pasted in GraphiQL:
each operation of a block on its own (with the block's fragments), variables declared.
A block that fails names its line and graphql-core's message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import DocumentNode, OperationDefinitionNode, build_schema, parse, validate

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(markdown: str) -> dict[str, str]:
    """The graphql blocks, by the line their fence opens on."""
    return {
        f"README.md:{markdown.count(chr(10), 0, match.start()) + 1}": match.group(1)
        for match in FENCE.finditer(markdown)
    }


BLOCKS = blocks((REPO / "README.md").read_text())


def problems(block: str, schema) -> list[str]:
    document = parse(block)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    others = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode)]
    found = []
    for operation in operations:
        alone = DocumentNode(definitions=(operation, *others))
        found += [error.message for error in validate(schema, alone)]
    return found if operations else ["no operation in the block"]


def test_the_readme_has_graphql_blocks():
    assert len(BLOCKS) >= 3  # the first session, holds and refunds, batches


@pytest.mark.parametrize("where", BLOCKS.keys())
def test_a_readme_graphql_block_is_valid(where):
    schema = build_schema((REPO / "schema.graphql").read_text())
    assert problems(BLOCKS[where], schema) == [], where


def test_an_invalid_block_is_caught():
    """The check itself: the charge document the README once had (`transaction` twice, of
    conflicting types) and an unknown field fail."""
    schema = build_schema((REPO / "schema.graphql").read_text())
    conflicting = """mutation { charge(input: {walletToken: "t", amount: "1", idempotencyKey: "k",
      description: "d"}) { ... on PaymentPayload { transaction { id } }
      ... on InsufficientFunds { transaction { id } } } }"""
    assert any("conflict" in p for p in problems(conflicting, schema))
    assert problems("{ me { nope } }", schema)
    assert problems("query($w: ID!) { wallet(id: $v) { id } }", schema)
