from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier

RUN_IN_TRANSACTION = True

# API keys for servers, the audit log of what privileged accounts did, and operators' wallet
# status changes. An operator's postings (an operation applied, a refund as operator) write
# their audit row inside the posting's own function: in the same transaction as the posting,
# whichever way it was asked (alone or in a batch).


_HOLDS = earlier("8_*_holds_refunds.py")
_RESULT, _TAIL, _PASS_TAIL = _HOLDS._RESULT, _HOLDS._TAIL, _HOLDS._PASS_TAIL

_TABLES = """
-- Only a key's sha256 is kept: the secret is shown once, when the key is made.
CREATE TABLE "api_keys" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "name" VARCHAR(100) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "secret_hash" CHAR(64) NOT NULL UNIQUE,
    "scopes" VARCHAR(16)[] NOT NULL
        CHECK (cardinality("scopes") >= 1
               AND "scopes" <@ ARRAY['READ', 'PAYMENTS', 'OPERATIONS']::varchar[]),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "expires_at" TIMESTAMPTZ,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ
);
-- User.apiKeys, newest first.
CREATE INDEX "api_keys_owner" ON "api_keys" ("user_id", "id" DESC);

-- What privileged accounts did, and security events: kept forever, never edited. `subject` is
-- the row it was about, by database id ("Wallet:12"); the API shows it with the public id.
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "action" VARCHAR(32) NOT NULL,
    "actor_id" BIGINT REFERENCES "users" ("id") ON DELETE RESTRICT,
    "subject" VARCHAR(300) NOT NULL,
    "reason" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
-- The audit log newest first, whole or filtered by action or by subject.
CREATE INDEX "audit_events_action" ON "audit_events" ("action", "id" DESC);
CREATE INDEX "audit_events_subject" ON "audit_events" ("subject", "id" DESC);
CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events"
    FOR EACH ROW EXECUTE FUNCTION walletql_append_only();
CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
    FOR EACH STATEMENT EXECUTE FUNCTION walletql_append_only();
"""

_UNTABLES = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM audit_events) THEN
        RAISE EXCEPTION 'the audit log has events: undoing migration 10 would lose them';
    END IF;
END
$$;
DROP TABLE "audit_events";
DROP TABLE "api_keys";
"""

_FUNCTIONS = f"""
-- An operator sets a wallet's status (ACTIVE, FROZEN), with the reason, audited. Under the
-- wallet's lock, as postings take it: a posting that began before waits, or is waited for.
-- Setting the status it already has changes nothing and writes no audit row. No row: no such
-- wallet.
CREATE FUNCTION walletql_set_wallet_status(
    p_operator bigint, p_wallet bigint, p_status varchar, p_reason varchar
) RETURNS SETOF wallets
LANGUAGE plpgsql AS $$
DECLARE
    w wallets;
BEGIN
    SELECT * INTO w FROM wallets AS l WHERE l.id = p_wallet FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF w.status <> p_status THEN
        UPDATE wallets AS u SET status = p_status WHERE u.id = p_wallet RETURNING u.* INTO w;
        INSERT INTO audit_events (action, actor_id, subject, reason)
        VALUES (CASE p_status WHEN 'FROZEN' THEN 'WALLET_FROZEN' ELSE 'WALLET_UNFROZEN' END,
                p_operator, 'Wallet:' || p_wallet, p_reason);
    END IF;
    RETURN NEXT w;
END
$$;

-- Migration 7's operation, audited: a transaction written (posted, or declined for funds) is an
-- operator's action.
CREATE OR REPLACE FUNCTION walletql_apply_operation(
    p_initiator bigint, p_wallet bigint, p_operation varchar, p_amount numeric,
    p_currency varchar, {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM wallets AS f WHERE f.id = p_wallet) THEN
        outcome := 'WALLET_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY
    WITH posted AS (
        SELECT * FROM walletql_post('OPERATION', p_operation, abs(p_amount), p_currency, NULL,
            CASE WHEN p_amount < 0 THEN p_wallet END, CASE WHEN p_amount >= 0 THEN p_wallet END,
            p_wallet, NULL, NULL, {_PASS_TAIL})
    ), audited AS (
        INSERT INTO audit_events (action, actor_id, subject, reason)
        SELECT 'OPERATION_APPLIED', p_initiator, 'Transaction:' || (p.tx).id, p_operation
        FROM posted AS p WHERE p.outcome IN ('POSTED', 'INSUFFICIENT_FUNDS')
    )
    SELECT * FROM posted;
END
$$;

-- Migration 8's refund, with an operator's refund audited (the reason is the refund's).
CREATE OR REPLACE FUNCTION walletql_refund(
    p_initiator bigint, p_operator boolean, p_original bigint, p_amount numeric,
    p_accepting varchar[], {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    o transactions;
    receiver bigint;
    payer bigint;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO o FROM transactions AS f WHERE f.id = p_original;
    SELECT f.owner_id INTO receiver FROM wallets AS f WHERE f.id = o.destination_wallet_id;
    SELECT f.owner_id INTO payer FROM wallets AS f WHERE f.id = o.source_wallet_id;
    IF o.id IS NULL OR NOT (p_operator OR p_initiator IS NOT DISTINCT FROM receiver
                            OR p_initiator IS NOT DISTINCT FROM payer) THEN
        outcome := 'TRANSACTION_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    IF o.status <> 'POSTED' OR o.kind NOT IN ('CHARGE', 'CAPTURE', 'TRANSFER') THEN
        outcome := 'NOT_REFUNDABLE';
        RETURN NEXT;
        RETURN;
    END IF;
    IF NOT p_operator AND p_initiator IS DISTINCT FROM receiver THEN
        outcome := 'REFUND_FORBIDDEN';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY
    WITH posted AS (
        SELECT * FROM walletql_post('REFUND', NULL, p_amount, o.currency, p_accepting,
            o.destination_wallet_id, o.source_wallet_id, o.destination_wallet_id, NULL, o.id,
            {_PASS_TAIL})
    ), audited AS (
        INSERT INTO audit_events (action, actor_id, subject, reason)
        SELECT 'REFUND', p_initiator, 'Transaction:' || (p.tx).id, p_description
        FROM posted AS p
        WHERE p_operator AND p.outcome IN ('POSTED', 'INSUFFICIENT_FUNDS')
    )
    SELECT * FROM posted;
END
$$;
"""

# Going down: the two movements as migration 8 made them (their bodies, unchanged).
_OPERATION_BEFORE = _HOLDS._MOVEMENTS[_HOLDS._MOVEMENTS.index("-- An operator applies") :]
_REFUND_BEFORE = _HOLDS._HOLDS[_HOLDS._HOLDS.index("-- The owner of the wallet that received") :]


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _TABLES + _FUNCTIONS


async def downgrade(db: BaseDBAsyncClient) -> str:
    return (
        "DROP FUNCTION walletql_set_wallet_status(bigint, bigint, varchar, varchar);\n"
        + _OPERATION_BEFORE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        + _REFUND_BEFORE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        + _UNTABLES
    )


# No model changes: keys and audit events are read and written in SQL (walletql.keys,
# walletql.ledger.audit).
MODELS_STATE = _HOLDS.MODELS_STATE
