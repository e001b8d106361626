from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier

RUN_IN_TRANSACTION = True

# Many postings in one statement (walletql/ledger/batches.py). Each item is one movement's
# function with its named arguments, as a single request sends them (walletql.ledger.posting:
# Posting), so an item answers exactly what its single mutation would.


_HOLDS = earlier("8_*_holds_refunds.py")

# What a batch answers: one row per item it ran, in order (`item` is its index among them), each
# the row its function answered. When an atomic batch fails, its last row is the failing item's,
# with `rejected` true: everything the batch wrote was rolled back, and the rows before it mean
# nothing.
_ROW = "item integer, rejected boolean, " + _HOLDS._RESULT

_FUNCTIONS = f"""
-- p_items: a JSON array of {{"function": ..., <its arguments by name>, "description", "key",
-- "fingerprint"}}, the accepting currencies as one comma-separated text (codes are letters and
-- digits). Every wallet the items may touch is locked first, once, in ascending id
-- order: two batches never deadlock, whatever the order of their items. Atomic: the first item
-- that does not post (or replay a posting) rolls back every item before it and is answered
-- last, rejected. p_commit false: roll back at the end whatever happened (the items before one that
-- failed in Python, to find whether one of them fails first).
CREATE FUNCTION walletql_batch(
    p_initiator bigint, p_atomic boolean, p_commit boolean, p_items jsonb, p_channel text,
    p_max_balance numeric
) RETURNS TABLE ({_ROW})
LANGUAGE plpgsql AS $$
DECLARE
    x jsonb;
    n integer := 0;
    r record;
    failed record;
    failed_at integer;
BEGIN
    BEGIN
        PERFORM FROM wallets AS l WHERE l.id IN (
            SELECT (i->>'wallet')::bigint FROM jsonb_array_elements(p_items) AS i
            UNION ALL
            SELECT (i->>'to_wallet')::bigint FROM jsonb_array_elements(p_items) AS i
            UNION ALL
            -- A recipient by user, a merchant's receiving wallet: any they might be.
            SELECT f.id FROM wallets AS f
            WHERE f.status = 'ACTIVE' AND f.owner_id IN (
                SELECT (i->>'to_user')::bigint FROM jsonb_array_elements(p_items) AS i
                UNION ALL
                SELECT p_initiator FROM jsonb_array_elements(p_items) AS i
                WHERE i->>'function' = 'walletql_charge')
            UNION ALL
            SELECT f.id FROM wallets AS f WHERE f.payment_token IN (
                SELECT i->>'token' FROM jsonb_array_elements(p_items) AS i)
            UNION ALL
            SELECT unnest(ARRAY[o.source_wallet_id, o.destination_wallet_id])
            FROM transactions AS o WHERE o.id IN (
                SELECT (i->>'original')::bigint FROM jsonb_array_elements(p_items) AS i)
        ) ORDER BY l.id FOR NO KEY UPDATE;

        FOR x IN SELECT value FROM jsonb_array_elements(p_items) LOOP
            CASE x->>'function'
            WHEN 'walletql_outside' THEN
                SELECT * INTO r FROM walletql_outside(x->>'kind', p_initiator,
                    (x->>'wallet')::bigint, (x->>'amount')::numeric,
                    string_to_array(x->>'accepting', ',')::varchar[], x->>'description', x->>'key',
                    x->>'fingerprint', p_channel, p_max_balance);
            WHEN 'walletql_transfer' THEN
                SELECT * INTO r FROM walletql_transfer(p_initiator, (x->>'wallet')::bigint,
                    (x->>'to_wallet')::bigint, (x->>'to_user')::bigint, (x->>'amount')::numeric,
                    string_to_array(x->>'accepting', ',')::varchar[], x->>'description', x->>'key',
                    x->>'fingerprint', p_channel, p_max_balance);
            WHEN 'walletql_charge' THEN
                SELECT * INTO r FROM walletql_charge(p_initiator, x->>'token',
                    (x->>'to_wallet')::bigint, (x->>'amount')::numeric,
                    string_to_array(x->>'accepting', ',')::varchar[], x->>'description', x->>'key',
                    x->>'fingerprint', p_channel, p_max_balance);
            WHEN 'walletql_refund' THEN
                SELECT * INTO r FROM walletql_refund(p_initiator, (x->>'operator')::boolean,
                    (x->>'original')::bigint, (x->>'amount')::numeric,
                    string_to_array(x->>'accepting', ',')::varchar[], x->>'description', x->>'key',
                    x->>'fingerprint', p_channel, p_max_balance);
            WHEN 'walletql_apply_operation' THEN
                SELECT * INTO r FROM walletql_apply_operation(p_initiator,
                    (x->>'wallet')::bigint, x->>'operation', (x->>'amount')::numeric,
                    x->>'currency', x->>'description', x->>'key', x->>'fingerprint', p_channel,
                    p_max_balance);
            END CASE;
            IF p_atomic AND NOT (r.outcome IN ('POSTED', 'REPLAYED')
                                 AND (r.tx).status = 'POSTED') THEN
                failed := r;
                failed_at := n;
                RAISE EXCEPTION 'batch item % refused', n USING ERRCODE = 'WQ001';
            END IF;
            item := n;
            rejected := false;
            outcome := r.outcome;
            tx := r.tx;
            wallet := r.wallet;
            currency := r.currency;
            other_currency := r.other_currency;
            hold := r.hold;
            remaining := r.remaining;
            requested := r.requested;
            RETURN NEXT;
            n := n + 1;
        END LOOP;
        IF NOT p_commit THEN
            RAISE EXCEPTION 'batch not to be kept' USING ERRCODE = 'WQ002';
        END IF;
    EXCEPTION
        -- Everything the block wrote is rolled back, its notifications with it.
        WHEN SQLSTATE 'WQ001' THEN
            item := failed_at;
            rejected := true;
            outcome := failed.outcome;
            tx := failed.tx;
            wallet := failed.wallet;
            currency := failed.currency;
            other_currency := failed.other_currency;
            hold := failed.hold;
            remaining := failed.remaining;
            requested := failed.requested;
            RETURN NEXT;
        WHEN SQLSTATE 'WQ002' THEN
            NULL;
    END;
END
$$;
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _FUNCTIONS


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP FUNCTION walletql_batch(bigint, boolean, boolean, jsonb, text, numeric);
"""


# No model changes: the state is migration 8's.
MODELS_STATE = _HOLDS.MODELS_STATE
