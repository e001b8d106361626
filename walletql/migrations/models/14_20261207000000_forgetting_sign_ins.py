from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier, replaced

RUN_IN_TRANSACTION = True

# The sign-in throttle's records are forgotten once nothing needs them (walletql.ledger.throttle
# .forget, run by every server process): before, a row stayed for every email and client
# address ever tried. An email's record goes once its last attempt and the end of its lockout
# are FORGET seconds old (its count then starts again from nothing), an address's once its last
# attempt is older than the window it is counted over.
#
# So that a row can be deleted while sign-ins run, walletql_signin_begin now takes its rows'
# locks with an upsert: an insert that found the row, then a separate SELECT ... FOR UPDATE,
# would find nothing to lock had the row been deleted in between, and go on unlocked. An upsert
# waits for the row's lock and, if that transaction deleted it, inserts it again. It also sets
# the row's last attempt, which is what forgetting goes by.


_LAST = earlier("12_*_sign_ins_under_way.py")


# Migration 12's walletql_signin_begin, walletql_signin_failed and walletql_signin_succeeded.
_FUNCTIONS_BEFORE = _LAST._UP[_LAST._UP.index("-- Begins a sign-in attempt") :]

_BEGIN = replaced(
    replaced(
        _FUNCTIONS_BEFORE[: _FUNCTIONS_BEFORE.index("-- A begun attempt failed")],
        """
        INSERT INTO signin_addresses AS a (address) VALUES (p_address) ON CONFLICT DO NOTHING;
        PERFORM FROM signin_addresses AS a WHERE a.address = p_address FOR UPDATE;
""",
        """
        INSERT INTO signin_addresses AS a (address) VALUES (p_address)
        ON CONFLICT (address) DO UPDATE SET last_attempt_at = now();
""",
    ),
    """
    INSERT INTO signin_emails AS s (email_hash) VALUES (p_email) ON CONFLICT DO NOTHING;
    PERFORM FROM signin_emails AS s WHERE s.email_hash = p_email FOR UPDATE;
""",
    """
    INSERT INTO signin_emails AS s (email_hash) VALUES (p_email)
    ON CONFLICT (email_hash) DO UPDATE SET last_attempt_at = now();
""",
).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")

_UP = (
    """
ALTER TABLE "signin_emails" ADD COLUMN "last_attempt_at" TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX "signin_emails_forgotten" ON "signin_emails"
    (greatest("last_attempt_at", "locked_until"));
ALTER TABLE "signin_addresses" ADD COLUMN "last_attempt_at" TIMESTAMPTZ NOT NULL DEFAULT now();
-- An address's failures in the window are what it is refused by: the last one is its last attempt.
UPDATE "signin_addresses" AS a SET "last_attempt_at" = f.last
FROM (SELECT address, max(failed_at) AS last FROM signin_address_failures GROUP BY address) AS f
WHERE f.address = a.address;
CREATE INDEX "signin_addresses_forgotten" ON "signin_addresses" ("last_attempt_at");

-- Forgets up to p_limit emails' records and up to p_limit addresses' that nothing needs any
-- more, and answers how many of each. An email's: its last attempt and the end of its lockout
-- at least p_forget seconds ago (and p_stale, so an attempt under way is never forgotten: every
-- attempt is begun with its email's last attempt set); its abandoned attempts go with it. An
-- address's: its last attempt older than the window p_window, so none of its failures counts
-- any more; they go with it. Rows a sign-in holds are skipped (SKIP LOCKED), and a row is
-- deleted only as it was when it was locked: a sign-in that began since has moved its last
-- attempt, and one that begins now waits for this transaction and inserts the row again.
CREATE FUNCTION walletql_signin_forget(p_forget int, p_window int, p_stale int, p_limit int)
RETURNS TABLE (emails int, addresses int)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM signin_emails AS s WHERE s.email_hash = ANY (ARRAY(
        SELECT o.email_hash FROM signin_emails AS o
        WHERE greatest(o.last_attempt_at, o.locked_until)
            <= now() - make_interval(secs => greatest(p_forget, p_stale))
        ORDER BY greatest(o.last_attempt_at, o.locked_until)
        LIMIT p_limit FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS emails = ROW_COUNT;
    DELETE FROM signin_addresses AS a WHERE a.address = ANY (ARRAY(
        SELECT o.address FROM signin_addresses AS o
        WHERE o.last_attempt_at <= now() - make_interval(secs => p_window)
        ORDER BY o.last_attempt_at
        LIMIT p_limit FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS addresses = ROW_COUNT;
    RETURN NEXT;
END
$$;
"""
    + _BEGIN
)

_DOWN = (
    """
DROP FUNCTION walletql_signin_forget(int, int, int, int);
DROP FUNCTION walletql_signin_succeeded(bigint, char, bigint);
DROP FUNCTION walletql_signin_failed(bigint, char, varchar, varchar, int, int, int, int, int, int);
DROP FUNCTION walletql_signin_begin(char, varchar, varchar, int, int, int, int, int, int);
ALTER TABLE "signin_emails" DROP COLUMN "last_attempt_at";
ALTER TABLE "signin_addresses" DROP COLUMN "last_attempt_at";
"""
    + _FUNCTIONS_BEFORE
)


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _DOWN


# No model changes.
MODELS_STATE = _LAST.MODELS_STATE
