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
    "eJztXFtzmzgU/isMT9mZbCfBcZL1G3VI6zaxOw5td1p3GBkrNhMQLogmnm7++0rcL8IBFx"
    "JMeInJkY6QviMdzg1+84a5gLr9RnTwSjbvIOIH3G8eAQOSi2zjIceD9TpqogQM5rrbG5Bu"
    "Cqb9XDqY29gCKiZNt0C3ISEtoK1a2hprJr0PcnSdEk2VdNTQMiI5SPvpQDLWEuIVtEjD9x"
    "+ErKEFfIB28O/6TrnVoL5ITFlb0Hu7dAVv1i7trbYcIXzp9qU3nCuqqTsGivqvN3hlopBB"
    "Q5hSlxBBC2BI74Ath66ATtBfb7Aob7JRF2+WMZ4FvAWOjmMrnisRjVeU8URWbiRZUfgSGK"
    "kmoviSqdouAEs6hb//EYRe70w46p2e90/OzvrnR+ekrzvfbNPZozeZCC1vKBez0bvRWKYT"
    "MokQPQFTwqPLAzDwuFxhROi70ldWwF5lpTBcAYstgyRXShZkkWlZBMg3VxgGeFB0iJZ4Rf"
    "49PdmC8xdxOnwvTg9OT/5Kgj32WwS3icIewaxakEKhAJyF+YK0YM2AbKiTnCmoFz7rm+Bi"
    "F+ADQoR8dPqfA3qywMUE6Rtf5Fugl0fX0o0sXn+itzNs+6fu4ifKEm0RXOomRT04TYkpHI"
    "T7OpLfc/Rf7ttkLLnwmjZeWu4do37yN57OiShLU0HmvQIWsd0ZUAPUElKHD2uNjLaD1JOc"
    "LZT6nkg5wGSrmC34i+jDXQ53krMCMfu7spNy9VJ2bGgpZY2VGNPTFsseHNvnM1qovXh7x7"
    "RZKKhZMVyaFtSW6CPcuKIYkXkDpEIG9L6R/NkfZs9E8BjssYAaHXsL3IcGdnzrkbWTFUPs"
    "WXXizVC8kHgX4TlQ7+6BtVASUNMWUzBTlLBvtskQjDQFILB0waGroHP2UZcQtjY8w2fxGg"
    "63+SuQdNFgDb7Kd/4e6AQgH69f0LLpKD86H6Yp6uBwiw8DDNNBrGcvVDUD6GwRREzpx67H"
    "9cbn3l8NwQL4QhqOrsWrg9754fG5+zAlj1jNUwyBY3NylPZe5kCnqlQBt5ilebfinOHt4H"
    "4K7kD9lFIpMabO0iipWjo//XX76WSVyCbGBEGktIWf5e2O387HL2GFFZdBgq2Dvyo/K7a1"
    "K3C3ruBiCS05OeaeiaWo75VVCgkXbEoU1nQ0lHnG5q8A6a/hQC2FN3Hec5B9Ge82u8kZni"
    "7zJOR7vbHNVIvrqyENawCbQbRAW0BjbWKI1I1yBzedF9wcZX24xQu+I4tn5/Ak5BgZ1ZGQ"
    "RMBbTSavHi1CnKlPk5uRPOD8ixmihuHFVPwqXg246HqG5Kk4vrmUpgMuuJoh6mu9kwac9z"
    "tDk0/SVJRHk/GACy/5YuJO5AqPTwvkCo/Txm2UK6RNSSOIyAg79q6ijLgbLUwiQVm6GHDe"
    "7wxNpQ/S0KUEV80QhrmmaDEtoPz0eIJpJzE0LI+TRLknFEC5J+SiTJuSKHcRvJpDSqpjWf"
    "SBXmYXx3marEsas4vj0yqBc4qtffqif3RUAGrSKxdrty0JdtpKLQE4g7WF+1sohLqwBXUh"
    "i/otuT+01pbG0tb5iKfYWoh29SVjt0DTHQsqFgR2OYWS5WyfTulK9LrQfxWhf4II1pBrrC"
    "s7Rp9zh9gpEt20U/cieYB0SKpETCnF2WUDdhaCbTqWCnc9FSzu7kBUlJlJgPucGYOGCaNo"
    "woC1GQtkZLKavcP6SaxzH4cFAA+1dwU4t7y8M/2gK50Gi72mEJVVpvS7z3j5cQr1vIBmun"
    "yzJXg/1pkmdPcmIzMY7Nn8ZCCt6u1e1nulKT5oEM++TCQgZGjdK3pCv0gAgPTKj271MyGA"
    "NbDte5Mc7rLvQ2YYWxjhEvr9Qoj3tyDeTyPu/pYAOujfRnzriNeuCUqlAA4ZKgkZNkhhVJ"
    "8atkw9B9qns/QBb5P3MT/8fCNPrmkZRXA1Q+QPwWMsD7jgKiilmEyDSorJtBm5e9U01gBt"
    "lLJKJs3Xvuh5LbomgM2xStkoKbb2gV1L+rPLVuSj365sRSYMWMSljz7qsrtHn/iIzJ7tgV"
    "yvnhFtgiyftgRObS5sZxSo/+Gual1xeq2BIh8tRqgowjE/WBQTWK3hou+8eY/Ct83DurEf"
    "XRipkWGkrhjwGYoBybphKTs4ZGifBXxcyAI+3mIBHzNCG2BjQIS979eVC9alGFsXHK2+OM"
    "p/i5/haxR495/lZzxPifZRvbZAdfXZBrFFDcdQdsOZwd3hvRXv/fnEQl2QvlBN0d6928SL"
    "Q3n0ReLLicHnGnDe7wxdTiffpPGA834bEh/tYkivJIaUeKMt5qoV131xrq6msqo6PhfVrC"
    "C6WqdkrVN883V1TjVG+IheX2h/GuHbJR7aMPe1EFgLOO+weqG4qAgtTV3xrE/fey2HW797"
    "H/VpTBXda4l9CscnZyfnvdOT8DkbUrY9Xp+Oaua6dPmRoHyHrg0xzVoKtuihKoGw372F6N"
    "YS0yR3xJD1au2Hm8k4r3wiZEn7YZqKuf84XbP30T7fAi4FI+FsBZgeXIv/puEeXk3epr0o"
    "OsBblmX+nB+NevwffvGLHA=="
)
