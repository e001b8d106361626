"""Inputs built straight from graphql-core's values give what Strawberry's own conversion gives."""

from __future__ import annotations

import contextlib
import itertools

import pytest
import strawberry
from strawberry.types.arguments import convert_argument

from tests.conftest import FAST_PATHS
from walletql.api import build_schema
from walletql.schema import inputs
from walletql.settings import Settings
from walletql.shortcuts.strawberry import build_inputs_directly

NESTING = {inputs.BatchItemInput, inputs.BatchInput}  # inputs of inputs, tested on their own
DIRECT = [cls for cls in inputs.BUILT_DIRECTLY if cls not in NESTING]


@contextlib.contextmanager
def _built(classes, directly: bool):
    """These inputs built directly (the shortcut) or by Strawberry's own conversion, then as
    the run was."""
    build_inputs_directly(classes, directly)
    try:
        yield
    finally:
        build_inputs_directly(classes, FAST_PATHS)


def _values(cls, converter) -> list[dict]:
    """Every field given (some text, or empty), omitted or null, in every combination."""
    fields = cls.__strawberry_definition__.fields
    names = [converter.from_field(f) for f in fields]
    values = []
    for choice in itertools.product(("text", "empty", "omitted", "null"), repeat=len(names)):
        value = {}
        for name, how in zip(names, choice, strict=True):
            if how == "text":
                value[name] = f"v-{name}"
            elif how == "empty":
                value[name] = ""
            elif how == "null":
                value[name] = None
        values.append(value)
    return values


def test_the_money_inputs_are_built_directly():
    names = {cls.__name__ for cls in DIRECT}
    assert {"TransferInput", "ChargeInput", "DepositInput", "WithdrawInput"} <= names
    assert "SignupInput" not in names  # an enum and a nested input: Strawberry converts it


@pytest.mark.parametrize("cls", DIRECT, ids=lambda cls: cls.__name__)
def test_built_directly_equals_strawberrys_conversion(cls):
    schema = build_schema(Settings())
    registry, config = schema.schema_converter.scalar_registry, schema.config
    values = _values(cls, config.name_converter)
    assert len(values) == 4 ** len(cls.__strawberry_definition__.fields)
    for value in values:
        with _built([cls], directly=True):
            assert cls.__strawberry_definition__.from_input is not None
            direct = convert_argument(value, cls, registry, config)
        with _built([cls], directly=False):
            assert cls.__strawberry_definition__.from_input is None
            generic = convert_argument(value, cls, registry, config)
        assert type(direct) is cls
        assert vars(direct) == vars(generic), value


def test_a_batch_built_directly_equals_strawberrys_conversion():
    """Inputs of inputs (a batch, its items, their movements), a list among them."""
    schema = build_schema(Settings())
    registry, config = schema.schema_converter.scalar_registry, schema.config
    transfer = {"fromWalletId": "a", "toWalletId": "b", "amount": "1", "idempotencyKey": "k"}
    refund = {"transactionId": "t", "idempotencyKey": "r", "reason": None}
    value = {
        "atomic": True,
        "items": [
            {"transfer": transfer},
            {"refund": refund, "deposit": None},
            {"applyOperation": {"walletId": "w", "operation": "X", "idempotencyKey": "o"}},
            {},
        ],
    }
    classes = [*NESTING, *DIRECT]
    with _built(classes, directly=True):
        direct = convert_argument(value, inputs.BatchInput, registry, config)
    with _built(classes, directly=False):
        generic = convert_argument(value, inputs.BatchInput, registry, config)
    assert type(direct) is inputs.BatchInput
    assert direct.atomic is True and len(direct.items) == 4
    for mine, theirs in zip(direct.items, generic.items, strict=True):
        assert type(mine) is type(theirs) is inputs.BatchItemInput
        for name, field in vars(theirs).items():
            ours = getattr(mine, name)
            assert type(ours) is type(field), name
            assert (vars(ours) if field is not None else ours) == (
                vars(field) if field is not None else None
            ), name


def test_an_input_with_a_field_not_built_directly_is_refused_on_first_use():
    @strawberry.input
    class Nested:
        company: inputs.CompanyInput  # converted by Strawberry, not built directly

    schema = build_schema(Settings())
    with (
        _built([Nested], directly=True),
        pytest.raises(TypeError, match="Nested.company is not built directly"),
    ):
        convert_argument(
            {"company": {"name": "x"}},
            Nested,
            schema.schema_converter.scalar_registry,
            schema.config,
        )
