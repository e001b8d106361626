"""The catalog of configured ledger operations (rewards, credits, spends).

Amounts come from configuration only, never from a client. Every deployment must define the
shared operations; a catalog that lacks one is refused when it is loaded, naming what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from walletql.ledger.errors import ConfigurationError, ValidationError
from walletql.ledger.money import Currency, parse_amount
from walletql.settings import Settings

SHARED_OPERATIONS = ("DAILY_REWARD", "SIGNUP_CREDIT", "CREDIT_SPEND", "CREDIT_ADD")


@dataclass(frozen=True)
class Operation:
    """One configured operation: `amount` is signed (+ credits the wallet, - debits it)."""

    code: str
    amount: Decimal
    currency: Currency

    @property
    def shared(self) -> bool:
        return self.code in SHARED_OPERATIONS


@dataclass(frozen=True)
class Op:
    """Declares an operation on a BaseLedgerOperation subclass: `DAILY_REWARD = Op("1")`."""

    amount: str
    currency: str = "CREDIT"


class BaseLedgerOperation:
    """Base for applications that embed the ledger and declare their operations in Python.

    class GameOperations(BaseLedgerOperation):
        DAILY_REWARD = Op("1")
        SIGNUP_CREDIT = Op("3")
        CREDIT_SPEND = Op("-1")
        CREDIT_ADD = Op("10")
        LEVEL_UP = Op("25")

    A subclass that lacks a shared operation fails when the class is created.
    """

    declared: dict[str, Op] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        declared = {}
        for klass in reversed(cls.__mro__):
            declared.update({k: v for k, v in vars(klass).items() if isinstance(v, Op)})
        missing = [code for code in SHARED_OPERATIONS if code not in declared]
        if missing:
            raise ConfigurationError(
                f"{cls.__name__} lacks the shared operation(s) {', '.join(missing)}; "
                f"every deployment must define {', '.join(SHARED_OPERATIONS)}"
            )
        cls.declared = declared

    @classmethod
    def settings_table(cls) -> dict:
        """The declared operations in the shape Settings.operations holds."""
        from walletql.settings import OperationConfig

        return {
            code: OperationConfig(Decimal(op.amount), op.currency)
            for code, op in cls.declared.items()
        }


def build_catalog(settings: Settings) -> Mapping[str, Operation]:
    """The configured operations by code, validated: built once per process
    (walletql.services); raises ConfigurationError naming the problem."""
    missing = [code for code in SHARED_OPERATIONS if code not in settings.operations]
    if missing:
        raise ConfigurationError(
            f"operations: missing shared operation(s) {', '.join(missing)}; "
            f"every configuration must define {', '.join(SHARED_OPERATIONS)}"
        )
    catalog = {}
    for code, spec in settings.operations.items():
        currency_spec = settings.currencies.get(spec.currency)
        if currency_spec is None:
            raise ConfigurationError(f"operations.{code}: unknown currency {spec.currency!r}")
        currency = Currency(spec.currency, currency_spec.name, currency_spec.decimals)
        try:
            amount = parse_amount(
                format(spec.amount, "f"), currency, allow_zero=True, allow_negative=True
            )
        except ValidationError as exc:
            raise ConfigurationError(f"operations.{code}.amount: {exc.message}") from None
        catalog[code] = Operation(code, amount, currency)
    return MappingProxyType(catalog)


def get_operation(operations: Mapping[str, Operation], code: object) -> Operation:
    """The operation of `operations` whose code is exactly `code`.

    Codes are identifiers: `credit_add` or ` CREDIT_ADD` is no operation, never CREDIT_ADD.
    """
    if isinstance(code, str):
        operation = operations.get(code)
        if operation is not None:
            return operation
    raise ValidationError(
        "UNKNOWN_OPERATION", f"Unknown operation: {str(code)[:40]!r}", "operation"
    )


__all__ = [
    "SHARED_OPERATIONS",
    "BaseLedgerOperation",
    "Op",
    "Operation",
    "build_catalog",
    "get_operation",
]
