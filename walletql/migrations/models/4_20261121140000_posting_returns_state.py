import importlib.util
from pathlib import Path

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SIGNATURE = """walletql_post(varchar, varchar, numeric, varchar, bigint, bigint,
    varchar, bigint, varchar, varchar, text, numeric)"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    # The posting function also returns what the answer needs (when it was decided, the moved
    # wallets' balance and version), so the API builds its payload without reading them back.
    # A new result type cannot be given by CREATE OR REPLACE.
    return f"""
DROP FUNCTION {_SIGNATURE};
CREATE FUNCTION walletql_post(
    p_kind varchar, p_operation varchar, p_amount numeric, p_currency varchar,
    p_source bigint, p_destination bigint, p_description varchar, p_initiator bigint,
    p_key varchar, p_fingerprint varchar, p_channel text, p_max_balance numeric
) RETURNS TABLE (outcome text, transaction_id bigint, detail text, available numeric,
    decided_at timestamptz, source_balance numeric, source_version bigint,
    destination_balance numeric, destination_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint[] := array_remove(ARRAY[p_source, p_destination], NULL);
    w record;
    locked int := 0;
    source_available numeric;
    destination_before numeric;
    tx_id bigint;
    tx_at timestamptz;
    moved record;
BEGIN
    -- Lock every wallet that moves, in ascending id order: opposite transfers cannot deadlock.
    FOR w IN SELECT id, currency, balance, minimum_balance, status FROM wallets
             WHERE id = ANY(wanted) ORDER BY id FOR NO KEY UPDATE LOOP
        locked := locked + 1;
        IF w.status <> 'ACTIVE' THEN
            outcome := 'WALLET_INACTIVE';
            detail := format('Wallet %s is %s', w.id, lower(w.status));
            RETURN NEXT;
            RETURN;
        END IF;
        IF w.currency <> p_currency THEN
            outcome := 'CURRENCY_MISMATCH';
            detail := format('Wallet %s holds %s, not %s', w.id, w.currency, p_currency);
            RETURN NEXT;
            RETURN;
        END IF;
        IF w.id = p_source THEN
            source_available := w.balance - w.minimum_balance;
        END IF;
        IF w.id = p_destination THEN
            destination_before := w.balance;
        END IF;
    END LOOP;
    IF locked <> cardinality(wanted) THEN
        outcome := 'NOT_FOUND';
        detail := 'Wallet not found';
        RETURN NEXT;
        RETURN;
    END IF;

    -- A declined debit is a fact too: store it, move nothing.
    IF p_source IS NOT NULL AND p_amount > source_available THEN
        INSERT INTO transactions (kind, status, operation, amount, currency, source_wallet_id,
            destination_wallet_id, description, initiator_id, idempotency_key, fingerprint,
            failure_reason, available)
        VALUES (p_kind, 'REJECTED', p_operation, p_amount, p_currency, p_source, p_destination,
            p_description, p_initiator, p_key, p_fingerprint, 'INSUFFICIENT_FUNDS',
            source_available)
        ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
        RETURNING id, created_at INTO tx_id, tx_at;
        outcome := CASE WHEN tx_id IS NULL THEN 'DUPLICATE' ELSE 'REJECTED' END;
        transaction_id := tx_id;
        available := source_available;
        decided_at := tx_at;
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_destination IS NOT NULL AND destination_before + p_amount >= p_max_balance THEN
        outcome := 'TOO_LARGE';
        detail := 'The balance would exceed the largest amount held';
        RETURN NEXT;
        RETURN;
    END IF;

    INSERT INTO transactions (kind, status, operation, amount, currency, source_wallet_id,
        destination_wallet_id, description, initiator_id, idempotency_key, fingerprint)
    VALUES (p_kind, 'POSTED', p_operation, p_amount, p_currency, p_source, p_destination,
        p_description, p_initiator, p_key, p_fingerprint)
    ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
    RETURNING id, created_at INTO tx_id, tx_at;
    IF tx_id IS NULL THEN
        -- The same key committed first (we waited for it on the unique index).
        outcome := 'DUPLICATE';
        RETURN NEXT;
        RETURN;
    END IF;

    FOR moved IN
        UPDATE wallets AS u SET balance = u.balance + d.delta, version = u.version + 1
        FROM (VALUES (p_source, -p_amount), (p_destination, p_amount)) AS d(wallet_id, delta)
        WHERE u.id = d.wallet_id
        RETURNING u.id, u.owner_id, u.balance, u.version, d.delta
    LOOP
        INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version, created_at)
        VALUES (tx_id, moved.id, moved.delta, moved.balance, moved.version, tx_at);
        -- Sent exactly when, and only if, this transaction commits.
        PERFORM pg_notify(p_channel, json_build_object(
            'wallet_id', moved.id, 'owner_id', moved.owner_id, 'balance', moved.balance::text,
            'version', moved.version, 'transaction_id', tx_id)::text);
        IF moved.id = p_source THEN
            source_balance := moved.balance;
            source_version := moved.version;
        ELSE
            destination_balance := moved.balance;
            destination_version := moved.version;
        END IF;
    END LOOP;
    outcome := 'POSTED';
    transaction_id := tx_id;
    decided_at := tx_at;
    RETURN NEXT;
END
$$;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    (previous,) = Path(__file__).parent.glob("2_*_posting_function.py")
    spec = importlib.util.spec_from_file_location("posting_function", previous)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return f"DROP FUNCTION {_SIGNATURE};\n" + await module.upgrade(db)


MODELS_STATE = (
    "eJztXVtzmzgU/isMT9mZbCcmcZL1G3VI6zaxOzZtd9p0GBkrNhMQLoiknm7++0rcL8IBFx"
    "JMeAlY0hHSd6TDuYn85g1zAXX7jejglWzeQcQPuN88AgYkN9nKQ44H63VURQswmOtua0Ca"
    "KZi2c8vB3MYWUDGpugW6DUnRAtqqpa2xZtLnIEfXaaGpkoYaWkZFDtJ+OpD0tYR4BS1S8f"
    "0HKdbQAv6CdvBzfafcalBfJIasLeiz3XIFb9Zu2VttOUL40m1LHzhXVFN3DBS1X2/wykQh"
    "gYYwLV1CBC2AIX0Cthw6AzpAf77BpLzBRk28UcZoFvAWODqOzXiuRGW8oownsjKTZEXhS2"
    "CkmojiS4ZquwAs6RD+/kcQjo/PhKPj0/P+ydlZ//zonLR1x5utOnv0BhOh5XXlYjZ6NxrL"
    "dEAmYaLHYFrw6NIADDwqlxkR+i73lRWwV1kuDFfAYvMgSZXiBZlkmhcB8s1lhgF+KTpES7"
    "wiP09PtuD8RZwO34vTg9OTv5Jgj/0awa2isEcwqxakUCgAZ2G+IDVYMyAb6iRlCuqFT/om"
    "uNkF+KAgQj7a/c8BPZngYoL0jc/yLdDLo2tpJovXn+jjDNv+qbv4ibJEawS3dJMqPThNsS"
    "nshPs6kt9z9Cf3bTKWXHhNGy8t94lRO/kbT8dEhKWpIPNBAYvY6gxKA9QSXIe/1hrpbQeu"
    "JylbyPU94XKAyVY2W/CeyMNdNneSsgI2+6uy43L1XHZsaClllZUY0dMayx5s2+dTWqi+eH"
    "vH1FkoqFk2XJoW1JboI9y4rBiRcQOkQgb0vpL82e9mz1jwGKyxoDTa9hZ4CBXs+NIjcycz"
    "htjT6sTZULyQeBfhOVDvHoC1UBJQ0xpTMFMlYdtslSEY6RKAwNIFh86CjtlHXULY2vAMm8"
    "WrONxmr0DSRIM12Crf+QegE4B8vO6hZdNefnQ2TFPEweEWGwYYpoNY716oagbQ2SyIiNKv"
    "XY/qjU+9vxKCBfCFNBxdi1cHx+eHvXP3ZUpesZonGALD5uQobb3MgU5FqQJuMUvybsU5Q9"
    "vB/RTcgfgpJVJiRJ2mUVK0dHb667bTySyRTZQJgkhpDT9L222/nbdfQgsrzoMEWQd/VXZW"
    "bGlXYG5dwcUSWnKyzz1jS1HbKysUEibYlAis6Wgo84zFXwHSX8OOWgpvYr/nIPsy1m12kT"
    "MsXeZOyLd6Y4upFtNXQxrWADYDb4G2gMbaxBCpG+UObjoruDnC+nCLFXxHJs+O4UnIMTKi"
    "I8GJgLaaSF49UoQYU58ms5E84PybG0QVw4up+FW8GnDR/Q2Sp+J4dilNB1xwd4OorfVOGn"
    "De9QZNPklTUR5NxgMuvOWLsTsRK+ydFogV9tLKbRQrpFVJJYjwCDv2rqyMqBvNTMJBWboY"
    "cN71Bk2lD9LQLQnumsEMc03RYmpA+eHxBNFObGhYHCeJ8rFQAOVjIRdlWpVEufPg1exSUh"
    "3Loi/0Mqs4TtNkWdKYVRwfVgmcU2Ttkxf9o6MCUJNWuVi7dUmw01pqCcAZpC1c30Ih1IUt"
    "qAtZ1G/J86G1tjSWtM5HPEXWQrSrTxm7BZruWFCxILDLCZQsZftkSvV4g3sCmzv1kmpInO"
    "6PNZGGgV69ItIFWF5hgIUggjXkmkTKjj7+3C528vc3bJu9TLQl7fgr4blLUXYxl52ZYJuO"
    "pcJddwWLutsQFcW/EuA+Z1ymYcwoGpZhLcYCca+sZO+wfhLr3NdhAcBD6V0Bzi1Pok2/6E"
    "oHG2OHQaLk1ZR89wkvP06hnuc2TifJtgTvxzqDse7aZMRfgzWbH3KludPdkchXGkiFBjHo"
    "y/hbQoLWHYQU+kXcLKRVvg+xn3G0rIFtP5hkc5c9dZohbKEfUej3CyHe34J4P424ey0BdN"
    "C+jfjW4RVfE5RKARwSVOKYbZDAqD4Ab5ksj2yxXIiAtsnrmB9+nsmTa5qsEtzdIPKH4DGW"
    "B1xwFySsTKZBvspkyjeCQapprAHaKGWFTJqufTGKWmRNAJtjldJRUmTtA7uWIHMXrchHv1"
    "3RiowbsIhJH306Z3eLPvGpnj1bA7lWPcPbBFk2bQmc2nx8gHEM4A9XVeuOANTqKPLRYriK"
    "IhzznUUxhtXqLvrOmw8oPNMfZuf96NxIjXQjdSmXz5BySeYNS+nBIUH7NOBeIQ24t0UD7j"
    "FcG2BjQIS9rwSWc9alCFvnHK0+Bc3/VgLD1ijwhQWWnfE8ifBH9eoC1SWfGUQXNRxD2Q1n"
    "BnWH91a89+dDFnVB+kI5RXt3gowXh/Loi8SXY4NPNeC86w26nE6+SeMB510b4h/tfEivxI"
    "eUODcYM9WKy744VZdTWVUen4tqlhFdrlMy1ym++Lo8pxo9fESuL7Q/9fDt4g9tmPlaCKwF"
    "nHdYvZBfVISWpq541j8Y8GoOt/53gahNY7LoXovvU+idnJ2cH5+ehO/ZsGTb6/Vpr2auSZ"
    "fvCco36Nrg06wlYYtuqhII+81biG4tPk3yRAxZB5g/zCbjvPSJkCRth2kq5v7jdM3eR/18"
    "C7gUjISxFWB6cC3+m4Z7eDV5m7aiaAdvWZr5c36a6/F/4NT9lA=="
)
