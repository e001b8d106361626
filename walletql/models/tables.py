"""Tortoise models for the six tables. Triggers, CHECKs and partial indexes are in walletql/migrations/."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

# NUMERIC(38, 18): 20 integer digits, and the 18 decimals of the finest currency (ETH).
MONEY_DIGITS, MONEY_PLACES = 38, 18


class Role(StrEnum):
    CUSTOMER = "CUSTOMER"
    MERCHANT = "MERCHANT"
    OPERATOR = "OPERATOR"


class Scope(StrEnum):
    """What an API key may do (api_keys.scopes)."""

    READ = "READ"  # queries and subscriptions on the owner's own data
    PAYMENTS = "PAYMENTS"  # money mutations of the owner's role
    OPERATIONS = "OPERATIONS"  # applyOperation (operators' keys only)


class WalletStatus(StrEnum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"


class TransactionKind(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER = "TRANSFER"
    CHARGE = "CHARGE"
    OPERATION = "OPERATION"
    HOLD = "HOLD"  # funds reserved on the source wallet; its balance does not move
    CAPTURE = "CAPTURE"  # part or all of a hold moved to the merchant's wallet
    RELEASE = "RELEASE"  # what remained of a hold freed (voided, final capture, expired)
    REFUND = "REFUND"  # money returned from the destination of an original to its source


class HoldStatus(StrEnum):
    HELD = "HELD"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"


class TransactionStatus(StrEnum):
    POSTED = "POSTED"
    REJECTED = "REJECTED"


class User(Model):
    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # stored lower-cased
    password_hash = fields.CharField(max_length=255)
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=16, null=True, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    company_name = fields.CharField(max_length=200, null=True)
    company_url = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class AuthToken(Model):
    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex; never the token
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_tokens"


class Wallet(Model):
    id = fields.BigIntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="wallets", on_delete=fields.RESTRICT
    )
    owner_id: int
    currency = fields.CharField(max_length=32)
    label = fields.CharField(max_length=100, null=True)
    payment_token = fields.CharField(max_length=64, unique=True)
    balance = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0)
    minimum_balance = fields.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    # What remains of the HELD holds on this wallet; a debit may take only balance - held - floor.
    held = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0)
    version = fields.BigIntField(default=0)
    status = fields.CharEnumField(WalletStatus, max_length=16, default=WalletStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "wallets"
        indexes = (("owner_id", "currency"),)


class LedgerTransaction(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(TransactionKind, max_length=16)
    status = fields.CharEnumField(TransactionStatus, max_length=16)
    operation = fields.CharField(max_length=32, null=True)
    amount = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = fields.CharField(max_length=32)
    source_wallet: fields.ForeignKeyNullableRelation[Wallet] = fields.ForeignKeyField(
        "models.Wallet", related_name="debits", null=True, on_delete=fields.RESTRICT
    )
    source_wallet_id: int | None
    destination_wallet: fields.ForeignKeyNullableRelation[Wallet] = fields.ForeignKeyField(
        "models.Wallet", related_name="credits", null=True, on_delete=fields.RESTRICT
    )
    destination_wallet_id: int | None
    description = fields.CharField(max_length=500, null=True)
    # Null for the ledger's own postings (a hold's expiry, the rest released by a final capture),
    # which no key of a user's may ever collide with.
    initiator: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="initiated", null=True, on_delete=fields.RESTRICT
    )
    initiator_id: int | None
    idempotency_key = fields.CharField(max_length=200)
    fingerprint = fields.CharField(max_length=64)
    failure_reason = fields.CharField(max_length=64, null=True)
    # Funds the decision saw (balance - floor) for a REJECTED debit, so a replay answers the same.
    available = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True)
    # HOLD, CAPTURE and RELEASE: their hold (a REJECTED HOLD has none).
    hold: fields.ForeignKeyNullableRelation[Hold] = fields.ForeignKeyField(
        "models.Hold", related_name="transactions", null=True, on_delete=fields.RESTRICT
    )
    hold_id: int | None
    # REFUND: the transaction it refunds.
    refund_of: fields.ForeignKeyNullableRelation[LedgerTransaction] = fields.ForeignKeyField(
        "models.LedgerTransaction", related_name="refunds", null=True, on_delete=fields.RESTRICT
    )
    refund_of_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transactions"
        unique_together = (("initiator_id", "idempotency_key"),)


class Entry(Model):
    id = fields.BigIntField(primary_key=True)
    transaction: fields.ForeignKeyRelation[LedgerTransaction] = fields.ForeignKeyField(
        "models.LedgerTransaction", related_name="entries", on_delete=fields.RESTRICT
    )
    transaction_id: int
    wallet: fields.ForeignKeyRelation[Wallet] = fields.ForeignKeyField(
        "models.Wallet", related_name="entries", on_delete=fields.RESTRICT
    )
    wallet_id: int
    amount = fields.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES
    )  # signed: + credit, - debit
    balance_after = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    # How the held amount moved (signed), and what it was after: verify replays both.
    held_amount = fields.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    held_after = fields.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    version = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "entries"
        unique_together = (("wallet_id", "version"),)


class Hold(Model):
    """Money reserved on a customer's wallet for a merchant. Its HOLD, CAPTURE and RELEASE
    transactions are the facts; status and captured_amount are kept here, changed only by the
    posting functions under the hold's row lock."""

    id = fields.BigIntField(primary_key=True)
    status = fields.CharEnumField(HoldStatus, max_length=16, default=HoldStatus.HELD)
    amount = fields.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    captured_amount = fields.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    currency = fields.CharField(max_length=32)
    source_wallet: fields.ForeignKeyRelation[Wallet] = fields.ForeignKeyField(
        "models.Wallet", related_name="holds_placed", on_delete=fields.RESTRICT
    )
    source_wallet_id: int
    destination_wallet: fields.ForeignKeyRelation[Wallet] = fields.ForeignKeyField(
        "models.Wallet", related_name="holds_payable", on_delete=fields.RESTRICT
    )
    destination_wallet_id: int
    initiator: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="holds", on_delete=fields.RESTRICT
    )
    initiator_id: int
    description = fields.CharField(max_length=500)
    idempotency_key = fields.CharField(max_length=200)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "holds"

    @property
    def remaining(self):
        """Still reserved: what is not captured while HELD; nothing once closed."""
        if self.status != HoldStatus.HELD:
            return self.amount - self.amount
        return self.amount - self.captured_amount
