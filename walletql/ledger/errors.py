"""Domain errors. Each carries a stable code; the API layer maps them to GraphQL in one place."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class LedgerError(Exception):
    code = "LEDGER_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(LedgerError):
    """Input that can never succeed as given. `code` is specific (BAD_AMOUNT, WEAK_PASSWORD...)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code
        self.field = field


class NotAuthenticated(LedgerError):
    code = "UNAUTHENTICATED"


class Forbidden(LedgerError):
    code = "FORBIDDEN"


class NotFound(LedgerError):
    code = "NOT_FOUND"


class AlreadyExists(LedgerError):
    code = "ALREADY_EXISTS"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.field = field


class InvalidCredentials(LedgerError):
    code = "INVALID_CREDENTIALS"


class TooManyAttempts(LedgerError):
    """Sign-in refused (walletql.ledger.throttle) without checking the password."""

    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class WalletLimitReached(LedgerError):
    code = "WALLET_LIMIT_REACHED"

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message, limit=limit)
        self.limit = limit


class InsufficientFunds(LedgerError):
    """The debit was declined; `transaction` is the stored REJECTED record. `available` is
    None when the caller may not read the debited wallet."""

    code = "INSUFFICIENT_FUNDS"

    def __init__(
        self,
        message: str,
        available: Decimal | None,
        requested: Decimal,
        transaction: Any,
        stored: bool = True,
    ) -> None:
        super().__init__(message)
        self.available = available
        self.requested = requested
        self.transaction = transaction
        # False in an atomic batch that was refused: the record was rolled back with the rest.
        self.stored = stored


class CurrencyMismatch(LedgerError):
    code = "CURRENCY_MISMATCH"


class IdempotencyConflict(LedgerError):
    code = "IDEMPOTENCY_CONFLICT"


class WalletInactive(LedgerError):
    code = "WALLET_INACTIVE"


class HoldClosed(LedgerError):
    """The hold is CAPTURED, VOIDED or EXPIRED, or past its expiry; `hold` is its row."""

    code = "HOLD_CLOSED"

    def __init__(self, message: str, hold: Any) -> None:
        super().__init__(message)
        self.hold = hold


class ExceedsRemaining(LedgerError):
    """A capture above what remains of its hold, or a refund above what remains refundable."""

    code = "EXCEEDS_REMAINING"

    def __init__(self, message: str, remaining: Decimal, requested: Decimal, currency: str) -> None:
        super().__init__(message)
        self.remaining = remaining
        self.requested = requested
        self.currency = currency


class BatchRejected(LedgerError):
    """An atomic batch in which item `index` (0-based) would fail with `reason`; nothing was
    written."""

    code = "BATCH_REJECTED"

    def __init__(self, index: int, reason: LedgerError) -> None:
        super().__init__(f"Item {index} would fail ({reason.code}): nothing was posted")
        self.index = index
        self.reason = reason


class ConfigurationError(LedgerError):
    """The currency or operation configuration is unusable; raised at load time."""

    code = "CONFIGURATION_ERROR"


class ResumeRequired(LedgerError):
    """A live stream had to stop (the subscriber fell behind, or the feed lost its connection);
    the client resumes with afterVersion and misses nothing."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
