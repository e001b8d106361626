"""The depth and alias limits (WALLETQL_MAX_QUERY_DEPTH, WALLETQL_MAX_ALIASES), as graphql-core
validation rules that walk each fragment once.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walked a fragment again at every spread:
fragments F0..F22, each spreading the next twice (a 1 KB document), took a worker 20 s of CPU
per request, unauthenticated, doubling with each fragment more. Here a fragment's own selections
are walked once (`Shape`), and what it adds to an operation is memoized by its name: its depth
(the deepest it reaches below its spread) and its aliases (counted at each spread, so a fragment
spread twice counts its aliases twice, as in the document the server would run). The walk
follows spreads with an explicit stack, not recursion: a chain of 600 fragments made
Strawberry's depth rule fail with RecursionError (an INTERNAL_SERVER_ERROR).

What is measured is Strawberry's (0.341), with the same messages:
- depth: each node (field, fragment spread, inline fragment) is one level below the field that
  selects it; an operation's root fields are at 0. An operation with a node deeper than the limit
  is refused with "'<operation name or anonymous>' exceeds maximum operation depth of <limit>",
  located at the first such node in document order (one error per operation; Strawberry repeated
  it for every path there, once per spread). The selections of an introspection field (`__schema`,
  `__type`) are not measured: the schema bounds them (and graphql-core's
  MaxIntrospectionDepthRule their nesting).
- aliases: every aliased field of every operation, fragments counted at each spread, introspection
  included; above the limit the document is refused with "<count> aliases found. Allowed:
  <limit>".
A spread of an unknown fragment adds nothing (KnownFragmentNamesRule reports it; Strawberry's depth
rule raised KeyError, an INTERNAL_SERVER_ERROR), nor does a spread that closes a cycle
(NoFragmentCyclesRule reports it). The errors carry no code: walletql.api.client_error codes them
BAD_USER_INPUT like every validation error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

# An alias count stops growing here: the count of a document within it is exact, and one beyond
# it (fragments nested thousands deep, each spread twice, under raised token limits) still prints.
ALIAS_CEILING = 2**63


def depth_limit(max_depth: int) -> type[ValidationRule]:
    """The rule refusing an operation deeper than `max_depth`. Build it once: graphql-core and
    walletql's validation cache key on the rule classes."""

    class QueryDepthLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            shape = Shape(node)
            for operation in shape.operations:
                deep = shape.too_deep(operation, max_depth)
                if deep is not None:
                    name = operation.name.value if operation.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}", deep
                        )
                    )

    return QueryDepthLimit


def alias_limit(max_aliases: int) -> type[ValidationRule]:
    """The rule refusing a document of more than `max_aliases` aliased fields. Build it once."""

    class AliasLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            shape = Shape(node)
            total = min(sum(shape.aliases(o) for o in shape.operations), ALIAS_CEILING)
            if total > max_aliases:
                found = f"More than {ALIAS_CEILING - 1}" if total >= ALIAS_CEILING else total
                self.report_error(GraphQLError(f"{found} aliases found. Allowed: {max_aliases}"))

    return AliasLimit


@dataclass(frozen=True, slots=True)
class _Own:
    """What a definition's own selections hold, its fragment spreads not followed."""

    depth: int  # of its deepest node, its root selections at 0
    aliases: int
    spreads: tuple[tuple[str, int | None], ...]  # name, level (None: under an introspection field)


class Shape:
    """The depth and aliases of a document's operations, each definition's selections walked
    once (`walks` counts it, by fragment name; `visits` counts the selections visited), and
    what each fragment adds kept by name."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        # Of two fragments of one name the last is kept, as graphql-core and Strawberry do
        # (UniqueFragmentNamesRule refuses the document).
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        self.walks: Counter[str] = Counter()
        self.visits = 0
        self._own: dict[str, _Own] = {}  # by fragment name
        self._operations: dict[int, _Own] = {}  # by id() of the operation
        self._totals: dict[str, tuple[int, int]] = {}  # fragment: (depth, aliases), spreads in

    def depth(self, operation: OperationDefinitionNode) -> int:
        """The level of the operation's deepest node (its root fields at 0)."""
        return self._total(self._operation(operation))[0]

    def aliases(self, operation: OperationDefinitionNode) -> int:
        """The aliased fields of the operation, fragments counted at each spread."""
        return self._total(self._operation(operation))[1]

    def too_deep(self, operation: OperationDefinitionNode, max_depth: int) -> Node | None:
        """The operation's first node, in document order, deeper than `max_depth`; None if none.
        The walk enters only a fragment holding such a node, so each fragment at most once."""
        if self.depth(operation) <= max_depth:
            return None
        entered: set[str] = set()
        stack: list[tuple[Node, int]] = [
            (s, 0) for s in reversed(operation.selection_set.selections)
        ]
        while stack:
            node, level = stack.pop()
            self.visits += 1
            if level > max_depth:
                return node
            selections: SelectionSetNode | None = None
            if isinstance(node, FieldNode):
                if not _introspection(node):
                    selections, level = node.selection_set, level + 1
            elif isinstance(node, InlineFragmentNode):
                selections = node.selection_set
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if (
                    fragment is not None
                    and name not in entered
                    and level + self._total(self._fragment(name))[0] > max_depth
                ):
                    entered.add(name)
                    selections = fragment.selection_set
            if selections is not None:
                stack.extend((s, level) for s in reversed(selections.selections))
        return operation  # only a fragment cycle gets here (NoFragmentCyclesRule refuses it)

    def _operation(self, operation: OperationDefinitionNode) -> _Own:
        own = self._operations.get(id(operation))
        if own is None:
            own = self._operations[id(operation)] = self._walk(operation.selection_set)
        return own

    def _fragment(self, name: str) -> _Own:
        own = self._own.get(name)
        if own is None:
            self.walks[name] += 1
            own = self._own[name] = self._walk(self.fragments[name].selection_set)
        return own

    def _walk(self, selection_set: SelectionSetNode) -> _Own:
        """One definition's own selections, without following its spreads."""
        depth = aliases = 0
        spreads: list[tuple[str, int | None]] = []
        stack: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, False)]
        while stack:
            selection_set, level, introspection = stack.pop()
            for selection in selection_set.selections:
                self.visits += 1
                if not introspection:  # an introspection field's selections are not measured
                    depth = max(depth, level)
                if isinstance(selection, FieldNode):
                    if selection.alias is not None:
                        aliases += 1
                    if selection.selection_set is not None:
                        below = introspection or _introspection(selection)
                        stack.append((selection.selection_set, level + 1, below))
                elif isinstance(selection, InlineFragmentNode):
                    stack.append((selection.selection_set, level, introspection))
                elif isinstance(selection, FragmentSpreadNode):
                    spreads.append((selection.name.value, None if introspection else level))
        return _Own(depth, aliases, tuple(spreads))

    def _total(self, own: _Own) -> tuple[int, int]:
        """A definition's depth and aliases, with what its spreads add. The fragments it spreads
        are summed first, children before parents, with a stack; a spread that closes a cycle
        (its fragment on the stack) adds nothing."""
        path = [iter(own.spreads)]
        names: list[str | None] = [None]  # the fragment of each entry of `path`
        on_path: set[str] = set()
        while path:
            for name, _level in path[-1]:
                if name in self.fragments and name not in self._totals and name not in on_path:
                    path.append(iter(self._fragment(name).spreads))
                    names.append(name)
                    on_path.add(name)
                    break
            else:
                path.pop()
                done = names.pop()
                if done is not None:
                    on_path.discard(done)
                    self._totals[done] = self._sum(self._fragment(done))
        return self._sum(own)

    def _sum(self, own: _Own) -> tuple[int, int]:
        depth, aliases = own.depth, own.aliases
        for name, level in own.spreads:
            total = self._totals.get(name)
            if total is None:  # unknown, or closing a cycle
                continue
            if level is not None:
                depth = max(depth, level + total[0])
            aliases = min(aliases + total[1], ALIAS_CEILING)
        return depth, aliases


def _introspection(field: FieldNode) -> bool:
    return field.name.value.startswith("__")
