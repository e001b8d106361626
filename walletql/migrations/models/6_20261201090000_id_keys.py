from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # The key of the public ids (walletql/ids.py): 32 random bytes, made here once per database
    # so every process of a deployment shows the same ids and they survive restarts. The bytes
    # come from PostgreSQL's strong random source: three random UUIDs (122 random bits each)
    # hashed to 256 bits, with no extension needed. Like transactions and entries, the row is
    # never changed: a new key would change every id clients hold.
    return """
CREATE TABLE IF NOT EXISTS "walletql_keys" (
    "name" VARCHAR(64) NOT NULL PRIMARY KEY,
    "secret" BYTEA NOT NULL CHECK (octet_length("secret") >= 16),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE "walletql_keys" IS 'Secrets made once per database; ids: the key of the public ids';
INSERT INTO "walletql_keys" ("name", "secret")
VALUES ('ids', sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
                      || uuid_send(gen_random_uuid())))
ON CONFLICT ("name") DO NOTHING;
CREATE TRIGGER "walletql_keys_append_only" BEFORE UPDATE OR DELETE ON "walletql_keys"
    FOR EACH ROW EXECUTE FUNCTION walletql_append_only();
CREATE TRIGGER "walletql_keys_no_truncate" BEFORE TRUNCATE ON "walletql_keys"
    FOR EACH STATEMENT EXECUTE FUNCTION walletql_append_only();
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "walletql_keys";
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
