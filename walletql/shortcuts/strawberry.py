"""Strawberry internals: its validation function and graphql-core schema, the marks it leaves on
the fields it builds, and building inputs directly from graphql-core's values.

Each has a public counterpart that plain mode uses (WALLETQL_FAST_PATHS=false), and a test that
runs both and compares them: tests/api/test_security.py and test_query_cost.py (documents),
tests/api/test_plain_fields.py (plain fields), tests/api/test_inputs.py (inputs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, cast

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    get_nullable_type,
    is_leaf_type,
    parse,
)
from strawberry.schema.compat import is_scalar
from strawberry.schema.schema import validate_document
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    get_object_definition,
)
from strawberry.types.execution import ParseOptions

if TYPE_CHECKING:
    from strawberry import Schema


def validated(schema: Schema, document: DocumentNode, rules: tuple) -> list[GraphQLError]:
    """What Strawberry's own validation step answers: its validate_document (Strawberry's rules
    added to `rules`) on the graphql-core schema it built (`_schema`)."""
    return validate_document(schema._schema, document, rules)


class Documents:
    """Parsed documents and their validation errors, by query text, the most recently used
    kept, bounded by memory rather than by count: anyone may send distinct documents, and a
    count bound let 1,024 documents of 1 MiB each hold 2 GB in a worker. A parsed document
    takes about TREE_FACTOR times its text; one whose text is longer than `max_document` is
    parsed and validated for its request and not kept. Keyed by the text, which decides the
    document (the parse options never change): hashing a string costs nothing beside
    hashing a parsed tree, as Strawberry's ValidationCache does."""

    TREE_FACTOR = 64

    def __init__(self, max_bytes: int, max_document: int) -> None:
        self._cache: LRUCache[str, _Document] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: entry.weight
        )
        self.max_document = max_document

    def __len__(self) -> int:
        return len(self._cache)

    def parse(self, query: str, options: ParseOptions) -> DocumentNode:
        entry = self._cache.get(query)
        if entry is not None:
            return entry.document
        document = parse(query, **options)
        if len(query) <= self.max_document:
            self._cache[query] = _Document(document, (len(query) + 64) * self.TREE_FACTOR)
        return document

    def errors(self, schema, query: str, document: DocumentNode, rules: tuple) -> list:
        entry = self._cache.get(query)
        if entry is not None and entry.document is document:
            errors = entry.errors.get(rules)
            if errors is None:
                errors = entry.errors[rules] = validated(schema, document, rules)
            return errors
        return validated(schema, document, rules)


@dataclass(slots=True)
class _Document:
    document: DocumentNode
    weight: int
    errors: dict[tuple, list] = field(default_factory=dict)


class PlainField(NamedTuple):
    attribute: str
    return_type: GraphQLOutputType
    leaf_type: GraphQLLeafType | None  # a scalar or enum, or
    object_type: GraphQLObjectType | None  # an object type that needs no is_type_of check


_PLAIN_FIELDS = "walletql-plain-fields"  # a key of our own in graphql-core's per-type extensions


def plain_field(parent_type: GraphQLObjectType, field_name: str) -> PlainField | None:
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


def build_inputs_directly(classes: Iterable[type], on: bool) -> None:
    """Builds these inputs straight from graphql-core's values (on), or leaves them to
    Strawberry's own conversion (off: `from_input` unset, its default). Each field is a scalar,
    or an input (or a list of inputs) built directly too.

    Strawberry converts an input through its generic type machinery, each field asking what
    its type is: a noticeable part of a transfer's server CPU, and most of a batch's. There is
    nothing to convert (graphql-core has already coerced and parsed each scalar), so each class
    is built from a name map made once: the same result, as tests/api/test_inputs.py checks
    against Strawberry's own conversion."""
    build = _direct_builder() if on else None
    for cls in classes:
        get_object_definition(cls, strict=True).from_input = build


# A field of a directly built input: its GraphQL name, its Python name, and for an input
# field, the input's class and whether the field is a list of them.
_Field = tuple[str, str, type | None, bool]


def _direct_builder() -> Callable[[type, Mapping[str, object], InputContext], object]:
    plans: dict[tuple, tuple[dict[str, None], tuple[_Field, ...]]] = {}

    def build(target: type, value: Mapping[str, object], context: InputContext) -> object:
        key = (target, context.config.name_converter)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _plan(target, context, build)
        unset, fields = plan
        kwargs: dict[str, object] = dict(unset)
        for graphql_name, python_name, nested, many in fields:
            if graphql_name in value:
                given = value[graphql_name]
                if nested is not None and given is not None:
                    if many:
                        given = [build(nested, item, context) for item in given]  # type: ignore[attr-defined]
                    else:
                        given = build(nested, given, context)  # type: ignore[arg-type]
                kwargs[python_name] = given
        return target(**kwargs)

    return build


def _plan(
    cls: type, context: InputContext, build: Callable
) -> tuple[dict[str, None], tuple[_Field, ...]]:
    definition = get_object_definition(cls, strict=True)
    converter = context.config.name_converter
    fields: list[_Field] = []
    for input_field in definition.fields:
        type_ = input_field.resolve_type(type_definition=definition)
        if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
            type_ = type_.of_type
        many = isinstance(type_, StrawberryList)
        if many:
            type_ = type_.of_type  # type: ignore[union-attr]
        nested: type | None = None
        if not is_scalar(type_, context.scalar_registry):
            inner = get_object_definition(type_)
            if inner is None or not inner.is_input or inner.from_input is not build:
                raise TypeError(f"{cls.__name__}.{input_field.python_name} is not built directly")
            nested = cast(type, type_)
        elif many:
            raise TypeError(f"{cls.__name__}.{input_field.python_name}: a list of scalars")
        fields.append((converter.from_field(input_field), input_field.python_name, nested, many))
    # As Strawberry does: a field the client may omit and that has no default is None.
    unset = {
        f.python_name: None
        for f in definition.fields
        if f.default_value is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    return unset, tuple(fields)
