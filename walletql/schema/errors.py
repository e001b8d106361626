"""Error types, and the one place that maps domain errors to GraphQL.

Mutations return errors as data (`as_result`); queries raise GraphQL errors whose
extensions.code is UNAUTHENTICATED, FORBIDDEN, NOT_FOUND or BAD_USER_INPUT (`as_graphql_error`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql import GraphQLError

from walletql.ledger import errors as domain
from walletql.schema.common import amount
from walletql.schema.scalars import Money
from walletql.schema.transaction import Transaction

if TYPE_CHECKING:
    from walletql.schema.hold import Hold


@strawberry.interface(description="Every expected failure of a mutation; `code` is stable.")
class Error:
    code: str = strawberry.field(description="Stable SCREAMING_SNAKE code.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(
    description="code: BAD_AMOUNT, BAD_INPUT, BAD_EMAIL, BAD_PHONE, BAD_ROLE, BAD_CURSOR, "
    "SELF_TRANSFER, SELF_CHARGE, UNKNOWN_CURRENCY, UNKNOWN_OPERATION, WEAK_PASSWORD"
)
class ValidationError(Error):
    field: str | None = strawberry.field(
        description='Input field path, e.g. "amount" or "company.name".'
    )


@strawberry.type(description="code: UNAUTHENTICATED")
class NotAuthenticated(Error):
    pass


@strawberry.type(description="code: FORBIDDEN")
class Forbidden(Error):
    pass


@strawberry.type(description="code: NOT_FOUND")
class NotFound(Error):
    pass


@strawberry.type(description="code: ALREADY_EXISTS (email, phone or wallet label taken)")
class AlreadyExists(Error):
    field: str | None = strawberry.field(description="Which input is taken.")


@strawberry.type(description="code: INVALID_CREDENTIALS")
class InvalidCredentials(Error):
    pass


@strawberry.type(
    description="code: TOO_MANY_ATTEMPTS: sign-in refused for this email (or this client "
    "address) until retryAfterSeconds have passed; the password is not even checked. Defaults: "
    "after 5 consecutive failed sign-ins for one email (WALLETQL_SIGNIN_MAX_FAILURES), that "
    "email is refused for 60 s, doubling with each further failure up to 1 hour; a successful "
    "sign-in resets the count. A client address with more than 100 failed sign-ins in 15 "
    "minutes is refused likewise."
)
class TooManyAttempts(Error):
    retry_after_seconds: int = strawberry.field(description="Seconds until a sign-in is heard.")


@strawberry.type(description="code: WALLET_LIMIT_REACHED")
class WalletLimitReached(Error):
    limit: int = strawberry.field(description="Wallets this role may hold.")


@strawberry.type(
    description="code: INSUFFICIENT_FUNDS. The declined attempt is recorded as a REJECTED "
    "transaction."
)
class InsufficientFunds(Error):
    available: Money | None = strawberry.field(
        description="The debited wallet's balance minus minimumBalance at the decision, "
        "negative when already under the floor; null when the caller neither owns that wallet "
        "nor is an operator (a merchant's charge: a merchant never learns a customer's "
        "balance)."
    )
    requested: Money = strawberry.field(description="The amount asked for.")
    transaction: Transaction | None = strawberry.field(description="The REJECTED record.")


@strawberry.type(description="code: CURRENCY_MISMATCH")
class CurrencyMismatch(Error):
    pass


@strawberry.type(
    description="code: IDEMPOTENCY_CONFLICT: the key was already used by this caller with "
    "different input."
)
class IdempotencyConflict(Error):
    pass


@strawberry.type(description="code: WALLET_INACTIVE")
class WalletInactive(Error):
    pass


@strawberry.type(
    description="code: HOLD_CLOSED: the hold is CAPTURED, VOIDED or EXPIRED (also past its "
    "expiresAt before the release is recorded)."
)
class HoldClosed(Error):
    hold: Annotated[Hold, strawberry.lazy("walletql.schema.hold")] = strawberry.field(
        description="The hold, as it is."
    )


@strawberry.type(
    description="code: EXCEEDS_REMAINING: a capture above what remains of its hold, or a refund "
    "above what remains refundable."
)
class ExceedsRemaining(Error):
    remaining: Money = strawberry.field(description="What remains.")
    requested: Money = strawberry.field(description="What was asked for.")


@strawberry.type(
    description="code: BATCH_REJECTED: an atomic batch in which item `index` (0-based) would "
    "fail with `reason`; nothing was written."
)
class BatchRejected(Error):
    index: int = strawberry.field(description="The first item that would fail (0-based).")
    reason: Error = strawberry.field(description="What that item would have answered.")


_PLAIN = {
    domain.NotAuthenticated: NotAuthenticated,
    domain.Forbidden: Forbidden,
    domain.NotFound: NotFound,
    domain.InvalidCredentials: InvalidCredentials,
    domain.CurrencyMismatch: CurrencyMismatch,
    domain.IdempotencyConflict: IdempotencyConflict,
    domain.WalletInactive: WalletInactive,
}


def as_result(exc: domain.LedgerError) -> Error:
    """The error type a mutation returns for a domain error."""
    if isinstance(exc, domain.ValidationError):
        return ValidationError(code=exc.code, message=exc.message, field=exc.field)
    if isinstance(exc, domain.AlreadyExists):
        return AlreadyExists(code=exc.code, message=exc.message, field=exc.field)
    if isinstance(exc, domain.TooManyAttempts):
        return TooManyAttempts(
            code=exc.code, message=exc.message, retry_after_seconds=exc.retry_after_seconds
        )
    if isinstance(exc, domain.WalletLimitReached):
        return WalletLimitReached(code=exc.code, message=exc.message, limit=exc.limit)
    if isinstance(exc, domain.InsufficientFunds):
        code = exc.transaction.currency
        return InsufficientFunds(
            code=exc.code,
            message=exc.message,
            available=None if exc.available is None else amount(exc.available, code),
            requested=amount(exc.requested, code),
            transaction=Transaction.of(exc.transaction) if exc.stored else None,
        )
    if isinstance(exc, domain.BatchRejected):
        reason = as_result(exc.reason)
        return BatchRejected(code=exc.code, message=exc.message, index=exc.index, reason=reason)
    if isinstance(exc, domain.HoldClosed):
        from walletql.schema.hold import Hold

        return HoldClosed(code=exc.code, message=exc.message, hold=Hold(row=exc.hold))
    if isinstance(exc, domain.ExceedsRemaining):
        return ExceedsRemaining(
            code=exc.code,
            message=exc.message,
            remaining=amount(exc.remaining, exc.currency),
            requested=amount(exc.requested, exc.currency),
        )
    error_type = _PLAIN.get(type(exc))
    if error_type is None:
        raise exc  # not an expected outcome of this mutation: masked as an internal error
    return error_type(code=exc.code, message=exc.message)


_QUERY_CODES = {
    domain.NotAuthenticated: "UNAUTHENTICATED",
    domain.Forbidden: "FORBIDDEN",
    domain.NotFound: "NOT_FOUND",
}


def as_graphql_error(exc: domain.LedgerError, template: GraphQLError) -> GraphQLError:
    """The GraphQL error a query reports for a domain error, at the same place in the result."""
    if isinstance(exc, domain.ValidationError):
        code = "BAD_USER_INPUT"
    else:
        code = _QUERY_CODES.get(type(exc), exc.code)
    extensions = {"code": code}
    if isinstance(exc, domain.ValidationError):
        extensions["reason"] = exc.code
        if exc.field:
            extensions["field"] = exc.field
    return GraphQLError(
        exc.message,
        nodes=template.nodes,
        source=template.source,
        positions=template.positions,
        path=template.path,
        extensions=extensions,
    )
