"""What is stored, nothing else. Money rules live in walletql.ledger; append-only rules in SQL."""

from walletql.models.tables import (
    AuthToken,
    Entry,
    Hold,
    HoldStatus,
    LedgerTransaction,
    Role,
    Scope,
    TransactionKind,
    TransactionStatus,
    User,
    Wallet,
    WalletStatus,
)

__all__ = [
    "AuthToken",
    "Entry",
    "Hold",
    "HoldStatus",
    "LedgerTransaction",
    "Role",
    "Scope",
    "TransactionKind",
    "TransactionStatus",
    "User",
    "Wallet",
    "WalletStatus",
]
