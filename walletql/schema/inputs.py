"""Mutation inputs, named and shaped exactly as in the public contract."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TypeVar

import strawberry
from strawberry.schema.compat import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryMaybe, StrawberryOptional, get_object_definition

from walletql.schema.common import Role
from walletql.schema.scalars import MoneyInput

InputClass = TypeVar("InputClass", bound=type)


def scalar_fields_only(cls: InputClass) -> InputClass:
    """Builds the input straight from graphql-core's values instead of field by field.

    Strawberry converts an input through its generic type machinery, each field asking what
    its type is: ~55 us for TransferInput, 2-4% of a transfer's server CPU. When every field is
    a scalar there is nothing to convert (graphql-core has already coerced and parsed each
    value), so the class is built from a name map made once: the same result, as
    tests/api/test_inputs.py checks against Strawberry's own conversion."""
    plans: dict[tuple, tuple[dict[str, None], tuple[tuple[str, str], ...]]] = {}

    def build(target: type, value: Mapping[str, object], context: InputContext) -> object:
        key = (target, context.config.name_converter)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _plan(target, context)
        unset, fields = plan
        kwargs: dict[str, object] = dict(unset)
        for graphql_name, python_name in fields:
            if graphql_name in value:
                kwargs[python_name] = value[graphql_name]
        return target(**kwargs)

    get_object_definition(cls, strict=True).from_input = build
    return cls


def _plan(cls: type, context: InputContext) -> tuple[dict[str, None], tuple[tuple[str, str], ...]]:
    definition = get_object_definition(cls, strict=True)
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
            type_ = type_.of_type
        if not is_scalar(type_, context.scalar_registry):
            raise TypeError(f"{cls.__name__}.{field.python_name} is not a scalar")
    # As Strawberry does: a field the client may omit and that has no default is None.
    unset = {
        f.python_name: None
        for f in definition.fields
        if f.default_value is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    converter = context.config.name_converter
    fields = tuple((converter.from_field(f), f.python_name) for f in definition.fields)
    return unset, fields


@strawberry.input(description="A merchant's company.")
class CompanyInput:
    name: str = strawberry.field(description="Company name, shown on customers' statements.")
    url: str | None = strawberry.field(default=None, description="Company website (http/https).")


@strawberry.input(description="A new customer or merchant account.")
class SignupInput:
    email: str = strawberry.field(description="Sign-in email; unique, case-insensitive.")
    password: str = strawberry.field(
        description="At least 10 characters, not all digits, not only whitespace; no control "
        "characters."
    )
    name: str = strawberry.field(description="Display name.")
    phone: str | None = strawberry.field(
        default=None, description="E.164, e.g. +34666666666; unique when given."
    )
    role: Role = strawberry.field(
        default=Role.CUSTOMER,
        description="CUSTOMER or MERCHANT; OPERATOR is refused. A signup wallet "
        "(WALLETQL_SIGNUP_WALLET_CURRENCY) counts toward the wallet limit.",
    )
    company: CompanyInput | None = strawberry.field(
        default=None, description="Required for MERCHANT."
    )


@scalar_fields_only
@strawberry.input(description="Email and password.")
class LoginInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="Password.")


@scalar_fields_only
@strawberry.input(description="A new wallet.")
class CreateWalletInput:
    currency: str = strawberry.field(description='Currency code, e.g. "USD".')
    label: str | None = strawberry.field(
        default=None, description="Optional name, unique per owner (case-insensitive)."
    )


@scalar_fields_only
@strawberry.input(description="Money in from outside, to one of your wallets.")
class DepositInput:
    wallet_id: strawberry.ID = strawberry.field(description="Your wallet.")
    amount: MoneyInput = strawberry.field(description="Positive, within the currency's decimals.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    description: str | None = strawberry.field(default=None, description="Free text, <= 500.")


@scalar_fields_only
@strawberry.input(description="Money out to the outside, from one of your wallets.")
class WithdrawInput:
    wallet_id: strawberry.ID = strawberry.field(description="Your wallet.")
    amount: MoneyInput = strawberry.field(description="Positive, within the currency's decimals.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    description: str | None = strawberry.field(default=None, description="Free text, <= 500.")


@scalar_fields_only
@strawberry.input(
    description="Exactly one of toWalletId and toUserId. With toUserId the recipient's oldest "
    "ACTIVE wallet in the source wallet's currency is used."
)
class TransferInput:
    from_wallet_id: strawberry.ID = strawberry.field(description="Your wallet to debit.")
    to_wallet_id: strawberry.ID | None = strawberry.field(
        default=None, description="Any wallet in the same currency."
    )
    to_user_id: strawberry.ID | None = strawberry.field(default=None, description="A user.")
    amount: MoneyInput = strawberry.field(description="Positive, within the currency's decimals.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    description: str | None = strawberry.field(default=None, description="Free text, <= 500.")


@scalar_fields_only
@strawberry.input(description="A merchant pulling money from a customer's wallet.")
class ChargeInput:
    wallet_token: str = strawberry.field(description="The customer's wallet payment token.")
    amount: MoneyInput = strawberry.field(description="Positive, within the currency's decimals.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    description: str = strawberry.field(
        description="Shown on the customer's statement; 1 to 140 characters."
    )
    to_wallet_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The merchant's own wallet to credit; default: the merchant's oldest ACTIVE "
        "wallet in the charged currency.",
    )


@scalar_fields_only
@strawberry.input(description="Apply a configured ledger operation to a wallet (operators).")
class ApplyOperationInput:
    wallet_id: strawberry.ID = strawberry.field(description="The target wallet.")
    operation: str = strawberry.field(description="A configured operation code.")
    idempotency_key: str = strawberry.field(description="The nonce: same key, same outcome.")
