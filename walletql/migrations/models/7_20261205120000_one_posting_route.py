from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier

RUN_IN_TRANSACTION = True

# The one posting route (walletql/ledger/posting.py, whose docstring holds the precedence of
# the outcome codes). One function per movement kind finds its wallets, checks ownership and
# the movement's own rules, and ends in walletql_post, which locks, checks status and funds and
# posts. Each answers exactly one row: an outcome code and the figures its error needs. No check
# is made twice: Python validates the input before the call and maps the code to its error.
_OLD = (
    "walletql_transfer(bigint, bigint, bigint, bigint, numeric, varchar[], varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_charge(bigint, varchar, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_post(varchar, varchar, numeric, varchar, bigint, bigint, varchar, bigint, varchar, "
    "varchar, text, numeric)",
)
_NEW = (
    "walletql_outside(varchar, bigint, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_transfer(bigint, bigint, bigint, bigint, numeric, varchar[], varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_charge(bigint, varchar, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
    "walletql_apply_operation(bigint, bigint, varchar, numeric, varchar, varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_post(varchar, varchar, numeric, varchar, varchar[], bigint, bigint, bigint, "
    "varchar, bigint, varchar, varchar, text, numeric)",
    "walletql_replay(bigint, varchar, varchar)",
    "walletql_owned(bigint, bigint)",
    "walletql_first_active(bigint, varchar)",
)

# Every function answers one row of this shape: the outcome code; the transaction (POSTED,
# REPLAYED, INSUFFICIENT_FUNDS); the wallet acted on as the posting left it (POSTED), or the
# wallet a refusal is about (WALLET_INACTIVE); the currencies an error names.
_RESULT = """outcome text, tx transactions, wallet wallets, currency varchar,
    other_currency varchar"""

# The parameters every movement ends with.
_TAIL = """p_description varchar, p_key varchar, p_fingerprint varchar, p_channel text,
    p_max_balance numeric"""
_PASS_TAIL = "p_description, p_initiator, p_key, p_fingerprint, p_channel, p_max_balance"

_FUNCTIONS = f"""
-- 8, 9: a key the caller used before answers what it did then, whatever the ledger is now.
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
    END IF;
    RETURN NEXT;
END
$$;

-- A wallet of p_owner's, by id; NULL (every column null) for anyone else's or none.
CREATE FUNCTION walletql_owned(p_owner bigint, p_wallet bigint) RETURNS wallets
LANGUAGE sql STABLE AS $$
    SELECT * FROM wallets WHERE id = p_wallet AND owner_id = p_owner
$$;

-- Where money for a user goes when no wallet is named: the user's oldest ACTIVE wallet in the
-- currency (a transfer's recipient by user, a merchant's receiving wallet).
CREATE FUNCTION walletql_first_active(p_owner bigint, p_currency varchar) RETURNS wallets
LANGUAGE sql STABLE AS $$
    SELECT * FROM wallets WHERE owner_id = p_owner AND currency = p_currency AND status = 'ACTIVE'
    ORDER BY id LIMIT 1
$$;

-- 14-19: the amount's precision, then under the locks currency, status and funds; then post
-- or store the declined debit. p_accepting: the currencies that take the amount as given
-- (decimal places are configuration, which the database does not hold); NULL for an amount
-- from configuration.
CREATE FUNCTION walletql_post(
    p_kind varchar, p_operation varchar, p_amount numeric, p_currency varchar,
    p_accepting varchar[], p_source bigint, p_destination bigint, p_acting bigint,
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
    delta numeric;
BEGIN
    IF NOT p_currency = ANY(coalesce(p_accepting, ARRAY[p_currency])) THEN
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
        IF w.status <> 'ACTIVE' AND inactive.id IS NULL THEN
            inactive := w;
        END IF;
        IF w.id = p_source THEN
            source_available := w.balance - w.minimum_balance;
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

    -- A declined debit is a fact too: store it, move nothing.
    IF p_source IS NOT NULL AND p_amount > source_available THEN
        INSERT INTO transactions AS t (kind, status, operation, amount, currency,
            source_wallet_id, destination_wallet_id, description, initiator_id,
            idempotency_key, fingerprint, failure_reason, available)
        VALUES (p_kind, 'REJECTED', p_operation, p_amount, p_currency, p_source, p_destination,
            p_description, p_initiator, p_key, p_fingerprint, 'INSUFFICIENT_FUNDS',
            source_available)
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
    IF p_destination IS NOT NULL AND destination_before + p_amount >= p_max_balance THEN
        outcome := 'BALANCE_TOO_LARGE';
        RETURN NEXT;
        RETURN;
    END IF;

    INSERT INTO transactions AS t (kind, status, operation, amount, currency, source_wallet_id,
        destination_wallet_id, description, initiator_id, idempotency_key, fingerprint)
    VALUES (p_kind, 'POSTED', p_operation, p_amount, p_currency, p_source, p_destination,
        p_description, p_initiator, p_key, p_fingerprint)
    ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
    RETURNING * INTO stored;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
        RETURN;
    END IF;

    FOR moved IN
        UPDATE wallets AS u
        SET balance = u.balance + CASE WHEN u.id = p_source THEN -p_amount ELSE p_amount END,
            version = u.version + 1
        WHERE u.id IN (p_source, p_destination)
        RETURNING u.*
    LOOP
        delta := CASE WHEN moved.id = p_source THEN -p_amount ELSE p_amount END;
        INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version, created_at)
        VALUES (stored.id, moved.id, delta, moved.balance, moved.version, stored.created_at);
        -- Sent exactly when, and only if, this transaction commits.
        PERFORM pg_notify(p_channel, json_build_object(
            'wallet_id', moved.id, 'owner_id', moved.owner_id, 'balance', moved.balance::text,
            'version', moved.version, 'transaction_id', stored.id)::text);
        IF moved.id = p_acting THEN
            wallet := moved;
        END IF;
    END LOOP;
    outcome := 'POSTED';
    tx := stored;
    RETURN NEXT;
END
$$;

-- A deposit (money in from outside) or a withdrawal (money out), on the caller's wallet.
CREATE FUNCTION walletql_outside(
    p_kind varchar, p_initiator bigint, p_wallet bigint, p_amount numeric,
    p_accepting varchar[], {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    w wallets;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    w := walletql_owned(p_initiator, p_wallet);
    IF w.id IS NULL THEN
        outcome := 'WALLET_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM walletql_post(p_kind, NULL, p_amount, w.currency, p_accepting,
        CASE WHEN p_kind = 'WITHDRAWAL' THEN w.id END,
        CASE WHEN p_kind = 'DEPOSIT' THEN w.id END, w.id, {_PASS_TAIL});
END
$$;

-- From the caller's wallet to a wallet by id, or to a user's oldest ACTIVE wallet in the
-- source's currency.
CREATE FUNCTION walletql_transfer(
    p_initiator bigint, p_source bigint, p_to_wallet bigint, p_to_user bigint,
    p_amount numeric, p_accepting varchar[], {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    s wallets := walletql_owned(p_initiator, p_source);
    r wallets;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    IF s.id IS NULL THEN
        outcome := 'WALLET_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_to_user IS NULL THEN
        SELECT * INTO r FROM wallets AS f WHERE f.id = p_to_wallet;
    ELSE
        r := walletql_first_active(p_to_user, s.currency);
    END IF;
    IF r.id IS NULL THEN
        outcome := 'RECIPIENT_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    IF r.id = s.id THEN
        outcome := 'SELF_TRANSFER';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM walletql_post('TRANSFER', NULL, p_amount, s.currency, p_accepting,
        s.id, r.id, s.id, {_PASS_TAIL});
END
$$;

-- A merchant pulls money from the wallet whose payment token it holds into its own wallet:
-- the one p_to_wallet names, or its oldest ACTIVE wallet in the customer's currency.
CREATE FUNCTION walletql_charge(
    p_initiator bigint, p_token varchar, p_to_wallet bigint, p_amount numeric,
    p_accepting varchar[], {_TAIL}
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    c wallets;
    m wallets;
BEGIN
    RETURN QUERY SELECT * FROM walletql_replay(p_initiator, p_key, p_fingerprint);
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO c FROM wallets AS f WHERE f.payment_token = p_token;
    IF NOT FOUND THEN
        outcome := 'TOKEN_NOT_FOUND';
        RETURN NEXT;
        RETURN;
    END IF;
    IF c.owner_id = p_initiator THEN
        outcome := 'SELF_CHARGE';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_to_wallet IS NULL THEN
        m := walletql_first_active(p_initiator, c.currency);
        IF m.id IS NULL THEN
            outcome := 'NO_RECEIVING_WALLET';
            currency := c.currency;
            RETURN NEXT;
            RETURN;
        END IF;
    ELSE
        m := walletql_owned(p_initiator, p_to_wallet);
        IF m.id IS NULL THEN
            outcome := 'WALLET_NOT_FOUND';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT * FROM walletql_post('CHARGE', NULL, p_amount, c.currency, p_accepting,
        c.id, m.id, m.id, {_PASS_TAIL});
END
$$;

-- An operator applies a configured operation (signed amount, fixed currency) to any wallet.
CREATE FUNCTION walletql_apply_operation(
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
    RETURN QUERY SELECT * FROM walletql_post('OPERATION', p_operation, abs(p_amount), p_currency,
        NULL, CASE WHEN p_amount < 0 THEN p_wallet END, CASE WHEN p_amount >= 0 THEN p_wallet END,
        p_wallet, {_PASS_TAIL});
END
$$;
"""


def _drop(signatures: tuple[str, ...]) -> str:
    return "".join(f"DROP FUNCTION {signature};\n" for signature in signatures)


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _drop(_OLD) + _FUNCTIONS


async def downgrade(db: BaseDBAsyncClient) -> str:
    post = await earlier("4_*_posting_returns_state.py").upgrade(db)
    # Migration 4's upgrade first drops migration 2's function: there is none to drop now.
    post = post.split(";\n", 1)[1]
    payments = await earlier("5_*_payments_in_one_statement.py").upgrade(db)
    return _drop(_NEW) + post + payments


# No model changes: the state is migration 6's.
MODELS_STATE = earlier("6_*_id_keys.py").MODELS_STATE
