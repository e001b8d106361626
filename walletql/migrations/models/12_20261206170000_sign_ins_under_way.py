from tortoise import BaseDBAsyncClient

from walletql.migration_history import earlier

RUN_IN_TRANSACTION = True

# Sign-ins under way are no longer failures: migration 11 counted an attempt as a failure from
# the moment it began, so that parallel wrong passwords stopped at exactly the threshold; but
# parallel right ones (a backend's workers signing in at once) were then refused too. Now an
# attempt under way is a row of its own: while the failures plus the attempts under way reach
# the threshold, a new attempt waits for them (walletql.ledger.throttle polls) instead of being
# refused, and is refused only once they have failed and locked the email. Still exact: no
# more attempts are ever checked at once than failures remain before the lockout. An attempt
# still under way after STALE seconds (its process died) counts as a failure.


_THROTTLE = earlier("11_*_sign_in_throttling.py")

_UP = """
DROP FUNCTION walletql_signin_succeeded(char, bigint);
DROP FUNCTION walletql_signin_failed(char, int, bigint, varchar, varchar, int, int, int, int, int,
    int);
DROP FUNCTION walletql_signin_begin(char, varchar, int, int, int, int, int);
ALTER TABLE "signin_emails" DROP COLUMN "resets";

-- Sign-in attempts whose password is being checked, per email.
CREATE TABLE "signin_attempts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "email_hash" CHAR(64) NOT NULL REFERENCES "signin_emails" ("email_hash") ON DELETE CASCADE,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "signin_attempts_email" ON "signin_attempts" ("email_hash", "started_at");

-- Lock the email (its row locked by the caller) when its failures reached the threshold and it
-- is not locked already: for the base lockout doubled by each earlier one, capped; audited.
CREATE FUNCTION walletql_signin_lock(
    p_email char(64), p_subject varchar, p_max_failures int, p_base int, p_cap int
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    seconds int;
    failed int;
BEGIN
    UPDATE signin_emails AS s
    SET locked_until = now() + make_interval(secs =>
            walletql_lockout_seconds(s.lockouts, p_base, p_cap)),
        lockouts = s.lockouts + 1
    WHERE s.email_hash = p_email AND s.failures >= p_max_failures + s.lockouts
        AND (s.locked_until IS NULL OR s.locked_until <= now())
    RETURNING walletql_lockout_seconds(s.lockouts - 1, p_base, p_cap), s.failures
    INTO seconds, failed;
    IF FOUND THEN
        INSERT INTO audit_events (action, actor_id, subject, reason)
        VALUES ('SIGN_IN_LOCKED', NULL, p_subject,
                format('%s consecutive failed sign-ins: refused for %s s', failed, seconds));
    END IF;
END
$$;

-- Begins a sign-in attempt, or says why not. Refused (retry_after set): the address has more
-- than p_max_address failures (and attempts under way) in the window, or the email is locked.
-- Busy (nothing set): the email's failures plus its attempts under way reach the threshold, so
-- this one must wait for them. Begun (attempt set): an attempt under way for the email, and
-- with an address a failure row of it (`address_failure`, its rank in the window
-- `address_attempt`) that a success takes back. Locks: the address's row, then the email's.
CREATE FUNCTION walletql_signin_begin(
    p_email char(64), p_subject varchar, p_address varchar, p_max_failures int,
    p_max_address int, p_base int, p_cap int, p_window int, p_stale int
) RETURNS TABLE (attempt bigint, address_attempt int, address_failure bigint, retry_after int)
LANGUAGE plpgsql AS $$
DECLARE
    e signin_emails;
    recent int := 0;
    abandoned int;
    under_way int;
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
    PERFORM FROM signin_emails AS s WHERE s.email_hash = p_email FOR UPDATE;
    -- An attempt under way for too long: its process died checking it. A failure.
    DELETE FROM signin_attempts AS t
    WHERE t.email_hash = p_email AND t.started_at <= now() - make_interval(secs => p_stale);
    GET DIAGNOSTICS abandoned = ROW_COUNT;
    IF abandoned > 0 THEN
        UPDATE signin_emails AS s SET failures = s.failures + abandoned
        WHERE s.email_hash = p_email;
        PERFORM walletql_signin_lock(p_email, p_subject, p_max_failures, p_base, p_cap);
    END IF;
    SELECT * INTO e FROM signin_emails AS s WHERE s.email_hash = p_email;
    IF e.locked_until > now() THEN
        retry_after := greatest(1, ceil(extract(epoch FROM e.locked_until - now())))::int;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT count(*) INTO under_way FROM signin_attempts AS t WHERE t.email_hash = p_email;
    IF e.failures + under_way >= p_max_failures + e.lockouts THEN
        RETURN NEXT;  -- busy: those under way decide (they cannot all fail without a lockout)
        RETURN;
    END IF;
    INSERT INTO signin_attempts AS t (email_hash) VALUES (p_email) RETURNING t.id INTO attempt;
    IF p_address IS NOT NULL THEN
        INSERT INTO signin_address_failures AS f (address) VALUES (p_address)
        RETURNING f.id INTO address_failure;
        address_attempt := recent + 1;
    END IF;
    RETURN NEXT;
END
$$;

-- A begun attempt failed: one more consecutive failure of the email (unless it was already
-- counted as abandoned), which locks it at the threshold; its address failure stays, and the
-- attempt that took the address past its limit marks that. Each lockout an audit row, here.
CREATE FUNCTION walletql_signin_failed(
    p_attempt bigint, p_email char(64), p_subject varchar, p_address varchar,
    p_address_attempt int, p_max_failures int, p_max_address int, p_base int, p_cap int,
    p_window int
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM FROM signin_emails AS s WHERE s.email_hash = p_email FOR UPDATE;
    DELETE FROM signin_attempts AS t WHERE t.id = p_attempt;
    IF FOUND THEN
        UPDATE signin_emails AS s SET failures = s.failures + 1 WHERE s.email_hash = p_email;
        PERFORM walletql_signin_lock(p_email, p_subject, p_max_failures, p_base, p_cap);
    END IF;
    IF p_address IS NOT NULL AND p_address_attempt = p_max_address + 1 THEN
        INSERT INTO audit_events (action, actor_id, subject, reason)
        VALUES ('SIGN_IN_LOCKED', NULL, 'Address:' || p_address,
                format('more than %s failed sign-ins in %s s', p_max_address, p_window));
    END IF;
END
$$;

-- A begun attempt succeeded: the email starts again from nothing, and the address's failure
-- row is taken back.
CREATE FUNCTION walletql_signin_succeeded(
    p_attempt bigint, p_email char(64), p_address_failure bigint
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM FROM signin_emails AS s WHERE s.email_hash = p_email FOR UPDATE;
    DELETE FROM signin_attempts AS t WHERE t.id = p_attempt;
    UPDATE signin_emails AS s SET failures = 0, lockouts = 0, locked_until = NULL
    WHERE s.email_hash = p_email;
    DELETE FROM signin_address_failures AS f WHERE f.id = p_address_failure;
END
$$;
"""

_DOWN = (
    """
DROP FUNCTION walletql_signin_succeeded(bigint, char, bigint);
DROP FUNCTION walletql_signin_failed(bigint, char, varchar, varchar, int, int, int, int, int, int);
DROP FUNCTION walletql_signin_begin(char, varchar, varchar, int, int, int, int, int, int);
DROP FUNCTION walletql_signin_lock(char, varchar, int, int, int);
DROP TABLE "signin_attempts";
ALTER TABLE "signin_emails" ADD COLUMN "resets" BIGINT NOT NULL DEFAULT 0;
"""
    # Migration 11's functions as it made them, but the lockout's duration (still there).
    + _THROTTLE._FUNCTIONS[_THROTTLE._FUNCTIONS.index("-- Reserves one sign-in attempt") :]
)


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _DOWN


MODELS_STATE = _THROTTLE.MODELS_STATE
