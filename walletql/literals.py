"""Integer literals longer than Python converts, refused before graphql-core validates them.

graphql-core reads an Int literal with `int(text)`, which refuses more digits than
`sys.get_int_max_str_digits()` (4,300 by default, a guard against quadratic conversion) with a
ValueError. Raised inside validation (ValuesOfCorrectTypeRule), that ValueError became an error
whose original error was not a GraphQLError, which walletql reports as its own bug
(INTERNAL_SERVER_ERROR, traceback logged): `history(first: 999...999)` did, and so did a
variable's default value or an amount written as such a literal. Such a document is
refused before validation (walletql.api.RequestLimits), with one error per literal, coded BAD_USER_INPUT like any other
validation error.
"""

from __future__ import annotations

import sys

from graphql import DocumentNode, GraphQLError, IntValueNode, Visitor, visit


class _LongIntegers(Visitor):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.found: list[IntValueNode] = []

    def enter_int_value(self, node: IntValueNode, *_args: object) -> None:
        if len(node.value.lstrip("-")) > self.limit:
            self.found.append(node)


def too_long(document: DocumentNode) -> list[GraphQLError]:
    """An error for each Int literal of `document` that Python will not convert."""
    limit = sys.get_int_max_str_digits()
    if not limit or (document.loc is not None and document.loc.end <= limit):
        return []  # no limit, or a document shorter than one literal could be
    finder = _LongIntegers(limit)
    visit(document, finder)
    return [
        GraphQLError(f"Int literal of {len(node.value.lstrip('-'))} digits: at most {limit}", node)
        for node in finder.found
    ]
