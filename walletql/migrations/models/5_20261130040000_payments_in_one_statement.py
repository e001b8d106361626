from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SIGNATURES = (
    "walletql_transfer(bigint, bigint, bigint, bigint, numeric, varchar[], varchar, varchar, "
    "varchar, text, numeric)",
    "walletql_charge(bigint, varchar, bigint, numeric, varchar[], varchar, varchar, varchar, "
    "text, numeric)",
)

# What both functions answer: walletql_post's row, the wallets it moved and the caller's side
# of it (the source of a transfer, the merchant's wallet of a charge) as it was read.
_RESULT = """outcome text, transaction_id bigint, detail text, available numeric,
    decided_at timestamptz, source_balance numeric, source_version bigint,
    destination_balance numeric, destination_version bigint,
    source_id bigint, destination_id bigint, acting_wallet wallets"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    # A transfer or a charge in one round trip: find its two wallets, then post through
    # walletql_post, the one write path. Only a request that resolves cleanly is posted here;
    # anything else answers UNRESOLVED and writes nothing, and the API then runs its checks
    # one by one to say why (their order and messages live in Python, not here).
    # p_accepting lists the currencies that accept the amount as given: decimal places come
    # from configuration, which the database does not hold.
    return f"""
CREATE FUNCTION walletql_transfer(
    p_initiator bigint, p_source bigint, p_to_wallet bigint, p_to_user bigint,
    p_amount numeric, p_accepting varchar[], p_description varchar,
    p_key varchar, p_fingerprint varchar, p_channel text, p_max_balance numeric
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    s wallets;
    target bigint;
    target_currency varchar;
BEGIN
    SELECT * INTO s FROM wallets AS w WHERE w.id = p_source AND w.owner_id = p_initiator;
    IF NOT FOUND OR NOT s.currency = ANY(p_accepting) THEN
        outcome := 'UNRESOLVED';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_to_user IS NULL THEN
        SELECT w.id, w.currency INTO target, target_currency FROM wallets AS w
        WHERE w.id = p_to_wallet;
    ELSE
        SELECT w.id, w.currency INTO target, target_currency FROM wallets AS w
        WHERE w.owner_id = p_to_user AND w.currency = s.currency AND w.status = 'ACTIVE'
        ORDER BY w.id LIMIT 1;
    END IF;
    IF target IS NULL OR target = s.id OR target_currency <> s.currency THEN
        outcome := 'UNRESOLVED';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT p.*, s.id, target, s FROM walletql_post('TRANSFER', NULL, p_amount,
        s.currency, s.id, target, p_description, p_initiator, p_key, p_fingerprint,
        p_channel, p_max_balance) AS p;
END
$$;

CREATE FUNCTION walletql_charge(
    p_initiator bigint, p_token varchar, p_to_wallet bigint,
    p_amount numeric, p_accepting varchar[], p_description varchar,
    p_key varchar, p_fingerprint varchar, p_channel text, p_max_balance numeric
) RETURNS TABLE ({_RESULT})
LANGUAGE plpgsql AS $$
DECLARE
    c wallets;
    m wallets;
BEGIN
    SELECT * INTO c FROM wallets AS w WHERE w.payment_token = p_token;
    IF NOT FOUND OR c.owner_id = p_initiator OR NOT c.currency = ANY(p_accepting) THEN
        outcome := 'UNRESOLVED';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_to_wallet IS NULL THEN
        SELECT * INTO m FROM wallets AS w
        WHERE w.owner_id = p_initiator AND w.currency = c.currency AND w.status = 'ACTIVE'
        ORDER BY w.id LIMIT 1;
    ELSE
        SELECT * INTO m FROM wallets AS w WHERE w.id = p_to_wallet AND w.owner_id = p_initiator;
    END IF;
    IF NOT FOUND OR m.currency <> c.currency THEN
        outcome := 'UNRESOLVED';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT p.*, c.id, m.id, m FROM walletql_post('CHARGE', NULL, p_amount,
        c.currency, c.id, m.id, p_description, p_initiator, p_key, p_fingerprint,
        p_channel, p_max_balance) AS p;
END
$$;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return "".join(f"DROP FUNCTION {signature};\n" for signature in _SIGNATURES)


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
