-- Sign-in throttling (issue 15): failed sign-ins counted per account
-- (the email as typed, lower-cased, known or not, so the answer tells
-- nothing about which accounts exist) and per client address. After
-- signin_account_failures (or signin_address_failures) failures in a
-- row, each further attempt waits signin_delay_s, doubled per failure up
-- to signin_max_delay_s, after the last one (server/web/signin.c).
CREATE TABLE signin_failures (
    kind text NOT NULL CHECK (kind IN ('account', 'address')),
    key text NOT NULL,
    failures integer NOT NULL,
    last_failure timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);
CREATE INDEX signin_failures_last ON signin_failures (last_failure);
