"""Batches: up to WALLETQL_MAX_BATCH postings in one request and one SQL call.

Each item is one movement (deposit, withdraw, transfer, charge, refund, applyOperation) under
its own idempotency key, and goes through its kind's step 1 exactly as its single mutation does
(posting.py), so it answers what that mutation would have answered, and a retry of either
replays the other. Then one statement (walletql_batch, walletql/migrations/models/9_*) locks
every wallet the items may touch, once, in ascending id order, and runs the items' functions in
order:

- atomic: all of them in one database transaction, or none. The first item that would fail,
  in Python or in SQL, is reported (BatchRejected, with its index and its error) and nothing is
  written, not even a REJECTED record, so the fixed batch can be sent again under the same keys.
- not atomic: each item answers on its own (an item refused in Python is not sent); those that
  post, or are declined and stored, are committed together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncpg import Record

from walletql.auth import Principal
from walletql.ledger import charges, payments, refunds, transfers
from walletql.ledger.errors import (
    BatchRejected,
    Forbidden,
    InsufficientFunds,
    LedgerError,
    ValidationError,
)
from walletql.ledger.money import Currency
from walletql.ledger.operations import Operation
from walletql.ledger.posting import (
    BALANCE_CHANNEL,
    MAX_BALANCE,
    Outcome,
    Posting,
    Turns,
    counted,
    execute,
    settle,
)
from walletql.models import Scope, TransactionKind

_BATCH = "SELECT * FROM walletql_batch($1, $2, $3, $4, $5, $6)"

Result = Outcome | LedgerError


@dataclass(frozen=True, slots=True)
class Answered:
    """An item the database answered, settled into its Outcome (or error) only when read: a
    client that asks a large batch for its counts alone pays for no models."""

    posting: Posting
    row: Record

    @property
    def posted(self) -> bool:
        """A payload: posted now or replayed; not a refusal, nor a replayed decline."""
        row = self.row
        return row["outcome"] in ("POSTED", "REPLAYED") and row["tx"]["status"] == "POSTED"

    def result(self) -> Result:
        try:
            return settle(self.posting, self.row)
        except LedgerError as exc:
            return exc


Item = Answered | LedgerError  # an item refused before the database is its error
Prepare = Callable[
    [Principal, Mapping[str, Any], Mapping[str, Currency], Mapping[str, Operation]], Posting
]

# Each kind of item, by its input field, and how its single mutation's step 1 reads it.
ITEM_KINDS: dict[str, Prepare] = {
    "deposit": lambda actor, i, currencies, _: payments.prepare_outside(
        TransactionKind.DEPOSIT,
        actor,
        i["wallet_id"],
        i["amount"],
        i["idempotency_key"],
        i.get("description"),
        currencies,
    ),
    "withdraw": lambda actor, i, currencies, _: payments.prepare_outside(
        TransactionKind.WITHDRAWAL,
        actor,
        i["wallet_id"],
        i["amount"],
        i["idempotency_key"],
        i.get("description"),
        currencies,
    ),
    "transfer": lambda actor, i, currencies, _: transfers.prepare_transfer(
        actor,
        i["from_wallet_id"],
        i["amount"],
        i["idempotency_key"],
        i.get("to_wallet_id"),
        i.get("to_user_id"),
        i.get("description"),
        currencies,
    ),
    "charge": lambda actor, i, currencies, _: charges.prepare_charge(
        actor,
        i["wallet_token"],
        i["amount"],
        i["idempotency_key"],
        i["description"],
        i.get("to_wallet_id"),
        currencies,
    ),
    "refund": lambda actor, i, currencies, _: refunds.prepare_refund(
        actor,
        i["transaction_id"],
        i.get("amount"),
        i["idempotency_key"],
        i.get("reason"),
        currencies,
    ),
    "apply_operation": lambda actor, i, _, operations: payments.prepare_operation(
        actor, i["wallet_id"], i["operation"], i["idempotency_key"], operations
    ),
}


async def post_batch(
    actor: Principal,
    atomic: bool,
    items: Sequence[Mapping[str, Mapping[str, Any] | None]],
    *,
    currencies: Mapping[str, Currency],
    operations: Mapping[str, Operation],
    turns: Turns,
    max_batch: int,
) -> list[Item]:
    """`items`: each a mapping of ITEM_KINDS names to that kind's input fields (by Python name),
    exactly one of them set. Each item's answer, in order; for an atomic batch, every one
    posted, or BatchRejected raised."""
    # Each item checks its own kind's scope, as its mutation does; a key that may post nothing
    # (a READ key) is refused the batch itself, rather than answered item by item.
    if not (actor.allows(Scope.PAYMENTS) or actor.allows(Scope.OPERATIONS)):
        raise Forbidden("This API key lacks the PAYMENTS or OPERATIONS scope a batch needs")
    if not 1 <= len(items) <= max_batch:
        raise ValidationError(
            "BAD_INPUT", f"A batch holds 1 to {max_batch} items (WALLETQL_MAX_BATCH)", "items"
        )
    kinds = [_kind(index, item) for index, item in enumerate(items)]

    prepared: list[Posting | LedgerError] = []
    refused_at: int | None = None  # an atomic batch's first item refused in Python
    for index, (kind, fields) in enumerate(kinds):
        try:
            prepared.append(ITEM_KINDS[kind](actor, fields, currencies, operations))
        except LedgerError as exc:
            prepared.append(exc)
            if atomic:
                refused_at = index
                break
    sent = [(index, p) for index, p in enumerate(prepared) if isinstance(p, Posting)]
    rows = []
    if sent:
        document = json.dumps([_item(p) for _, p in sent], default=str)
        commit = refused_at is None
        params = (actor.user_id, atomic, commit, document, BALANCE_CHANNEL, MAX_BALANCE)
        rows = await execute(turns, _BATCH, *params)
        # Counted as the database kept them: a rejected atomic batch by its failing item (the
        # items before it were rolled back), one refused in Python not at all.
        kept = rows[-1:] if rows and rows[-1]["rejected"] else rows if commit else []
        for row in kept:
            counted(turns, sent[row["item"]][1].request.kind, row["outcome"])
    if rows and rows[-1]["rejected"]:
        row = rows[-1]
        index, posting = sent[row["item"]]
        raise BatchRejected(index, _refusal(posting, row))
    if refused_at is not None:
        refusal = prepared[refused_at]
        assert isinstance(refusal, LedgerError)
        raise BatchRejected(refused_at, refusal)

    answered = {sent[row["item"]][0]: row for row in rows}  # by the item's index
    return [
        p if isinstance(p, LedgerError) else Answered(p, answered[index])
        for index, p in enumerate(prepared)
    ]


def _kind(index: int, item: Mapping[str, Mapping[str, Any] | None]) -> tuple[str, Mapping]:
    given = [(kind, fields) for kind, fields in item.items() if fields is not None]
    if len(given) != 1 or given[0][0] not in ITEM_KINDS:
        raise ValidationError(
            "BAD_INPUT",
            f"Item {index} must set exactly one of deposit, withdraw, transfer, charge, refund, "
            "applyOperation",
            f"items.{index}",
        )
    return given[0]


def _item(posting: Posting) -> dict[str, object]:
    request = posting.request
    args = dict(posting.args)
    accepting = args.get("accepting")
    if isinstance(accepting, list):  # one text: cheaper for SQL to split than a JSON array
        args["accepting"] = ",".join(accepting)
    return {
        "function": posting.function,
        **args,
        "description": request.description,
        "key": request.key,
        "fingerprint": request.fingerprint,
    }


def _refusal(posting: Posting, row: Any) -> LedgerError:
    """The error of an atomic batch's failing item. A decline it made was rolled back with the
    rest: its record is not kept (one replayed from before is)."""
    try:
        settle(posting, row)
    except InsufficientFunds as exc:
        if row["outcome"] == "INSUFFICIENT_FUNDS":
            exc.stored = False
        return exc
    except LedgerError as exc:
        return exc
    raise AssertionError("a rejected batch item settled as posted")  # never: SQL checked it
