"""graphql-core's executor as walletql runs it: without its reference cycle, with plain fields
read directly, and with one result per event for subscribers that asked the same thing."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict

from graphql import (
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    OperationType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class Execution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor without its reference cycle.

    It keeps its own bound methods (`async_helpers`), so every executor was in a cycle, and with
    it everything it reaches: the context, the request, the results, ~90 objects per request.
    Only the garbage collector could free them, in pauses of 5-18 ms under load
    (bench/FINDINGS.md, finding 12). Through a weak reference, reference counting frees a
    request's objects as soon as it is answered. Resolvers run only while their executor is
    alive (it is on the stack)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        executor = weakref.ref(self)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=lambda values: gather_with_cancel(*values),
            track=lambda values: executor().track_async_work(values),
        )

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        """A field that only reads an attribute holding a scalar or enum value is most of a
        page's fields (~180 of a 20-edge history page's ~240). graphql-core builds a resolve
        info, calls the resolver chain and walks the type for each; read and serialize it
        directly instead. Anything else, or anything unusual (null, a value the type refuses,
        field middleware), takes graphql-core's own path, which reports it as it always did."""
        plain = _plain_leaf(parent_type, field_details_list[0].node.name.value)
        if plain is not None and not _has_middleware(self):
            attribute, leaf_type = plain
            try:
                value = leaf_type.coerce_output_value(getattr(source, attribute))
            except Exception:  # noqa: BLE001 - graphql-core's path below reports it
                value = None
            if value is not None and value is not Undefined:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


def _has_middleware(execution: Execution) -> bool:
    # Strawberry always passes a manager; it wraps resolvers only when an extension has `resolve`.
    manager = execution.middleware_manager
    return manager is not None and bool(manager.middlewares)


_PLAIN_LEAVES = "walletql-plain-leaves"  # a key of our own in graphql-core's per-type extensions


def _plain_leaf(parent_type: GraphQLObjectType, field_name: str) -> tuple | None:
    """(attribute, scalar or enum type) when the field is a Strawberry field without resolver,
    arguments or extensions whose type is a scalar or enum; else None. Worked out once per field,
    and kept on the type, which lives exactly as long as its schema."""
    known = parent_type.extensions.get(_PLAIN_LEAVES)
    if known is None:
        known = parent_type.extensions[_PLAIN_LEAVES] = {}
    elif field_name in known:
        return known[field_name]
    plan = None
    field = parent_type.fields.get(field_name)
    if field is not None and getattr(field.resolve, "_is_default", False) and not field.args:
        leaf_type = get_nullable_type(field.type)
        definition = field.extensions.get("strawberry-definition")
        if is_leaf_type(leaf_type) and definition is not None:
            plan = (definition.python_name, leaf_type)
    known[field_name] = plan
    return plan


class SharedEventExecution(Execution):
    """A posting reaches every subscriber of its wallet at once, and nothing under
    BalanceUpdate depends on who is asking: subscribers that sent the same document and
    variables get one result, computed once per event instead of once per subscriber."""

    _results: OrderedDict = OrderedDict()
    _MAX = 256

    def execute_operation(self, serially=None):
        event = getattr(self.root_value, "event_key", None)
        if event is None or self.operation.operation != OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        key = (event, id(self.operation), _variables_key(self.variable_values.coerced))
        cached = self._results.get(key)
        if cached is None or cached[0] is not self.operation:  # an id() reused after GC
            result = super().execute_operation(serially)
            if self.is_awaitable(result):
                result = asyncio.ensure_future(result)
            cached = (self.operation, result)
            self._results[key] = cached
            while len(self._results) > self._MAX:
                self._results.popitem(last=False)
        result = cached[1]
        return _shared(result) if isinstance(result, asyncio.Future) else result


def _variables_key(coerced: dict) -> object:
    try:
        return frozenset(coerced.items())  # IDs and numbers: hashable, and cheap
    except TypeError:  # a list or an input object among them
        return json.dumps(coerced, sort_keys=True, default=str)


async def _shared(result: asyncio.Future):
    return result.result() if result.done() else await asyncio.shield(result)
