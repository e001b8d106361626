from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "users" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "phone" VARCHAR(16) UNIQUE,
    "role" VARCHAR(16) NOT NULL,
    "company_name" VARCHAR(200),
    "company_url" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON COLUMN "users"."role" IS 'CUSTOMER: CUSTOMER\nMERCHANT: MERCHANT\nOPERATOR: OPERATOR';
CREATE TABLE IF NOT EXISTS "auth_tokens" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "user_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "wallets" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "currency" VARCHAR(32) NOT NULL,
    "label" VARCHAR(100),
    "payment_token" VARCHAR(64) NOT NULL UNIQUE,
    "balance" DECIMAL(38,18) NOT NULL,
    "minimum_balance" DECIMAL(38,18) NOT NULL,
    "version" BIGINT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "owner_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_wallets_owner_i_e3af82" ON "wallets" ("owner_id", "currency");
COMMENT ON COLUMN "wallets"."status" IS 'ACTIVE: ACTIVE\nFROZEN: FROZEN';
CREATE TABLE IF NOT EXISTS "transactions" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "operation" VARCHAR(32),
    "amount" DECIMAL(38,18) NOT NULL,
    "currency" VARCHAR(32) NOT NULL,
    "description" VARCHAR(500),
    "idempotency_key" VARCHAR(200) NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "failure_reason" VARCHAR(64),
    "available" DECIMAL(38,18),
    "created_at" TIMESTAMPTZ NOT NULL,
    "destination_wallet_id" BIGINT REFERENCES "wallets" ("id") ON DELETE RESTRICT,
    "initiator_id" BIGINT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
    "source_wallet_id" BIGINT REFERENCES "wallets" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_transaction_initiat_a913f8" UNIQUE ("initiator_id", "idempotency_key")
);
COMMENT ON COLUMN "transactions"."kind" IS 'DEPOSIT: DEPOSIT\nWITHDRAWAL: WITHDRAWAL\nTRANSFER: TRANSFER\nCHARGE: CHARGE\nOPERATION: OPERATION';
COMMENT ON COLUMN "transactions"."status" IS 'POSTED: POSTED\nREJECTED: REJECTED';
CREATE TABLE IF NOT EXISTS "entries" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "amount" DECIMAL(38,18) NOT NULL,
    "balance_after" DECIMAL(38,18) NOT NULL,
    "version" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "transaction_id" BIGINT NOT NULL REFERENCES "transactions" ("id") ON DELETE RESTRICT,
    "wallet_id" BIGINT NOT NULL REFERENCES "wallets" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_entries_wallet__6584be" UNIQUE ("wallet_id", "version")
);
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


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
