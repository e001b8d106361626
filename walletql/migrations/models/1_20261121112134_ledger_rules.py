from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Ledger rules the database enforces itself, whatever the application does.
    return """
ALTER TABLE "users" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "auth_tokens" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "wallets" ALTER COLUMN "created_at" SET DEFAULT now();
ALTER TABLE "wallets" ALTER COLUMN "balance" SET DEFAULT 0;
ALTER TABLE "wallets" ALTER COLUMN "minimum_balance" SET DEFAULT 0;
ALTER TABLE "wallets" ALTER COLUMN "version" SET DEFAULT 0;
ALTER TABLE "wallets" ALTER COLUMN "status" SET DEFAULT 'ACTIVE';
ALTER TABLE "transactions" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp();
ALTER TABLE "entries" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp();

ALTER TABLE "users" ADD CONSTRAINT "users_email_lowercase" CHECK ("email" = lower("email"));
ALTER TABLE "users" ADD CONSTRAINT "users_role_known"
    CHECK ("role" IN ('CUSTOMER', 'MERCHANT', 'OPERATOR'));
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_status_known" CHECK ("status" IN ('ACTIVE', 'FROZEN'));
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_version_nonnegative" CHECK ("version" >= 0);
-- The floor itself: a balance never sits below min(floor, 0). A wallet created under a positive
-- floor starts at 0 and may be credited up towards it, so the debit rule is the trigger below.
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_balance_floor"
    CHECK ("balance" >= LEAST("minimum_balance", 0));
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_amount_nonnegative" CHECK ("amount" >= 0);
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_status_known"
    CHECK ("status" IN ('POSTED', 'REJECTED'));
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_kind_known"
    CHECK ("kind" IN ('DEPOSIT', 'WITHDRAWAL', 'TRANSFER', 'CHARGE', 'OPERATION'));
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_touches_a_wallet"
    CHECK ("source_wallet_id" IS NOT NULL OR "destination_wallet_id" IS NOT NULL);
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_not_to_self"
    CHECK ("source_wallet_id" IS DISTINCT FROM "destination_wallet_id");
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_rejected_has_reason"
    CHECK (("status" = 'REJECTED') = ("failure_reason" IS NOT NULL));
ALTER TABLE "entries" ADD CONSTRAINT "entries_version_positive" CHECK ("version" >= 1);

-- A debit may never take a balance below the wallet's floor, even if the application forgot.
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

-- Transactions and entries are facts: corrections are new transactions, never edits.
CREATE OR REPLACE FUNCTION walletql_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER "transactions_append_only" BEFORE UPDATE OR DELETE ON "transactions"
    FOR EACH ROW EXECUTE FUNCTION walletql_append_only();
CREATE TRIGGER "transactions_no_truncate" BEFORE TRUNCATE ON "transactions"
    FOR EACH STATEMENT EXECUTE FUNCTION walletql_append_only();
CREATE TRIGGER "entries_append_only" BEFORE UPDATE OR DELETE ON "entries"
    FOR EACH ROW EXECUTE FUNCTION walletql_append_only();
CREATE TRIGGER "entries_no_truncate" BEFORE TRUNCATE ON "entries"
    FOR EACH STATEMENT EXECUTE FUNCTION walletql_append_only();

-- History pages: newest first per wallet, on either side of a transaction.
CREATE INDEX "transactions_source_history" ON "transactions" ("source_wallet_id", "id" DESC)
    WHERE "source_wallet_id" IS NOT NULL;
CREATE INDEX "transactions_destination_history"
    ON "transactions" ("destination_wallet_id", "id" DESC)
    WHERE "destination_wallet_id" IS NOT NULL;
CREATE INDEX "entries_transaction" ON "entries" ("transaction_id");
CREATE INDEX "entries_wallet_time" ON "entries" ("wallet_id", "created_at" DESC);
CREATE INDEX "auth_tokens_user" ON "auth_tokens" ("user_id");
CREATE UNIQUE INDEX "wallets_owner_label" ON "wallets" ("owner_id", lower("label"))
    WHERE "label" IS NOT NULL;
"""


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
