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
