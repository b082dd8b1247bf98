-- Accounts from sign-up to deletion: join codes and archiving for
-- courses, student numbers on memberships, one-time codes that set a
-- password (a staff reset, or a roster import's welcome), and a
-- notification that makes the live hub re-check its sockets at once.

-- A join code is 8 characters from an alphabet without look-alikes
-- (no 0/O, 1/I/L), read from gen_random_uuid()'s strong random bytes.
CREATE FUNCTION new_join_code() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
    raw bytea := uuid_send(gen_random_uuid());
    code text := '';
BEGIN
    FOR i IN 0..7 LOOP
        code := code || substr(alphabet, get_byte(raw, i) % 31 + 1, 1);
    END LOOP;
    RETURN code;
END $$;

ALTER TABLE courses
    ADD COLUMN join_code text NOT NULL DEFAULT new_join_code(),
    ADD COLUMN archived  boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX courses_join_code_key ON courses (join_code);

ALTER TABLE course_members
    ADD COLUMN student_number text NOT NULL DEFAULT '';

-- Only the SHA-256 of a code is kept; the code itself is shown once.
CREATE TABLE account_codes (
    code_hash   text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('reset', 'welcome')),
    created_by  bigint REFERENCES users ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX account_codes_user ON account_codes (user_id);

-- Ended sessions and disabled accounts wake the WebSocket hub, which
-- then looks its sockets' sessions up again (ws_check_sessions). A
-- DELETE that removed nothing (the sweep at each sign-in, mostly) stays
-- quiet; notifications within one transaction are sent once.
CREATE FUNCTION notify_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sessions', '');
    RETURN NULL;
END $$;

CREATE FUNCTION notify_sessions_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM gone) THEN
        PERFORM pg_notify('sessions', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION notify_sessions_ended();
CREATE TRIGGER users_disabled AFTER UPDATE OF disabled ON users
    FOR EACH ROW WHEN (NEW.disabled AND NOT OLD.disabled)
    EXECUTE FUNCTION notify_sessions();
