"""What a query may cost: the number of values it may return, counted before it runs.

Depth and alias limits do not bound the work of a query: 29 aliased `history(first: 100)` on
each of 50 wallets stayed within both and took a worker for seconds. So every operation is
priced before execution: each field counts once per object it may be resolved on, a list
field multiplies what is below it by how many items it may hold (a paginated field's `first`,
or what the settings allow, or LIST_SIZE), and aliases count as the separate fields they are.
An operation priced above the limit is refused with BAD_USER_INPUT naming the limit; nothing
runs. A list whose length only the data knows (a user's wallets, when the settings put no limit
on them) is priced at LIST_SIZE, then charged again when it is read (`Request.charge`): the
items beyond the price add their own, and the field fails when the total passes the limit. Introspection fields (`__schema`, `__type`, `__typename`) are free: they are bounded by
the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLList,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
)

LIST_SIZE = 10  # items assumed in a list the settings do not bound
PAGE_ARGUMENT = "first"


class QueryTooCostly(GraphQLError):
    """Raised by a field whose items, once read, take the operation past the limit."""


class Pricing:
    """How to price an operation of one schema: its list sizes and its limit."""

    def __init__(self, schema: GraphQLSchema, limit: int, list_sizes: Mapping) -> None:
        self.schema = schema
        self.limit = limit
        self.list_sizes = list_sizes  # (type name, field name) -> items

    def refusal(self, document, operation_name: str | None, variables) -> GraphQLError | None:
        """The error that refuses this operation, or None when it is within the limit."""
        cost = self.cost(document, operation_name, variables)
        return None if cost <= self.limit else GraphQLError(**self.too_costly(cost))

    def too_costly(self, cost: int) -> dict:
        """The refusal of an operation that may return `cost` values (GraphQLError's keywords)."""
        return {
            "message": f"This query may return {cost:,} values, more than the limit of "
            f"{self.limit:,} (WALLETQL_MAX_QUERY_COST): ask for fewer items per page (first) or "
            "fewer aliases, or split it.",
            "extensions": {"code": "BAD_USER_INPUT", "cost": cost, "limit": self.limit},
        }

    def list_size(self, type_name: str, field_name: str) -> int:
        """The length priced for a list field that has no page size."""
        return self.list_sizes.get((type_name, field_name), LIST_SIZE)

    def cost(self, document, operation_name: str | None, variables) -> int:
        return self.price(document, operation_name, variables).cost

    def price(self, document, operation_name: str | None, variables) -> Price:
        """The operation's cost, and per list field priced at a guess (type, field), what
        one more item of it costs (the most, where it occurs more than once)."""
        fragments: dict[str, FragmentDefinitionNode] = {}
        operation = None
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode) and (
                operation_name is None
                or (definition.name is not None and definition.name.value == operation_name)
            ):
                operation = operation or definition
        if operation is None:
            return Price(0, {}, False)  # graphql-core reports the missing operation itself
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return Price(0, {}, False)
        walk = _Walk(self, fragments, variables if isinstance(variables, dict) else {})
        cost = walk.selections(operation.selection_set, root, 1, None, frozenset())
        return Price(cost, walk.per_item, walk.read_variables)


class Price(NamedTuple):
    cost: int
    per_item: dict[tuple[str, str], int]
    read_variables: bool  # False: the same for any variables (the document's price)


class _Walk:
    def __init__(self, pricing: Pricing, fragments: dict, variables: dict) -> None:
        self.pricing = pricing
        self.fragments = fragments
        self.variables = variables
        self.per_item: dict[tuple[str, str], int] = {}  # lists priced at a guess
        self.fragments_priced: dict[tuple[str, str, int | None], int] = {}
        self.read_variables = False

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent,
        times: int,
        page: int | None,
        seen: frozenset[str],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, times, page, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.pricing.schema.get_type(selection.type_condition.name.value)
                if target is not None:
                    total += self.selections(selection.selection_set, target, times, page, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # validation reports these
                    continue
                target = self.pricing.schema.get_type(fragment.type_condition.name.value)
                if target is None:
                    continue
                # A fragment costs the same wherever it is spread on the same type and page:
                # priced once, or spreading it twice in each of 20 nested fragments would walk
                # it a million times.
                key = (name, target.name, page)
                unit = self.fragments_priced.get(key)
                if unit is None:
                    unit = self.fragments_priced[key] = self.selections(
                        fragment.selection_set, target, 1, page, seen | {name}
                    )
                total += times * unit
        return total

    def field(self, node: FieldNode, parent, times: int, page: int | None, seen) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        fields = getattr(parent, "fields", None)  # an object or interface; a union has none
        definition = fields.get(name) if fields else None
        if definition is None:
            return times
        total = times
        if node.selection_set is None:
            return total
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return total
        size = 1
        guessed = False
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            guessed = page is None
            size = page if page is not None else self.pricing.list_size(parent.name, name)
            page = None
        if PAGE_ARGUMENT in definition.args:
            page = self._first(node, definition)
        item = self.selections(node.selection_set, named, 1, page, seen)
        if guessed:
            key = (parent.name, name)
            self.per_item[key] = max(self.per_item.get(key, 0), item)
        return total + times * size * item

    def _first(self, node: FieldNode, definition) -> int:
        """The page size asked for; the largest allowed when it cannot be read."""
        argument = next((a for a in node.arguments or () if a.name.value == PAGE_ARGUMENT), None)
        value = _default(definition.args[PAGE_ARGUMENT])
        if argument is not None:
            if isinstance(argument.value, IntValueNode):
                value = _small_int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                self.read_variables = True
                value = self.variables.get(argument.value.name.value, value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PAGE:
            return max(value, 1)
        return MAX_PAGE  # out of range: the field refuses it, but it is priced at the most


MAX_PAGE = 100  # the cap every paginated field applies to `first`


def _default(argument: GraphQLArgument) -> object:
    """The argument's default: a value, or in a schema read from its printed form (as
    build_schema makes Pricing's), the literal it was printed as."""
    if argument.default_value is not Undefined:
        return argument.default_value
    literal = getattr(argument.default, "literal", None)
    return _small_int(literal.value) if isinstance(literal, IntValueNode) else None


def _small_int(text: str) -> int | None:
    return int(text) if len(text) <= 6 else None


def charge_list(context, pricing: Pricing, type_name: str, field_name: str, items: int) -> None:
    """Charge the request for a list field priced at a guess, now that it holds `items`: the
    items beyond the guess add their price (`context.per_item`, from the pricing before the
    operation ran). Raises QueryTooCostly when the request's total passes the limit (the
    field fails; what was read is not returned)."""
    extra = items - pricing.list_size(type_name, field_name)
    if extra <= 0:
        return
    context.cost += extra * context.per_item.get((type_name, field_name), 0)
    if context.cost > pricing.limit:
        raise QueryTooCostly(**pricing.too_costly(context.cost))
