-- IntroEval initial schema: people, sign-ins, courses, rubrics, and the
-- submission pipeline (submissions -> transcripts -> evaluations).

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL CHECK (email <> ''),
    name          text NOT NULL CHECK (name <> ''),
    role          text NOT NULL CHECK (role IN ('student', 'teacher', 'admin')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- The cookie holds a random token; only its hash is stored.
CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE courses (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    title       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE course_members (
    course_id   bigint NOT NULL REFERENCES courses ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('student', 'teacher')),
    section     text NOT NULL DEFAULT '',
    PRIMARY KEY (course_id, user_id)
);

CREATE TABLE rubrics (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    version     integer NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

-- One row per uploaded video and its place in the pipeline.
--   phase:  stt -> llm -> completed | failed
--   status: pending | processing | retry (waiting for next_attempt_at)
--           | completed | failed
CREATE TABLE submissions (
    id               bigserial PRIMARY KEY,
    student_id       bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    course_id        bigint REFERENCES courses ON DELETE SET NULL,
    rubric_id        bigint REFERENCES rubrics,
    stored_name      text NOT NULL UNIQUE,
    original_name    text NOT NULL DEFAULT '',
    content_type     text NOT NULL DEFAULT '',
    size_bytes       bigint NOT NULL,
    duration_s       double precision,
    phase            text NOT NULL DEFAULT 'stt'
                     CHECK (phase IN ('stt', 'llm', 'completed', 'failed')),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'completed',
                                       'failed', 'retry')),
    priority         integer NOT NULL DEFAULT 0,
    retry_count      integer NOT NULL DEFAULT 0,
    error_message    text,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    worker_id        text,
    lease_expires_at timestamptz,
    stt_started_at   timestamptz,
    stt_finished_at  timestamptz,
    llm_started_at   timestamptz,
    llm_finished_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
CREATE INDEX submissions_waiting ON submissions (phase, priority DESC, created_at)
    WHERE status IN ('pending', 'retry');
CREATE INDEX submissions_student ON submissions (student_id, created_at DESC);

CREATE TABLE transcripts (
    submission_id bigint PRIMARY KEY REFERENCES submissions ON DELETE CASCADE,
    engine        text NOT NULL,
    text          text NOT NULL,
    words         jsonb NOT NULL,   -- [{"w":word,"s":start,"e":end,"c":conf}]
    metrics       jsonb,            -- speech metrics (wpm, pauses, fillers)
    audio_s       double precision NOT NULL,
    decode_s      double precision NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE evaluations (
    id             bigserial PRIMARY KEY,
    submission_id  bigint NOT NULL REFERENCES submissions ON DELETE CASCADE,
    rubric_id      bigint REFERENCES rubrics,
    backend        text NOT NULL,
    model          text NOT NULL,
    scores         jsonb NOT NULL,  -- {"criterion": integer, ...}
    overall        double precision NOT NULL,
    feedback       text NOT NULL,
    strengths      jsonb NOT NULL DEFAULT '[]',
    improvements   jsonb NOT NULL DEFAULT '[]',
    prompt_tokens  bigint,
    eval_tokens    bigint,
    llm_s          double precision NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evaluations_submission ON evaluations (submission_id, created_at DESC);
