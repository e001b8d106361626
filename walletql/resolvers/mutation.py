"""Root mutations. Expected failures come back as data: the result union's error types."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

import strawberry

from walletql import auth
from walletql.cost import charge_list
from walletql.ledger import (
    accounts,
    back_office,
    batches,
    charges,
    holds,
    keys,
    payments,
    posting,
    refunds,
    transfers,
)
from walletql.ledger.errors import LedgerError
from walletql.models import WalletStatus
from walletql.schema.api_key import ApiKey, ApiKeyPayload
from walletql.schema.context import Context
from walletql.schema.errors import as_result
from walletql.schema.hold import Hold
from walletql.schema.inputs import (
    ApplyOperationInput,
    AuthorizeInput,
    BatchInput,
    CaptureInput,
    ChangePasswordInput,
    ChargeInput,
    CreateApiKeyInput,
    CreateWalletInput,
    DepositInput,
    LoginInput,
    RefundInput,
    SignupInput,
    TransferInput,
    VoidHoldInput,
    WalletStatusInput,
    WithdrawInput,
)
from walletql.schema.payloads import (
    ApiKeyResult,
    AuthPayload,
    AuthResult,
    BatchPayload,
    BatchResult,
    HoldPayload,
    HoldResult,
    PaymentPayload,
    PaymentResult,
    WalletPayload,
    WalletResult,
)
from walletql.schema.scalars import DateTime
from walletql.schema.transaction import Transaction
from walletql.schema.user import User
from walletql.schema.wallet import Wallet

if TYPE_CHECKING:
    from walletql.api import WalletSchema


def errors_as_data(resolver):
    @functools.wraps(resolver)
    async def wrapper(*args, **kwargs):
        try:
            return await resolver(*args, **kwargs)
        except LedgerError as exc:
            return as_result(exc)

    return wrapper


def _payment(outcome: posting.Outcome) -> PaymentPayload:
    return PaymentPayload.of(outcome)


def _hold(outcome: posting.Outcome) -> HoldPayload:
    hold = outcome.hold
    assert hold is not None  # a hold's posting always answers its hold
    merchant_wallet = outcome.wallet
    if merchant_wallet is not None and merchant_wallet.id != hold.destination_wallet_id:
        merchant_wallet = None
    return HoldPayload(
        hold=Hold(row=hold),
        transaction=Transaction.of(outcome.transaction),
        wallet_row=merchant_wallet,
        wallet_id=hold.destination_wallet_id,
        replayed=outcome.replayed,
    )


def _session(session: accounts.Session) -> AuthPayload:
    return AuthPayload(
        token=session.token, expires_at=DateTime(session.expires_at), user=User(row=session.user)
    )


@strawberry.type(description="Change the ledger.")
class Mutation:
    @strawberry.mutation(description="Create a customer or merchant account and sign in.")
    @errors_as_data
    async def signup(self, info: strawberry.Info[Context], input: SignupInput) -> AuthResult:
        company = input.company
        return _session(
            await accounts.signup(
                settings=info.context.services.settings,
                email=input.email,
                password=input.password,
                name=input.name,
                phone=input.phone,
                role=input.role.value,
                company_name=company.name if company else None,
                company_url=company.url if company else None,
            )
        )

    @strawberry.mutation(description="Sign in with email and password.")
    @errors_as_data
    async def login(self, info: strawberry.Info[Context], input: LoginInput) -> AuthResult:
        context = info.context
        return _session(
            await accounts.login(
                input.email,
                input.password,
                settings=context.services.settings,
                address=context.client_address,
            )
        )

    @strawberry.mutation(
        description="Revokes the token that made this request (not an API key: revoke it with "
        "revokeApiKey)."
    )
    async def logout(self, info: strawberry.Info[Context]) -> bool:
        principal = info.context.principal
        if principal is not None:
            principal.require_person("log out")
        digest = info.context.token_digest
        return digest is not None and await auth.revoke(digest, info.context.services.live_tokens)

    @strawberry.mutation(
        description="Revokes every other token of the caller; not with an API key. "
        "WEAK_PASSWORD as at signup; a wrong currentPassword is InvalidCredentials."
    )
    @errors_as_data
    async def change_password(
        self, info: strawberry.Info[Context], input: ChangePasswordInput
    ) -> AuthResult:
        context = info.context
        principal = context.require_principal()
        principal.require_person("change the password")
        assert context.token and context.token_digest and context.token_expires_at  # a person's
        return _session(
            await accounts.change_password(
                principal,
                input.current_password,
                input.new_password,
                token=context.token,
                token_digest=context.token_digest,
                expires_at=context.token_expires_at,
                settings=context.services.settings,
                live_tokens=context.services.live_tokens,
                address=context.client_address,
            )
        )

    @strawberry.mutation(description="Open a wallet in a currency.")
    @errors_as_data
    async def create_wallet(
        self, info: strawberry.Info[Context], input: CreateWalletInput
    ) -> WalletResult:
        principal = info.context.require_principal()
        services = info.context.services
        row = await accounts.create_wallet(
            principal,
            input.currency,
            input.label,
            settings=services.settings,
            currencies=services.currencies,
        )
        return WalletPayload(wallet=Wallet(row=row))

    @strawberry.mutation(description="Money in from outside to one of your wallets.")
    @errors_as_data
    async def deposit(self, info: strawberry.Info[Context], input: DepositInput) -> PaymentResult:
        return await _outside(info, payments.deposit, input)

    @strawberry.mutation(description="Money out of one of your wallets to the outside.")
    @errors_as_data
    async def withdraw(self, info: strawberry.Info[Context], input: WithdrawInput) -> PaymentResult:
        return await _outside(info, payments.withdraw, input)

    @strawberry.mutation(description="Move money from one of your wallets to another wallet.")
    @errors_as_data
    async def transfer(self, info: strawberry.Info[Context], input: TransferInput) -> PaymentResult:
        principal = info.context.require_principal()
        services = info.context.services
        return _payment(
            await transfers.transfer(
                principal,
                input.from_wallet_id,
                input.amount,
                input.idempotency_key,
                to_wallet_id=input.to_wallet_id,
                to_user_id=input.to_user_id,
                description=input.description,
                currencies=services.currencies,
                turns=services.turns,
            )
        )

    @strawberry.mutation(
        description="Merchants only: pull money from a customer's wallet identified by its "
        "payment token."
    )
    @errors_as_data
    async def charge(self, info: strawberry.Info[Context], input: ChargeInput) -> PaymentResult:
        principal = info.context.require_principal()
        services = info.context.services
        return _payment(
            await charges.charge(
                principal,
                input.wallet_token,
                input.amount,
                input.idempotency_key,
                input.description,
                input.to_wallet_id,
                currencies=services.currencies,
                turns=services.turns,
            )
        )

    @strawberry.mutation(
        description="Operators only: apply a configured ledger operation (its amount comes from "
        "configuration, never from the client)."
    )
    @errors_as_data
    async def apply_operation(
        self, info: strawberry.Info[Context], input: ApplyOperationInput
    ) -> PaymentResult:
        principal = info.context.require_principal()
        services = info.context.services
        return _payment(
            await payments.apply_operation(
                principal,
                input.wallet_id,
                input.operation,
                input.idempotency_key,
                operations=services.operations,
                turns=services.turns,
            )
        )

    @strawberry.mutation(
        description="Merchants only: reserve funds on a customer's wallet, found by its payment "
        "token, for a later capture."
    )
    @errors_as_data
    async def authorize(self, info: strawberry.Info[Context], input: AuthorizeInput) -> HoldResult:
        services = info.context.services
        return _hold(
            await holds.authorize(
                info.context.require_principal(),
                input.wallet_token,
                input.amount,
                input.idempotency_key,
                input.description,
                input.to_wallet_id,
                input.expires_in_seconds,
                currencies=services.currencies,
                turns=services.turns,
                hold_ttl_seconds=services.settings.hold_ttl_seconds,
            )
        )

    @strawberry.mutation(
        description="The merchant that placed a hold: move part or all of what remains of it to "
        "the merchant's wallet."
    )
    @errors_as_data
    async def capture(self, info: strawberry.Info[Context], input: CaptureInput) -> HoldResult:
        services = info.context.services
        return _hold(
            await holds.capture(
                info.context.require_principal(),
                input.hold_id,
                input.amount,
                input.idempotency_key,
                bool(input.final),
                currencies=services.currencies,
                turns=services.turns,
            )
        )

    @strawberry.mutation(
        description="The merchant that placed a hold: release all that remains of it."
    )
    @errors_as_data
    async def void_hold(self, info: strawberry.Info[Context], input: VoidHoldInput) -> HoldResult:
        services = info.context.services
        return _hold(
            await holds.void_hold(
                info.context.require_principal(),
                input.hold_id,
                input.idempotency_key,
                currencies=services.currencies,
                turns=services.turns,
            )
        )

    @strawberry.mutation(
        description="Return part or all of a CHARGE, CAPTURE or TRANSFER you received to the "
        "wallet it came from (operators: any)."
    )
    @errors_as_data
    async def refund(self, info: strawberry.Info[Context], input: RefundInput) -> PaymentResult:
        services = info.context.services
        return _payment(
            await refunds.refund(
                info.context.require_principal(),
                input.transaction_id,
                input.amount,
                input.idempotency_key,
                input.reason,
                currencies=services.currencies,
                turns=services.turns,
            )
        )

    @strawberry.mutation(
        description="Many postings in one request: all or nothing (atomic), or each on its own."
    )
    @errors_as_data
    async def post_batch(self, info: strawberry.Info[Context], input: BatchInput) -> BatchResult:
        services = info.context.services
        # Its results were priced at a guess: pay for them all before anything is posted, so
        # what each result selects costs what it returns (and a refusal posts nothing).
        pricing = cast("WalletSchema", info.schema).pricing  # the schema api.py builds
        charge_list(info.context, pricing, "BatchPayload", "results", len(input.items))
        items = [
            {kind: None if fields is None else vars(fields) for kind, fields in vars(item).items()}
            for item in input.items
        ]
        results = await batches.post_batch(
            info.context.require_principal(),
            input.atomic,
            items,
            currencies=services.currencies,
            operations=services.operations,
            turns=services.turns,
            max_batch=services.settings.max_batch,
        )
        return BatchPayload(items=results)

    @strawberry.mutation(description="A new API key of yours; not with an API key.")
    @errors_as_data
    async def create_api_key(
        self, info: strawberry.Info[Context], input: CreateApiKeyInput
    ) -> ApiKeyResult:
        key, secret = await keys.create_key(
            info.context.require_principal(), input.name, input.scopes, input.expires_at
        )
        return ApiKeyPayload(api_key=ApiKey(row=key), secret=secret)

    @strawberry.mutation(description="Revoke one of your API keys; not with an API key.")
    @errors_as_data
    async def revoke_api_key(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> ApiKeyResult:
        key = await keys.revoke_key(info.context.require_principal(), id)
        return ApiKeyPayload(api_key=ApiKey(row=key), secret=None)

    @strawberry.mutation(
        description="Operators only: until unfrozen, the wallet takes no debit, credit, new hold "
        "or capture (each answers WalletInactive); releases of its holds (voids, expiries) still "
        "happen and reads still work. Idempotent: freezing a FROZEN wallet answers it unchanged."
    )
    @errors_as_data
    async def freeze_wallet(
        self, info: strawberry.Info[Context], input: WalletStatusInput
    ) -> WalletResult:
        return await _wallet_status(info, input, WalletStatus.FROZEN)

    @strawberry.mutation(description="Operators only.")
    @errors_as_data
    async def unfreeze_wallet(
        self, info: strawberry.Info[Context], input: WalletStatusInput
    ) -> WalletResult:
        return await _wallet_status(info, input, WalletStatus.ACTIVE)


async def _wallet_status(
    info: strawberry.Info[Context], input: WalletStatusInput, status: WalletStatus
) -> WalletPayload:
    row = await back_office.set_wallet_status(
        info.context.require_principal(), input.wallet_id, status, input.reason
    )
    return WalletPayload(wallet=Wallet(row=row))


async def _outside(
    info: strawberry.Info[Context], move, input: DepositInput | WithdrawInput
) -> PaymentResult:
    """A deposit or a withdrawal: the same arguments, the same answer."""
    services = info.context.services
    return _payment(
        await move(
            info.context.require_principal(),
            input.wallet_id,
            input.amount,
            input.idempotency_key,
            input.description,
            currencies=services.currencies,
            turns=services.turns,
        )
    )
