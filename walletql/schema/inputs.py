"""Mutation inputs, named and shaped exactly as in the public contract."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from walletql.models import Scope
from walletql.schema.common import Role
from walletql.schema.scalars import DateTime, MoneyInput

InputClass = TypeVar("InputClass", bound=type)

# Inputs whose fields are scalars, or inputs built directly too (a batch's items): with
# WALLETQL_FAST_PATHS on, built straight from graphql-core's values
# (walletql.shortcuts.strawberry.build_inputs_directly).
BUILT_DIRECTLY: list[type] = []


def built_directly(cls: InputClass) -> InputClass:
    BUILT_DIRECTLY.append(cls)
    return cls


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


@built_directly
@strawberry.input(description="Email and password.")
class LoginInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="Password.")


@strawberry.input(description="A new password for the caller.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="As at signup: at least 10 characters.")


@built_directly
@strawberry.input(description="A new wallet.")
class CreateWalletInput:
    currency: str = strawberry.field(description='Currency code, e.g. "USD".')
    label: str | None = strawberry.field(
        default=None, description="Optional name, unique per owner (case-insensitive)."
    )


@built_directly
@strawberry.input(description="Money in from outside, to one of your wallets.")
class DepositInput:
    wallet_id: strawberry.ID = strawberry.field(description="Your wallet.")
    amount: MoneyInput = strawberry.field(description="Positive, within the currency's decimals.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    description: str | None = strawberry.field(default=None, description="Free text, <= 500.")


@built_directly
@strawberry.input(description="Money out to the outside, from one of your wallets.")
class WithdrawInput:
    wallet_id: strawberry.ID = strawberry.field(description="Your wallet.")
    amount: MoneyInput = strawberry.field(description="Positive, within the currency's decimals.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    description: str | None = strawberry.field(default=None, description="Free text, <= 500.")


@built_directly
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


@built_directly
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


@built_directly
@strawberry.input(description="Apply a configured ledger operation to a wallet (operators).")
class ApplyOperationInput:
    wallet_id: strawberry.ID = strawberry.field(description="The target wallet.")
    operation: str = strawberry.field(description="A configured operation code.")
    idempotency_key: str = strawberry.field(description="The nonce: same key, same outcome.")


@built_directly
@strawberry.input(
    description="Merchants only: reserve funds on a customer's wallet, found by its payment "
    "token, for a later capture."
)
class AuthorizeInput:
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
        description="The merchant's own wallet a capture credits; default as for a charge.",
    )
    expires_in_seconds: int | None = strawberry.field(
        default=None,
        description="Default WALLETQL_HOLD_TTL_SECONDS (7 days); 1 second to 30 days.",
    )


@built_directly
@strawberry.input(
    description="The merchant that placed the hold: move `amount` of it (default: all that "
    "remains) to the merchant's wallet. Several partial captures are allowed while something "
    "remains; `final: true` releases the rest after this capture (two postings on the "
    "customer's wallet: the CAPTURE, then a RELEASE; none when nothing remains)."
)
class CaptureInput:
    hold_id: strawberry.ID = strawberry.field(description="The hold.")
    amount: MoneyInput | None = strawberry.field(
        default=None, description="Default: all that remains."
    )
    final: bool | None = strawberry.field(
        default=False, description="Release what remains after this capture."
    )
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )


@built_directly
@strawberry.input(description="The merchant that placed the hold: release all that remains of it.")
class VoidHoldInput:
    hold_id: strawberry.ID = strawberry.field(description="The hold.")
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )


@built_directly
@strawberry.input(
    description="Return part (default: all that is still refundable) of a CHARGE, CAPTURE or "
    "TRANSFER to the wallet it came from. Allowed to the owner of the wallet that received it, "
    "and to operators; the payer gets Forbidden, anyone else NotFound. Several partial refunds "
    "are allowed; together they never exceed the original amount. The refund is a debit of the "
    "receiving wallet: InsufficientFunds when it lacks the money (recorded as a REJECTED REFUND)."
)
class RefundInput:
    transaction_id: strawberry.ID = strawberry.field(description="The payment to refund.")
    amount: MoneyInput | None = strawberry.field(
        default=None, description="Default: all that is still refundable."
    )
    idempotency_key: str = strawberry.field(
        description="Same key and input: replayed, not repeated."
    )
    reason: str | None = strawberry.field(default=None, description="Up to 500 characters.")


@built_directly
@strawberry.input(description="Exactly one field is set.")
class BatchItemInput:
    deposit: DepositInput | None = strawberry.field(default=None, description="A deposit.")
    withdraw: WithdrawInput | None = strawberry.field(default=None, description="A withdrawal.")
    transfer: TransferInput | None = strawberry.field(default=None, description="A transfer.")
    charge: ChargeInput | None = strawberry.field(default=None, description="A charge.")
    refund: RefundInput | None = strawberry.field(default=None, description="A refund.")
    apply_operation: ApplyOperationInput | None = strawberry.field(
        default=None, description="An operation (operators)."
    )


@built_directly
@strawberry.input(
    description="Up to WALLETQL_MAX_BATCH (default 1,000) postings in one request, each under "
    "its own idempotency key and with the same rules as its single mutation. atomic: true posts "
    "all of them in one database transaction or none: the first item that would fail is "
    "reported in BatchRejected and nothing is written (no REJECTED record either), so the same "
    "batch can be sent again once fixed. atomic: false posts each item on its own, in order, "
    "each answering as its single mutation would."
)
class BatchInput:
    atomic: bool = strawberry.field(description="All or nothing.")
    items: list[BatchItemInput] = strawberry.field(description="The postings, in order.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="1 to 100 characters, to recognise it by.")
    scopes: list[Scope] = strawberry.field(
        description="At least one; OPERATIONS only for operators."
    )
    expires_at: DateTime | None = strawberry.field(
        default=None, description="In the future; default never."
    )


@built_directly
@strawberry.input(description="A wallet and why its status changes.")
class WalletStatusInput:
    wallet_id: strawberry.ID = strawberry.field(description="Any wallet.")
    reason: str = strawberry.field(description="1 to 500 characters; kept in the audit log.")
