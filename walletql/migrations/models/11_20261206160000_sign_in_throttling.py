from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier

RUN_IN_TRANSACTION = True

# Sign-in throttling (walletql.ledger.throttle), kept here so that it holds across processes and
# restarts. An attempt is reserved (counted as a failure) before its password is checked, under
# the row lock of its email (and of its client address), so parallel attempts on any number of
# processes are admitted exactly up to the threshold; a success then takes the reservation back.


_KEYS = earlier("10_*_keys_back_office.py")

_TABLES = """
-- One row per email tried (its sha256: no address book of typos and guesses is kept).
CREATE TABLE "signin_emails" (
    "email_hash" CHAR(64) NOT NULL PRIMARY KEY,
    -- consecutive failed sign-ins since the last success, counting those under way
    "failures" INT NOT NULL DEFAULT 0,
    -- lockouts since the last success: each one doubles the next
    "lockouts" INT NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ,
    -- successes so far: an attempt that began before the last one locks nothing
    "resets" BIGINT NOT NULL DEFAULT 0
);
-- One row per client address: what concurrent sign-ins from one address queue on.
CREATE TABLE "signin_addresses" (
    "address" VARCHAR(64) NOT NULL PRIMARY KEY
);
-- Failed sign-ins per client address (and those under way); older than the window, deleted.
CREATE TABLE "signin_address_failures" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "address" VARCHAR(64) NOT NULL REFERENCES "signin_addresses" ("address") ON DELETE CASCADE,
    "failed_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "signin_address_failures_recent" ON "signin_address_failures" ("address", "failed_at");
"""

_FUNCTIONS = """
-- How long the lockout after `lockouts` earlier ones lasts: the base, doubled each time, capped.
CREATE FUNCTION walletql_lockout_seconds(p_lockouts int, p_base int, p_cap int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT least(p_base::numeric * power(2::numeric, least(p_lockouts, 40)), p_cap)::int
$$;

-- Reserves one sign-in attempt, or refuses it. Refused (retry_after set, nothing reserved): the
-- address has more than p_max_address failures in the window, or the email is locked, or the
-- attempts that will lock it are already under way. Admitted: the email's failure count (the
-- attempt's number, `attempt`) and, with an address, a failure row (`address_failure`, and its
-- rank in the window, `address_attempt`) are written as if it failed; walletql_signin_succeeded
-- takes them back. Locks: the address's row, then the email's, always in that order.
CREATE FUNCTION walletql_signin_begin(
    p_email char(64), p_address varchar, p_max_failures int, p_max_address int,
    p_base int, p_cap int, p_window int
) RETURNS TABLE (
    attempt int, resets bigint, address_attempt int, address_failure bigint, retry_after int
)
LANGUAGE plpgsql AS $$
DECLARE
    e signin_emails;
    recent int := 0;
    window_start timestamptz := now() - make_interval(secs => p_window);
    leaving timestamptz;
BEGIN
    IF p_address IS NOT NULL THEN
        INSERT INTO signin_addresses AS a (address) VALUES (p_address) ON CONFLICT DO NOTHING;
        PERFORM FROM signin_addresses AS a WHERE a.address = p_address FOR UPDATE;
        DELETE FROM signin_address_failures AS f
        WHERE f.address = p_address AND f.failed_at <= window_start;
        SELECT count(*) INTO recent FROM signin_address_failures AS f WHERE f.address = p_address;
        IF recent > p_max_address THEN
            -- Refused until enough failures have left the window to leave p_max_address.
            SELECT f.failed_at INTO leaving FROM signin_address_failures AS f
            WHERE f.address = p_address ORDER BY f.failed_at, f.id
            OFFSET recent - p_max_address - 1 LIMIT 1;
            retry_after := greatest(1, ceil(extract(epoch FROM
                leaving + make_interval(secs => p_window) - now())))::int;
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    INSERT INTO signin_emails AS s (email_hash) VALUES (p_email) ON CONFLICT DO NOTHING;
    SELECT * INTO e FROM signin_emails AS s WHERE s.email_hash = p_email FOR UPDATE;
    IF e.locked_until > now() THEN
        retry_after := greatest(1, ceil(extract(epoch FROM e.locked_until - now())))::int;
        RETURN NEXT;
        RETURN;
    END IF;
    IF e.failures >= p_max_failures + e.lockouts THEN
        -- The attempt that will lock it is under way: refused for the lockout it will start.
        retry_after := walletql_lockout_seconds(e.lockouts, p_base, p_cap);
        RETURN NEXT;
        RETURN;
    END IF;
    UPDATE signin_emails AS s SET failures = s.failures + 1 WHERE s.email_hash = p_email
    RETURNING s.failures, s.resets INTO attempt, resets;
    IF p_address IS NOT NULL THEN
        INSERT INTO signin_address_failures AS f (address) VALUES (p_address)
        RETURNING f.id INTO address_failure;
        address_attempt := recent + 1;
    END IF;
    RETURN NEXT;
END
$$;

-- An admitted attempt failed: its reservation stays a failure. The attempt that reached the
-- email's threshold locks it (unless a success came since it began), and the attempt that took
-- the address past its limit marks that; each lockout is an audit row, in this transaction.
CREATE FUNCTION walletql_signin_failed(
    p_email char(64), p_attempt int, p_resets bigint, p_subject varchar, p_address varchar,
    p_address_attempt int, p_max_failures int, p_max_address int, p_base int, p_cap int,
    p_window int
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    seconds int;
BEGIN
    UPDATE signin_emails AS s
    SET locked_until = now() + make_interval(secs =>
            walletql_lockout_seconds(s.lockouts, p_base, p_cap)),
        lockouts = s.lockouts + 1
    WHERE s.email_hash = p_email AND s.resets = p_resets
        AND p_attempt = p_max_failures + s.lockouts
    RETURNING walletql_lockout_seconds(s.lockouts - 1, p_base, p_cap) INTO seconds;
    IF FOUND THEN
        INSERT INTO audit_events (action, actor_id, subject, reason)
        VALUES ('SIGN_IN_LOCKED', NULL, p_subject,
                format('%s consecutive failed sign-ins: refused for %s s', p_attempt, seconds));
    END IF;
    IF p_address IS NOT NULL AND p_address_attempt = p_max_address + 1 THEN
        INSERT INTO audit_events (action, actor_id, subject, reason)
        VALUES ('SIGN_IN_LOCKED', NULL, 'Address:' || p_address,
                format('more than %s failed sign-ins in %s s', p_max_address, p_window));
    END IF;
END
$$;

-- An admitted attempt succeeded: the email starts again from nothing, and the address's
-- reservation is taken back.
CREATE FUNCTION walletql_signin_succeeded(p_email char(64), p_address_failure bigint)
RETURNS void
LANGUAGE sql AS $$
    UPDATE signin_emails AS s
    SET failures = 0, lockouts = 0, locked_until = NULL, resets = s.resets + 1
    WHERE s.email_hash = p_email;
    DELETE FROM signin_address_failures AS f WHERE f.id = p_address_failure;
$$;
"""

_DOWN = """
DROP FUNCTION walletql_signin_succeeded(char, bigint);
DROP FUNCTION walletql_signin_failed(char, int, bigint, varchar, varchar, int, int, int, int, int,
    int);
DROP FUNCTION walletql_signin_begin(char, varchar, int, int, int, int, int);
DROP FUNCTION walletql_lockout_seconds(int, int, int);
DROP TABLE "signin_address_failures";
DROP TABLE "signin_addresses";
DROP TABLE "signin_emails";
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _TABLES + _FUNCTIONS


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _DOWN


# No model changes: the throttle is read and written in SQL (walletql.ledger.throttle).
MODELS_STATE = _KEYS.MODELS_STATE
