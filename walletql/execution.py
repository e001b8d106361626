"""graphql-core's executor as walletql runs it: without its reference cycle, with plain fields
read directly, and with one result per event for subscribers that asked the same thing."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict
from typing import NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    OperationType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def _alive(executor: weakref.ref[Execution]) -> Execution:
    alive = executor()
    assert alive is not None  # resolvers run while their executor is on the stack
    return alive


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
            track=lambda values: _alive(executor).track_async_work(values),
        )

    def __copy__(self) -> Execution:
        """The same shallow copy as copy's generic protocol, made directly: graphql-core copies
        the executor for every subscriber at every event (`build_per_event_executor`), and
        `__reduce_ex__` made that ~6% of the server's fan-out CPU (finding 23)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        """Most of a page's fields (~220 of a 20-edge history page's ~240) only read an attribute:
        for each, graphql-core builds a resolve info, calls Strawberry's resolver chain and walks
        the field's type. Here a plain field (no resolver, arguments or extensions) holding a
        scalar, an enum or an object is read and completed directly. Anything else or unusual
        (null, an awaitable, a value the type refuses, field middleware) takes graphql-core's
        own path, which reports it as it always did; errors below an object are handled as
        graphql-core's execute_field handles them (tests/api/test_plain_fields.py)."""
        plain = _plain_field(parent_type, field_details_list[0].node.name.value)
        if plain is not None and not _has_middleware(self):
            value = getattr(source, plain.attribute, None)
            if plain.leaf_type is not None:
                served = _served(plain.leaf_type, value)
                if served is not None:
                    return served
            elif value is not None and not _unusual(self, value):
                return self._complete_object(
                    plain, value, field_details_list, path, position_context
                )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _complete_object(self, plain, value, field_details_list, path, position_context):
        try:
            completed = self.collect_and_execute_subfields(
                plain.object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self.handle_field_error(raw_error, plain.return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_object(completed, plain.return_type, field_details_list, path)
        return completed

    async def _await_object(self, completed, return_type, field_details_list, path):
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - located and reported as graphql-core does
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def _served(leaf_type: GraphQLLeafType, value: object) -> object:
    """The value as its scalar or enum serializes it; None when null or refused."""
    if value is None:
        return None
    try:
        served = leaf_type.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - graphql-core's path reports it
        return None
    return None if served is Undefined else served


def _unusual(execution: Execution, value: object) -> bool:
    # graphql-core awaits an awaitable and raises an exception it is given as a field's value
    return execution.is_awaitable(value) or isinstance(value, Exception)


def _has_middleware(execution: Execution) -> bool:
    # Strawberry always passes a manager; it wraps resolvers only when an extension has `resolve`.
    manager = execution.middleware_manager
    return manager is not None and bool(manager.middlewares)


class PlainField(NamedTuple):
    attribute: str
    return_type: GraphQLOutputType
    leaf_type: GraphQLLeafType | None  # a scalar or enum, or
    object_type: GraphQLObjectType | None  # an object type that needs no is_type_of check


_PLAIN_FIELDS = "walletql-plain-fields"  # a key of our own in graphql-core's per-type extensions


def _plain_field(parent_type: GraphQLObjectType, field_name: str) -> PlainField | None:
    """How to read the field directly, or None when graphql-core must resolve it. Worked out
    once per field, and kept on the type, which lives exactly as long as its schema."""
    known = parent_type.extensions.get(_PLAIN_FIELDS)
    if known is None:
        known = parent_type.extensions[_PLAIN_FIELDS] = {}
    elif field_name in known:
        return known[field_name]
    plan = None
    field = parent_type.fields.get(field_name)
    definition = field.extensions.get("strawberry-definition") if field is not None else None
    if definition is not None and getattr(field.resolve, "_is_default", False) and not field.args:
        named = get_nullable_type(field.type)
        if is_leaf_type(named):
            plan = PlainField(definition.python_name, field.type, named, None)
        elif isinstance(named, GraphQLObjectType) and named.is_type_of is None:
            plan = PlainField(definition.python_name, field.type, None, named)
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
