from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier, replaced

RUN_IN_TRANSACTION = True

# Less work for PostgreSQL per posting, the same rules (bench/FINDINGS.md, finding 24). Every
# statement a PL/pgSQL function runs pays for its own executor start, and every INSERT or UPDATE
# reads its table's CHECK expressions again from their stored text (they are not cached across
# statements).
#
# - walletql_post moves the balances, appends the entries and queues the notifications in one
#   statement instead of one UPDATE, then an INSERT and a pg_notify per wallet moved.
# - walletql_batch finds the wallets to lock through the primary key (`= ANY (ARRAY(...))`)
#   instead of joining a scan of every wallet.
# - The CHECK expressions that name lists of codes compare with one array constant instead of an
#   array built from one cast constant per code, and numeric zeros are numeric constants rather
#   than a cast of an integer: the same conditions, about a third less to read each time. The
#   floor trigger's condition is written with LEAST: x < a AND x < b is x < LEAST(a, b) when
#   neither is NULL, and every column in it is NOT NULL.


_HOLDS = earlier("8_*_holds_refunds.py")
_BATCHES = earlier("9_*_batches.py")
_LAST = earlier("12_*_sign_ins_under_way.py")


# Migration 8's walletql_post, as it was made.
_POST_BEFORE = _HOLDS._FUNCTIONS[_HOLDS._FUNCTIONS.index("-- 14-20:") :].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
)

_WRITES_BEFORE = """    FOR moved IN
        UPDATE wallets AS u
        SET balance = u.balance
                + CASE WHEN u.id = p_source THEN source_balance ELSE destination_balance END,
            held = u.held + CASE WHEN u.id = p_source THEN source_held ELSE destination_held END,
            version = u.version + 1
        WHERE u.id IN (p_source, p_destination)
        RETURNING u.*
    LOOP
        INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, held_amount,
            held_after, version, created_at)
        VALUES (stored.id, moved.id,
            CASE WHEN moved.id = p_source THEN source_balance ELSE destination_balance END,
            moved.balance,
            CASE WHEN moved.id = p_source THEN source_held ELSE destination_held END,
            moved.held, moved.version, stored.created_at);
        -- Sent exactly when, and only if, this transaction commits.
        PERFORM pg_notify(p_channel, json_build_object(
            'wallet_id', moved.id, 'owner_id', moved.owner_id, 'balance', moved.balance::text,
            'held', moved.held::text, 'version', moved.version,
            'transaction_id', stored.id)::text);
        IF moved.id = p_acting THEN
            wallet := moved;
        END IF;
    END LOOP;
"""

# One statement: the wallets moved (and their versions bumped), an entry appended for each, and
# a notification queued for each, sent exactly when, and only if, this transaction commits.
_WRITES = """    FOR moved IN
        WITH m AS (
            UPDATE wallets AS u
            SET balance = u.balance
                    + CASE WHEN u.id = p_source THEN source_balance ELSE destination_balance END,
                held = u.held
                    + CASE WHEN u.id = p_source THEN source_held ELSE destination_held END,
                version = u.version + 1
            WHERE u.id IN (p_source, p_destination)
            RETURNING u.*
        ), appended AS (
            INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, held_amount,
                held_after, version, created_at)
            SELECT stored.id, m.id,
                CASE WHEN m.id = p_source THEN source_balance ELSE destination_balance END,
                m.balance,
                CASE WHEN m.id = p_source THEN source_held ELSE destination_held END,
                m.held, m.version, stored.created_at
            FROM m
        )
        SELECT m::wallets AS w, pg_notify(p_channel, json_build_object(
            'wallet_id', m.id, 'owner_id', m.owner_id, 'balance', m.balance::text,
            'held', m.held::text, 'version', m.version,
            'transaction_id', stored.id)::text) AS notified
        FROM m
    LOOP
        IF (moved.w).id = p_acting THEN
            wallet := moved.w;
        END IF;
    END LOOP;
"""

_POST = replaced(
    replaced(_POST_BEFORE, _WRITES_BEFORE, _WRITES), "    moved wallets;\n", "    moved record;\n"
)

# Migration 9's walletql_batch, as it was made.
_BATCH_BEFORE = _BATCHES._FUNCTIONS.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")

_LOCKS_BEFORE = """        PERFORM FROM wallets AS l WHERE l.id IN (
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
"""

# The same wallets, each found through an index: `IN (subquery)` was planned as a hash join
# over a scan of the whole wallets table, for every batch.
_LOCKS = """        PERFORM FROM wallets AS l WHERE l.id = ANY (ARRAY(
            SELECT (i->>'wallet')::bigint FROM jsonb_array_elements(p_items) AS i
            UNION ALL
            SELECT (i->>'to_wallet')::bigint FROM jsonb_array_elements(p_items) AS i
            UNION ALL
            -- A recipient by user, a merchant's receiving wallet: any they might be.
            SELECT f.id FROM wallets AS f
            WHERE f.status = 'ACTIVE' AND f.owner_id = ANY (ARRAY(
                SELECT (i->>'to_user')::bigint FROM jsonb_array_elements(p_items) AS i
                UNION ALL
                SELECT p_initiator FROM jsonb_array_elements(p_items) AS i
                WHERE i->>'function' = 'walletql_charge'))
            UNION ALL
            SELECT f.id FROM wallets AS f WHERE f.payment_token = ANY (ARRAY(
                SELECT i->>'token' FROM jsonb_array_elements(p_items) AS i))
            UNION ALL
            SELECT unnest(ARRAY[o.source_wallet_id, o.destination_wallet_id])
            FROM transactions AS o WHERE o.id = ANY (ARRAY(
                SELECT (i->>'original')::bigint FROM jsonb_array_elements(p_items) AS i))
        )) ORDER BY l.id FOR NO KEY UPDATE;
"""

_BATCH = replaced(_BATCH_BEFORE, _LOCKS_BEFORE, _LOCKS)

_CHECKS = """
ALTER TABLE "transactions"
    DROP CONSTRAINT "transactions_kind_known",
    ADD CONSTRAINT "transactions_kind_known" CHECK ("kind"::text = ANY (
        '{DEPOSIT,WITHDRAWAL,TRANSFER,CHARGE,OPERATION,HOLD,CAPTURE,RELEASE,REFUND}'::text[])),
    DROP CONSTRAINT "transactions_status_known",
    ADD CONSTRAINT "transactions_status_known"
        CHECK ("status"::text = ANY ('{POSTED,REJECTED}'::text[])),
    DROP CONSTRAINT "transactions_amount_nonnegative",
    ADD CONSTRAINT "transactions_amount_nonnegative" CHECK ("amount" >= '0');
ALTER TABLE "wallets"
    DROP CONSTRAINT "wallets_status_known",
    ADD CONSTRAINT "wallets_status_known"
        CHECK ("status"::text = ANY ('{ACTIVE,FROZEN}'::text[])),
    DROP CONSTRAINT "wallets_balance_floor",
    ADD CONSTRAINT "wallets_balance_floor"
        CHECK ("balance" >= LEAST("minimum_balance", '0') AND "held" >= '0');
DROP TRIGGER "wallets_balance_floor" ON "wallets";
CREATE TRIGGER "wallets_balance_floor" BEFORE UPDATE OF "balance", "held" ON "wallets"
    FOR EACH ROW
    WHEN (NEW.balance - NEW.held < LEAST(OLD.balance - OLD.held, NEW.minimum_balance))
    EXECUTE FUNCTION walletql_balance_floor();
"""

# As migrations 0, 1 and 8 made them.
_CHECKS_BEFORE = """
ALTER TABLE "transactions"
    DROP CONSTRAINT "transactions_kind_known",
    ADD CONSTRAINT "transactions_kind_known"
        CHECK ("kind" IN ('DEPOSIT', 'WITHDRAWAL', 'TRANSFER', 'CHARGE', 'OPERATION', 'HOLD',
                          'CAPTURE', 'RELEASE', 'REFUND')),
    DROP CONSTRAINT "transactions_status_known",
    ADD CONSTRAINT "transactions_status_known" CHECK ("status" IN ('POSTED', 'REJECTED')),
    DROP CONSTRAINT "transactions_amount_nonnegative",
    ADD CONSTRAINT "transactions_amount_nonnegative" CHECK ("amount" >= 0);
ALTER TABLE "wallets"
    DROP CONSTRAINT "wallets_status_known",
    ADD CONSTRAINT "wallets_status_known" CHECK ("status" IN ('ACTIVE', 'FROZEN')),
    DROP CONSTRAINT "wallets_balance_floor",
    ADD CONSTRAINT "wallets_balance_floor"
        CHECK ("balance" >= LEAST("minimum_balance", 0) AND "held" >= 0);
DROP TRIGGER "wallets_balance_floor" ON "wallets";
CREATE TRIGGER "wallets_balance_floor" BEFORE UPDATE OF "balance", "held" ON "wallets"
    FOR EACH ROW
    WHEN (NEW.balance - NEW.held < OLD.balance - OLD.held
          AND NEW.balance - NEW.held < NEW.minimum_balance)
    EXECUTE FUNCTION walletql_balance_floor();
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _CHECKS + _POST + _BATCH


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _CHECKS_BEFORE + _POST_BEFORE + _BATCH_BEFORE


# No model changes.
MODELS_STATE = _LAST.MODELS_STATE
