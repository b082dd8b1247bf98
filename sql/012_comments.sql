-- Time-coded comments on a recording (issue 12): a teacher or admin
-- comments at a moment of the recording (at_s, seconds from its start),
-- and the submission's student may answer each comment once.
--
-- Who may write what (staff comment, only the submission's own student
-- replies) is decided by server/pipeline/comments.c, the only module that
-- writes these tables; the constraints below hold what the data itself
-- must satisfy. Each write also bumps submissions.review_seq in the same
-- transaction, so open result pages learn of it (010).

CREATE TABLE comments (
    id             bigserial PRIMARY KEY,
    submission_id  bigint NOT NULL REFERENCES submissions ON DELETE CASCADE,
    author_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    -- NaN sorts above every number in PostgreSQL, so ">= 0" alone
    -- would let it in.
    at_s           double precision NOT NULL
                   CHECK (at_s >= 0 AND at_s < 'Infinity'
                          AND at_s <> 'NaN'),
    body           text NOT NULL
                   CHECK (char_length(body) BETWEEN 1 AND 2000
                          AND btrim(body, E' \t\r\n') <> ''),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_submission ON comments (submission_id, at_s);

-- One reply per comment: the UNIQUE key is what makes a second reply
-- fail, even when two arrive at once.
CREATE TABLE comment_replies (
    id             bigserial PRIMARY KEY,
    comment_id     bigint NOT NULL UNIQUE
                   REFERENCES comments ON DELETE CASCADE,
    author_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    body           text NOT NULL
                   CHECK (char_length(body) BETWEEN 1 AND 2000
                          AND btrim(body, E' \t\r\n') <> ''),
    created_at     timestamptz NOT NULL DEFAULT now()
);
