from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier

RUN_IN_TRANSACTION = True

# Holds and refunds on the one posting route. Every movement still ends in walletql_post, which
# now also moves the held amount: placing a hold raises it, capturing lowers it with the balance,
# releasing lowers it alone. The answer row gains the hold and the figures ExceedsRemaining names,
# so every function is dropped and made again.


_ROUTE = earlier("7_*_one_posting_route.py")

_NEW = (
    "walletql_outside(varchar, bigint, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_transfer(bigint, bigint, bigint, bigint, numeric, varchar[], varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_charge(bigint, varchar, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_apply_operation(bigint, bigint, varchar, numeric, varchar, varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_authorize(bigint, varchar, bigint, numeric, varchar[], integer, varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_capture(bigint, bigint, numeric, boolean, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_void_hold(bigint, bigint, varchar, varchar, varchar, text, numeric)",
    "walletql_refund(bigint, boolean, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_expire_holds(integer, text, numeric)",
    "walletql_release(holds, text, text, numeric)",
    "walletql_token_parties(bigint, varchar, bigint)",
    "walletql_post(varchar, varchar, numeric, varchar, varchar[], bigint, bigint, bigint, "
    "bigint, bigint, varchar, bigint, varchar, varchar, text, numeric)",
    "walletql_replay(bigint, varchar, varchar)",
    "walletql_owned(bigint, bigint)",
    "walletql_first_active(bigint, varchar)",
)

_TABLES = """
ALTER TABLE "wallets" ADD "held" DECIMAL(38,18) NOT NULL DEFAULT 0;
-- Nothing is held below 0: part of the floor's constraint, so updates evaluate one, not two.
ALTER TABLE "wallets" DROP CONSTRAINT "wallets_balance_floor";
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_balance_floor"
    CHECK ("balance" >= LEAST("minimum_balance", 0) AND "held" >= 0);

-- A debit may never take balance - held below the floor, even if the application forgot. A
-- capture lowers both by the same amount, so it passes; a hold or a debit is held to the floor.
-- The condition is the trigger's WHEN, evaluated without calling PL/pgSQL: every posting
-- updates its wallets, and the function runs only to refuse.
CREATE OR REPLACE FUNCTION walletql_balance_floor() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallet % would go below its floor', NEW.id
        USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;
DROP TRIGGER "wallets_balance_floor" ON "wallets";
CREATE TRIGGER "wallets_balance_floor" BEFORE UPDATE OF "balance", "held" ON "wallets"
    FOR EACH ROW
    WHEN (NEW.balance - NEW.held < OLD.balance - OLD.held
          AND NEW.balance - NEW.held < NEW.minimum_balance)
    EXECUTE FUNCTION walletql_balance_floor();

CREATE TABLE "holds" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "status" VARCHAR(16) NOT NULL DEFAULT 'HELD'
        CHECK ("status" IN ('HELD', 'CAPTURED', 'VOIDED', 'EXPIRED')),
    "amount" DECIMAL(38,18) NOT NULL CHECK ("amount" > 0),
    "captured_amount" DECIMAL(38,18) NOT NULL DEFAULT 0,
    "currency" VARCHAR(32) NOT NULL,
    "description" VARCHAR(500) NOT NULL,
    "idempotency_key" VARCHAR(200) NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "source_wallet_id" BIGINT NOT NULL REFERENCES "wallets" ("id") ON DELETE RESTRICT,
    "destination_wallet_id" BIGINT NOT NULL REFERENCES "wallets" ("id") ON DELETE RESTRICT,
    "initiator_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    CONSTRAINT "holds_captured_within" CHECK ("captured_amount" BETWEEN 0 AND "amount")
);
COMMENT ON COLUMN "holds"."status" IS 'HELD: HELD\nCAPTURED: CAPTURED\nVOIDED: VOIDED\nEXPIRED: EXPIRED';
-- Wallet.holds, newest first, for either side; the sweeper's queue.
CREATE INDEX "holds_source" ON "holds" ("source_wallet_id", "id" DESC);
CREATE INDEX "holds_destination" ON "holds" ("destination_wallet_id", "id" DESC);
CREATE INDEX "holds_expiring" ON "holds" ("expires_at") WHERE "status" = 'HELD';

-- The ledger's own postings (an expiry, the rest released by a final capture) have no initiator,
-- so no key of a user's can ever meet theirs.
ALTER TABLE "transactions" ALTER COLUMN "initiator_id" DROP NOT NULL;
-- Deferred: a hold's transaction is written first and its hold row after it, in one statement.
ALTER TABLE "transactions" ADD "hold_id" BIGINT
    REFERENCES "holds" ("id") ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE "transactions" ADD "refund_of_id" BIGINT
    REFERENCES "transactions" ("id") ON DELETE RESTRICT;
CREATE INDEX "transactions_hold" ON "transactions" ("hold_id") WHERE "hold_id" IS NOT NULL;
CREATE INDEX "transactions_refund_of" ON "transactions" ("refund_of_id")
    WHERE "refund_of_id" IS NOT NULL;
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_kind_known";
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_kind_known"
    CHECK ("kind" IN ('DEPOSIT', 'WITHDRAWAL', 'TRANSFER', 'CHARGE', 'OPERATION', 'HOLD',
                      'CAPTURE', 'RELEASE', 'REFUND'));
-- Which transactions name a hold or an original is checked by `walletql verify`, not by a
-- CHECK: a constraint's expression is evaluated by every posting's insert, and this one cost it
-- ~7 us.
COMMENT ON COLUMN "transactions"."kind" IS 'DEPOSIT: DEPOSIT\nWITHDRAWAL: WITHDRAWAL\nTRANSFER: TRANSFER\nCHARGE: CHARGE\nOPERATION: OPERATION\nHOLD: HOLD\nCAPTURE: CAPTURE\nRELEASE: RELEASE\nREFUND: REFUND';

ALTER TABLE "entries" ADD "held_amount" DECIMAL(38,18) NOT NULL DEFAULT 0;
ALTER TABLE "entries" ADD "held_after" DECIMAL(38,18) NOT NULL DEFAULT 0;
"""

_UNTABLES = """
DO $$
BEGIN
    IF EXISTS (SELECT FROM transactions WHERE kind IN ('HOLD', 'CAPTURE', 'RELEASE', 'REFUND'))
    THEN
        RAISE EXCEPTION 'holds or refunds are recorded: undoing migration 8 would lose them';
    END IF;
END
$$;
ALTER TABLE "entries" DROP COLUMN "held_after";
ALTER TABLE "entries" DROP COLUMN "held_amount";
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_kind_known";
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_kind_known"
    CHECK ("kind" IN ('DEPOSIT', 'WITHDRAWAL', 'TRANSFER', 'CHARGE', 'OPERATION'));
ALTER TABLE "transactions" DROP COLUMN "refund_of_id";
ALTER TABLE "transactions" DROP COLUMN "hold_id";
ALTER TABLE "transactions" ALTER COLUMN "initiator_id" SET NOT NULL;
DROP TABLE "holds";
DROP TRIGGER "wallets_balance_floor" ON "wallets";
CREATE OR REPLACE FUNCTION walletql_balance_floor() RETURNS trigger AS $$
BEGIN
    IF NEW.balance < OLD.balance AND NEW.balance < NEW.minimum_balance THEN
        RAISE EXCEPTION 'wallet % would go below its floor', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER "wallets_balance_floor" BEFORE UPDATE OF "balance" ON "wallets"
    FOR EACH ROW EXECUTE FUNCTION walletql_balance_floor();
ALTER TABLE "wallets" DROP CONSTRAINT "wallets_balance_floor";
ALTER TABLE "wallets" DROP COLUMN "held";
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_balance_floor"
    CHECK ("balance" >= LEAST("minimum_balance", 0));
"""

# Every function answers one row of this shape: the outcome code; the transaction (POSTED,
# REPLAYED, INSUFFICIENT_FUNDS); the wallet acted on as the posting left it (POSTED), or the
# wallet a refusal is about (WALLET_INACTIVE); the currencies an error names; the hold of a hold's
# posting (or of HOLD_CLOSED); what remains and what was asked (EXCEEDS_REMAINING).
_RESULT = """outcome text, tx transactions, wallet wallets, currency varchar,
    other_currency varchar, hold holds, remaining numeric, requested numeric"""
# A hold function's answer: its posting's (`posted`), with the hold as the function left it.
_ANSWER = """RETURN QUERY SELECT posted.outcome, posted.tx, posted.wallet, posted.currency,
        posted.other_currency, coalesce(hold, posted.hold), posted.remaining, posted.requested"""

_TAIL = """p_description varchar, p_key varchar, p_fingerprint varchar, p_channel text,
    p_max_balance numeric"""
_PASS_TAIL = "p_description, p_initiator, p_key, p_fingerprint, p_channel, p_max_balance"

# The part of a hold function between its replay and its posting: the hold, locked (so its
# captures, its void and its expiry take turns), if the caller placed it and it is still open.
_OPEN_HOLD = """
    SELECT * INTO h FROM holds AS f WHERE f.id = p_hold FOR UPDATE;
    IF NOT FOUND OR (h.initiator_id <> p_initiator AND NOT EXISTS (
            SELECT FROM wallets AS f WHERE f.id = h.source_wallet_id AND f.owner_id = p_initiator))
    THEN
        outcome := 'HOLD_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    IF h.initiator_id <> p_initiator THEN
        outcome := 'HOLD_FORBIDDEN';
        RETURN NEXT;
        RETURN;
    END IF;
    -- Past expires_at a hold is closed, released or not yet: the sweeper may lag, never a capture.
    IF h.status <> 'HELD' OR clock_timestamp() >= h.expires_at THEN
        outcome := 'HOLD_CLOSED';
        hold := h;
        RETURN NEXT;
        RETURN;
    END IF;
"""

_FUNCTIONS = f"""
-- 8, 9: a key the caller used before answers what it did then, whatever the ledger is now (its
-- hold as it is now).
CREATE FUNCTION walletql_replay(p_initiator bigint, p_key varchar, p_fingerprint varchar)
RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    stored transactions;
BEGIN
    SELECT * INTO stored FROM transactions AS t
    WHERE t.initiator_id = p_initiator AND t.idempotency_key = p_key;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF stored.fingerprint <> p_fingerprint THEN
        outcome := 'IDEMPOTENCY_CONFLICT';
    ELSE
        outcome := 'REPLAYED';
        tx := stored;
        IF stored.hold_id IS NOT NULL THEN
            SELECT * INTO hold FROM holds AS f WHERE f.id = stored.hold_id;
        END IF;
    END IF;
    RETURN NEXT;
END
$$;

-- 14-20: the amount's precision, then under the locks currency, status, what remains refundable
-- and funds; then post or store the declined debit. p_accepting: the currencies that take the
-- amount as given (decimal places are configuration, which the database does not hold); NULL for
-- an amount from configuration or from the ledger. p_amount NULL (a refund): all that remains.
--
-- How each kind moves its wallets (balance, held), source then destination:
--   HOLD     source (-0, +a)                       balance stays, the funds are reserved
--   CAPTURE  source (-a, -a), destination (+a, 0)  drawn on the hold, not on what is available
--   RELEASE  destination (+0, -a)                  on any status: releasing only frees money
--   others   source (-a, 0), destination (+a, 0)
CREATE FUNCTION walletql_post(
    p_kind varchar, p_operation varchar, p_amount numeric, p_currency varchar,
    p_accepting varchar[], p_source bigint, p_destination bigint, p_acting bigint,
    p_hold bigint, p_refund_of bigint,
    p_description varchar, p_initiator bigint, p_key varchar, p_fingerprint varchar,
    p_channel text, p_max_balance numeric
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    w wallets;
    inactive wallets;
    source_available numeric;
    destination_before numeric;
    stored transactions;
    moved wallets;
    moving numeric := p_amount;
    refundable numeric;
    source_balance numeric := CASE WHEN p_kind = 'HOLD' THEN 0 ELSE -p_amount END;
    source_held numeric := CASE p_kind WHEN 'HOLD' THEN p_amount WHEN 'CAPTURE' THEN -p_amount
                                       ELSE 0 END;
    destination_balance numeric := CASE WHEN p_kind = 'RELEASE' THEN 0 ELSE p_amount END;
    destination_held numeric := CASE WHEN p_kind = 'RELEASE' THEN -p_amount ELSE 0 END;
BEGIN
    IF p_amount IS NOT NULL AND NOT p_currency = ANY(coalesce(p_accepting, ARRAY[p_currency])) THEN
        outcome := 'AMOUNT_TOO_PRECISE';
        currency := p_currency;
        RETURN NEXT;
        RETURN;
    END IF;
    -- In ascending id order: opposite transfers cannot deadlock.
    FOR w IN SELECT * FROM wallets AS l WHERE l.id IN (p_source, p_destination)
             ORDER BY l.id FOR NO KEY UPDATE LOOP
        IF w.currency <> p_currency THEN
            outcome := 'CURRENCY_MISMATCH';
            currency := p_currency;
            other_currency := w.currency;
            RETURN NEXT;
            RETURN;
        END IF;
        IF w.status <> 'ACTIVE' AND p_kind <> 'RELEASE' AND inactive.id IS NULL THEN
            inactive := w;
        END IF;
        IF w.id = p_source THEN
            source_available := w.balance - w.held - w.minimum_balance;
        END IF;
        IF w.id = p_destination THEN
            destination_before := w.balance;
        END IF;
    END LOOP;
    IF inactive.id IS NOT NULL THEN
        outcome := 'WALLET_INACTIVE';
        wallet := inactive;
        RETURN NEXT;
        RETURN;
    END IF;

    -- Refunds of one original all debit its receiving wallet, whose lock is held now: what
    -- remains refundable cannot change until this transaction ends.
    IF p_refund_of IS NOT NULL THEN
        SELECT o.amount - coalesce(sum(r.amount) FILTER (WHERE r.status = 'POSTED'), 0)
        INTO refundable
        FROM transactions AS o LEFT JOIN transactions AS r ON r.refund_of_id = o.id
        WHERE o.id = p_refund_of GROUP BY o.amount;
        moving := coalesce(p_amount, refundable);
        IF moving > refundable OR moving = 0 THEN
            outcome := 'EXCEEDS_REMAINING';
            currency := p_currency;
            remaining := refundable;
            requested := moving;
            RETURN NEXT;
            RETURN;
        END IF;
        source_balance := -moving;
        destination_balance := moving;
    END IF;

    -- A declined debit is a fact too: store it, move nothing.
    IF p_source IS NOT NULL AND p_kind <> 'CAPTURE' AND moving > source_available THEN
        INSERT INTO transactions AS t (kind, status, operation, amount, currency,
            source_wallet_id, destination_wallet_id, description, initiator_id,
            idempotency_key, fingerprint, failure_reason, available, refund_of_id)
        VALUES (p_kind, 'REJECTED', p_operation, moving, p_currency, p_source, p_destination,
            p_description, p_initiator, p_key, p_fingerprint, 'INSUFFICIENT_FUNDS',
            source_available, p_refund_of)
        ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
        RETURNING * INTO stored;
        IF NOT FOUND THEN
            -- The same key committed first (this insert waited for it on the unique index).
            RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
            RETURN;
        END IF;
        outcome := 'INSUFFICIENT_FUNDS';
        tx := stored;
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_destination IS NOT NULL AND destination_before + destination_balance >= p_max_balance
    THEN
        outcome := 'BALANCE_TOO_LARGE';
        RETURN NEXT;
        RETURN;
    END IF;

    INSERT INTO transactions AS t (kind, status, operation, amount, currency, source_wallet_id,
        destination_wallet_id, description, initiator_id, idempotency_key, fingerprint, hold_id,
        refund_of_id)
    VALUES (p_kind, 'POSTED', p_operation, moving, p_currency, p_source, p_destination,
        p_description, p_initiator, p_key, p_fingerprint, p_hold, p_refund_of)
    ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
    RETURNING * INTO stored;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
        RETURN;
    END IF;

    FOR moved IN
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
    outcome := 'POSTED';
    tx := stored;
    RETURN NEXT;
END
$$;
"""

# Migration 7's movements, unchanged but for the answer's new columns and walletql_post's hold
# and refund parameters (NULL for them).
_DEPOSIT, _CHARGE, _OPERATION = (
    "-- A deposit (money in from outside)",
    "-- A merchant pulls money",
    "-- An operator applies",
)
_MOVEMENTS = (
    (
        _DEPOSIT
        + _ROUTE._FUNCTIONS.split(_DEPOSIT, 1)[1].split(_CHARGE, 1)[0]
        + _OPERATION
        + _ROUTE._FUNCTIONS.split(_OPERATION, 1)[1]
    )
    .replace(_ROUTE._RESULT, _RESULT)
    .replace(f", {_ROUTE._PASS_TAIL}", ", NULL, NULL, " + _PASS_TAIL)
)

# A charge and a hold find their wallets the same way: walletql_token_parties.
_TOKEN_PARTIES = f"""
-- Who pays and who is paid when a merchant takes money by a payment token (a charge, a hold):
-- the customer's wallet, and the merchant's own, the one p_to_wallet names or its oldest ACTIVE
-- one in the customer's currency. `outcome` is the refusal, NULL when both are found.
CREATE FUNCTION walletql_token_parties(
    p_initiator bigint, p_token varchar, p_to_wallet bigint,
    OUT outcome text, OUT customer wallets, OUT merchant wallets
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT * INTO customer FROM wallets AS f WHERE f.payment_token = p_token;
    IF NOT FOUND THEN
        outcome := 'TOKEN_NOT_FOUND';
    ELSIF customer.owner_id = p_initiator THEN
        outcome := 'SELF_CHARGE';
    ELSIF p_to_wallet IS NULL THEN
        merchant := walletql_first_active(p_initiator, customer.currency);
        IF merchant.id IS NULL THEN
            outcome := 'NO_RECEIVING_WALLET';
        END IF;
    ELSE
        merchant := walletql_owned(p_initiator, p_to_wallet);
        IF merchant.id IS NULL THEN
            outcome := 'WALLET_NOT_FOUND';
        END IF;
    END IF;
END
$$;

-- A merchant pulls money from the wallet whose payment token it holds into its own wallet.
CREATE FUNCTION walletql_charge(
    p_initiator bigint, p_token varchar, p_to_wallet bigint, p_amount numeric,
    p_accepting varchar[], {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    parties record;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    parties := walletql_token_parties(p_initiator, p_token, p_to_wallet);
    IF parties.outcome IS NOT NULL THEN
        outcome := parties.outcome;
        currency := (parties.customer).currency;  -- the one NO_RECEIVING_WALLET names
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM walletql_post('CHARGE', NULL, p_amount,
        (parties.customer).currency, p_accepting, (parties.customer).id, (parties.merchant).id,
        (parties.merchant).id, NULL, NULL, {_PASS_TAIL});
END
$$;
"""

_HOLDS = f"""
-- The ledger's own release of what remains of a hold (the rest after a final capture, an
-- expiry): no initiator, so no key of a user's meets it. A release posts on any status and only
-- frees money, so it cannot be refused: if it were, the hold would close with money still held.
CREATE FUNCTION walletql_release(h holds, p_why text, p_channel text, p_max_balance numeric)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    answer text;
BEGIN
    SELECT p.outcome INTO answer
    FROM walletql_post('RELEASE', NULL, h.amount - h.captured_amount, h.currency, NULL, NULL,
        h.source_wallet_id, NULL, h.id, NULL, NULL, NULL, 'hold ' || h.id || ' ' || p_why, '',
        p_channel, p_max_balance) AS p;
    IF answer <> 'POSTED' THEN
        RAISE EXCEPTION 'the release of hold % was refused: %', h.id, answer;
    END IF;
END
$$;

-- A merchant reserves money on the wallet whose payment token it holds, for its own wallet:
-- the one p_to_wallet names, or its oldest ACTIVE wallet in the customer's currency. The hold
-- is written after its HOLD transaction (which names it: the key is deferred).
CREATE FUNCTION walletql_authorize(
    p_initiator bigint, p_token varchar, p_to_wallet bigint, p_amount numeric,
    p_accepting varchar[], p_expires_in integer, {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    parties record;
    c wallets;
    m wallets;
    new_hold bigint;
    posted record;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    parties := walletql_token_parties(p_initiator, p_token, p_to_wallet);
    IF parties.outcome IS NOT NULL THEN
        outcome := parties.outcome;
        currency := (parties.customer).currency;  -- the one NO_RECEIVING_WALLET names
        RETURN NEXT;
        RETURN;
    END IF;
    c := parties.customer;
    m := parties.merchant;
    -- The merchant's wallet is not posted on until a capture (which checks it under its lock);
    -- a hold it could never receive is refused now.
    IF m.currency <> c.currency THEN
        outcome := 'CURRENCY_MISMATCH';
        currency := c.currency;
        other_currency := m.currency;
        RETURN NEXT;
        RETURN;
    END IF;
    IF m.status <> 'ACTIVE' THEN
        outcome := 'WALLET_INACTIVE';
        wallet := m;
        RETURN NEXT;
        RETURN;
    END IF;
    new_hold := nextval(pg_get_serial_sequence('holds', 'id'));
    SELECT * INTO posted
    FROM walletql_post('HOLD', NULL, p_amount, c.currency, p_accepting, c.id, NULL, NULL,
        new_hold, NULL, {_PASS_TAIL});
    IF posted.outcome = 'POSTED' THEN
        INSERT INTO holds AS f (id, status, amount, currency, description, idempotency_key,
            expires_at, created_at, source_wallet_id, destination_wallet_id, initiator_id)
        VALUES (new_hold, 'HELD', p_amount, c.currency, p_description, p_key,
            (posted.tx).created_at + make_interval(secs => p_expires_in), (posted.tx).created_at,
            c.id, m.id, p_initiator)
        RETURNING f.* INTO hold;
    END IF;
    {_ANSWER};
END
$$;

-- The merchant that placed a hold moves p_amount of it (NULL: all that remains) to its wallet;
-- p_final releases the rest in the same transaction (a second posting, the ledger's own).
CREATE FUNCTION walletql_capture(
    p_initiator bigint, p_hold bigint, p_amount numeric, p_final boolean,
    p_accepting varchar[], {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    capturing numeric;
    rest numeric;
    posted record;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    {_OPEN_HOLD}
    capturing := coalesce(p_amount, h.amount - h.captured_amount);
    IF capturing > h.amount - h.captured_amount THEN
        outcome := 'EXCEEDS_REMAINING';
        currency := h.currency;
        remaining := h.amount - h.captured_amount;
        requested := capturing;
        hold := h;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO posted
    FROM walletql_post('CAPTURE', NULL, capturing, h.currency, p_accepting, h.source_wallet_id,
        h.destination_wallet_id, h.destination_wallet_id, h.id, NULL, {_PASS_TAIL});
    IF posted.outcome <> 'POSTED' THEN
        {_ANSWER};
        RETURN;
    END IF;
    UPDATE holds AS f
    SET captured_amount = f.captured_amount + capturing,
        status = CASE WHEN p_final OR f.captured_amount + capturing = f.amount THEN 'CAPTURED'
                      ELSE 'HELD' END
    WHERE f.id = h.id
    RETURNING f.* INTO hold;
    rest := hold.amount - hold.captured_amount;
    IF p_final AND rest > 0 THEN
        PERFORM walletql_release(hold, 'final capture', p_channel, p_max_balance);
    END IF;
    {_ANSWER};
END
$$;

-- The merchant that placed a hold releases all that remains of it.
CREATE FUNCTION walletql_void_hold(p_initiator bigint, p_hold bigint, {_TAIL})
RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    posted record;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    {_OPEN_HOLD}
    SELECT * INTO posted
    FROM walletql_post('RELEASE', NULL, h.amount - h.captured_amount, h.currency, NULL, NULL,
        h.source_wallet_id, NULL, h.id, NULL, {_PASS_TAIL});
    IF posted.outcome = 'POSTED' THEN
        UPDATE holds AS f SET status = 'VOIDED' WHERE f.id = h.id RETURNING f.* INTO hold;
    END IF;
    {_ANSWER};
END
$$;

-- Releases up to p_limit holds past their expiry, skipping those another sweeper (or a capture
-- or void) holds; answers how many. In source wallet order, so the wallet locks one sweep takes
-- ascend like every posting's.
CREATE FUNCTION walletql_expire_holds(p_limit integer, p_channel text, p_max_balance numeric)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    released integer := 0;
BEGIN
    FOR h IN SELECT * FROM holds AS f
             WHERE f.status = 'HELD' AND f.expires_at <= clock_timestamp()
             ORDER BY f.source_wallet_id, f.id LIMIT p_limit
             FOR UPDATE SKIP LOCKED LOOP
        PERFORM walletql_release(h, 'expired', p_channel, p_max_balance);
        UPDATE holds AS f SET status = 'EXPIRED' WHERE f.id = h.id;
        released := released + 1;
    END LOOP;
    RETURN released;
END
$$;

-- The owner of the wallet that received a CHARGE, CAPTURE or TRANSFER (or an operator) returns
-- p_amount of it (NULL: all that remains refundable) to the wallet it came from.
CREATE FUNCTION walletql_refund(
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
    RETURN QUERY SELECT * FROM walletql_post('REFUND', NULL, p_amount, o.currency, p_accepting,
        o.destination_wallet_id, o.source_wallet_id, o.destination_wallet_id, NULL, o.id,
        {_PASS_TAIL});
END
$$;
"""


def _drop(signatures: tuple[str, ...]) -> str:
    return "".join(f"DROP FUNCTION {signature};\n" for signature in signatures)


# Migration 7's lookups stay as they are (their `SELECT *` reads the wallets as they now are);
# everything that answers the posting route's row is made again.
_KEPT = ("walletql_owned(bigint, bigint)", "walletql_first_active(bigint, varchar)")


async def upgrade(db: BaseDBAsyncClient) -> str:
    replaced = tuple(s for s in _ROUTE._NEW if s not in _KEPT)
    return _drop(replaced) + _TABLES + _FUNCTIONS + _MOVEMENTS + _TOKEN_PARTIES + _HOLDS


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _drop(_NEW) + _UNTABLES + _ROUTE._FUNCTIONS


# Generated by aerich.utils.compress_dict(get_models_describe("models")) from walletql.models.
MODELS_STATE = (
    "eJztnVtzo7gSgP8KxcuZU+WTSpzr+jx5bLLxbmKnHGZma8ZTlIJlmwoID4jJuHbz31fifg8Q"
    "nADRSyCSGsTXuna34W9e05dQNQ+GFt6I+gNE/ID7m0dAg+QkmdnjeLDdBlk0AYN71S4NSDEJ"
    "03J2Org3sQFkTLJWQDUhSVpCUzaULVZ0eh9kqSpN1GVSUEHrIMlCyg8LkmutId5Ag2R8+06S"
    "FbSEv6Dp/bt9kFYKVJeRKitLem87XcK7rZ32UVlPEL60y9Ib3kuyrloaCspvd3ijI19AQZim"
    "riGCBsCQ3gEbFn0CWkH3eb2HciobFHFqGZJZwhWwVBx64nspSOMlaToTpTtBlCS+BCNZR5Qv"
    "qappA1jTKvzvt37/+Pi8f3h8dnF6cn5+enF4Qcra9U1mnT85lQloOZeymU1+n0xFWiGdKNFR"
    "ME14smUABo6UrYyAvq19aQPMTVILow0w0nUQlYrpgjxkXBce+eYqQwO/JBWiNd6Qf89Ocjh/"
    "Hs5HV8P5h7OT/0ZhT92cvp1FsQeYZQNSFBLAScxjkoMVDaajjkrGUC9d0QPvpAp4LyEgH/T+"
    "10BPHnA5Q+rOVXkOenFyI9yJw5tbejvNNH+oNr+hKNCcvp26i6V+OIupyb8I92UiXnH0X+7r"
    "bCrYeHUTrw37jkE58StP60QGS11C+qMElqHW6aV61CJah7+2CrlaBa1HJTuo9ZZo2WOSq2YD"
    "/iTjYZXOHZWsQc1uq2Rarl/LlgkNqexiJST0/IqlBd329RYtdL24ekhds1CoSTVc6gZU1uhP"
    "uLNVMSH1BkiGKejdRfIn9zItU8GT18a81KDbG+DRX2CHmx55dvLEEDuruuHdaDgWeJvwPZAf"
    "HoGxlCKoaY7e12MpftlkltbX4ikAgbUNhz4FrbNLXUDY2PEpexYno5e3X4GkiAL3sFf5xj8C"
    "lQByef2Ehkmv8p3tYZoyHPRy9jBA0y2UNvdCWdGAmq6CQCg+7TpSB650e0eINMBjYTS5GV5/"
    "OL7oHV3YkymZYhVnYPA2NieH8d3LPVDpUCqBFU4beXM5J2QZ7udwb+iFKjXqmOTboD5sF+cK"
    "bToqyCjnUvYm01ITZEiIrZtLTpTM6vS+rU7kKZFJlsaESOn9alKWdb/K3S+ypyiug4gYw1+X"
    "1SDUtGswHlzD5RoaYvSaLVNLUUtCclCIGBTmZMCaT0Yin9L4ayD9xb9QR/FG+nsG2bex1Vzp"
    "MTtHOL2XZ6nZ6PT6vQJ2Gv5GR3DHkekPGj/hktMRBzjZMrGuQeM/JufQ4Va6QdJJkrwBCB9w"
    "E2xyV7PrcY8bDW/FT3OBA2jJzYVrYXhnT6ph/ezjHgsU6hYmBwzI4Q0kDylj8/8cadTYMu3y"
    "Mthiy4Devswu+QC3mNtAg+Cg91rbdVJ33P2OXmSB6IqAVJ1bWci9vkXasGHfgaIldTb0R07V"
    "5YcDvsfc742ek3o5piunnaS73gVkaYkxMqKLQLoeF3yRAZO/Eq7HfDml2DIDjv5dILcvkf+9"
    "swX6PJuMaYpzXCDhr9uJXcQ9iXfoIk78o7MCTvyj+Do9cOLTrOh6jtkZ92wqiA2VJUmnSDPT"
    "TD5vyzAgknfp408G5ZDM6406rxb6c9wvMGoc9zNHDZoVhRyuVgnOMbEOoj49PCzAmpTKhG3n"
    "RWkrS6htdUxbqPQAS7XsFNEOUu8Xot7Pod5PUmeBTlUG7SYZFguFwDB7cnYn6649mRAhm1Fg"
    "m38qmjQzL8HMm5WtywpSsAKwXj4oLS7JlFBZCaZuGTKs2i3SpJky6jL4R+gyQ/Tzhui05ljA"
    "0p8c3Bns52FnTokFiPsDeA2gOx4FG5/rSvtXUh2IKRbbj6705Z9zqIKMbfsLnIfNjOxP8H/a"
    "pz8qyS3FOZUKN9tTFddq3YHF8QYYtzKwGOPGrCV6OY6aB/LwVd00nmyTrUn8WLid3U3EAeee"
    "LBDdWI7nwy/D6wEXnC+QOB9O7y6F+YDzzhaIWoZ+Fwacc1yg2a0wH4qT2XTA+acLRJ2pA9ul"
    "6ruBfC/QArmO1UHgYZ0Ll5+mY5pAj81wArXPY1ehMZAWIFL3m3OkivhDGNkp3lkzlKFvKa2S"
    "lvWIUCU1NGwu3rcHg/k9mR+u/a34Df1wjR4vmBuuM264Fbk/NLaGkjZaZxOPiXWQdv0v9FgB"
    "RbUMKBkQmOUGlKRk98aU+nmDnwSb/egllyFhuRevRBoGvf6FCHPwMgfv2zt4G9bN3sa1SOO8"
    "S+shJMTIt9SzznQwoG9GWlloKemr0jqISzIdtDy44d3qoomxDQ1TRqdDG1rKumWRDS2lXDCw"
    "Ib6irIGr9+vPbnINraALIPUXGzVw7XBUSBxyfI32gqic0Dvhqgfk+O+ea5lRIjMKJ9lGWcjS"
    "m4Qs2ZNQSpSSNzllBybR9zey17K/03AjqAFFLeNV8AU69zL2/mkRZwIple0pO024E7bANB91"
    "0rnLvvk+IdhBb1n/9LQQ8dMc4qdx4vaxBGivfBf57sP3uyWUSgH2BWpxPzZowKg/zMzQ0/yO"
    "xSL+PNkmt2N+9OlOnN3QkE7vbIHIH8JjKg4478wL65zNvajO2ZxvhIJkXdsCtJPKDjJxue55"
    "4vcy1njYLKPUGiUm1j3YewmlYj75bPrd8skn7P2FfpXkf76r+uY+8rmwlrWBQiYQ/3V01RkV"
    "tHq2Eo9rS4ZpW35mI0rgcpwaL2xPnfuB617NaC6tFENawDHblBZS2F6Nad94/RH5X13xI/S/"
    "MyNbI41s7GcXr/CzC/LcsNQuwRfo3v7gqND+4Chnf3CUYvgBOw0i7HzHtZwpMybYOdNx/WHo"
    "7tdsUnZiBb6Bk7YLY2+kjPDVyFJUszSpGucUacY7l/cGpoWEPPvxG0a2Q5+92RfSNwpabd3v"
    "8/nhSJx8FvhyanClBpxzXKDL+eyrMB1wzrEhdnlmu3wntsvIWxlCm+DiY19Yir0Er65AcZtq"
    "UhHsNWHRgMRw42PBiPu2xEtk65n+W15mkY9gUoH8UqN8lymRRcJSeakh/r14LZbwnrF6I/fF"
    "EBqKvOFT3BduTi/PfQGCMo0JBX4vLor+0cn5ycXx2Ym/aPNT8tZqzzsfMu0D2QbbbOtAF1wP"
    "e4k6pZ2qBGG3eAfp7sX1QO6IYdq7hv64m02zYsB8kfimXpEx9w+nKmYbN3s5cCmMyM7dY/rh"
    "ZvhXHPfoevYxviWnF/iYts3L3pLUP5k9/Qv7UkzF"
)
