"""graphql-core's executor as walletql runs it with WALLETQL_FAST_PATHS on: without its reference
cycle, with plain fields read directly, and with one result per event for subscribers that asked
the same thing (walletql.fanout). Plain mode runs Strawberry's own executor.

graphql-core internals used here: `async_helpers` (replaced), `__copy__` (made directly),
`execute_field` (overridden), `collect_and_execute_subfields` and `handle_field_error` (called).
tests/api/test_plain_fields.py, test_garbage.py and test_subscription_sharing.py compare each
with graphql-core's own path."""

from __future__ import annotations

import weakref
from functools import partial

from graphql import GraphQLLeafType, GraphQLResolveInfoHelpers, OperationType, Undefined
from graphql.pyutils import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from walletql.fanout import SharedKey, asked_by
from walletql.shortcuts.strawberry import plain_field


def _alive(executor: weakref.ref[Execution]) -> Execution:
    alive = executor()
    assert alive is not None  # resolvers run while their executor is on the stack
    return alive


class Execution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor without its reference cycle.

    It keeps its own bound methods (`async_helpers`), so every executor was in a cycle, and with
    it everything it reaches: the context, the request, the results. Only the garbage
    collector could free them, in pauses that made the latency's tail (bench/FINDINGS.md,
    finding 12). Through a weak reference, reference counting frees a
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
        `__reduce_ex__` made that a visible part of the fan-out's CPU (finding 23)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        """Most of a history page's fields only read an attribute:
        for each, graphql-core builds a resolve info, calls Strawberry's resolver chain and walks
        the field's type. Here a plain field (no resolver, arguments or extensions) holding a
        scalar, an enum or an object is read and completed directly. Anything else or unusual
        (null, an awaitable, a value the type refuses, field middleware) takes graphql-core's
        own path, which reports it as it always did; errors below an object are handled as
        graphql-core's execute_field handles them (tests/api/test_plain_fields.py)."""
        plain = plain_field(parent_type, field_details_list[0].node.name.value)
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


class SharedEventExecution(Execution):
    """Subscribers of the same event, viewer, operation and variables get one result, computed
    once instead of once per subscriber (walletql.fanout: the app's Services.fanout).
    `execute_operation` is graphql-core's public entry to an execution; per-event executors
    are copies of this one (`build_per_event_executor`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked = None  # who asked what (walletql.fanout.asked_by); per-event copies share it
        if self.operation.operation == OperationType.SUBSCRIPTION:
            viewer = getattr(self.context_value, "principal", None)
            self.asked = asked_by(viewer, self.operation, self.variable_values.coerced)

    def execute_operation(self, serially=None):
        services = getattr(self.context_value, "services", None)
        event = getattr(self.root_value, "event_key", None)
        if services is None or event is None or self.asked is None:
            return super().execute_operation(serially)
        key = SharedKey(event, self.asked)
        execute = partial(super().execute_operation, serially)
        return services.fanout.result(key, self.operation, execute)
