-- Global parameters (per-user defaults, and values tests set during a run) and panic-detect patterns.
CREATE TABLE globals (
    username   TEXT NOT NULL,
    path       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (username, path)
);

CREATE TABLE run_globals (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, path)
);

CREATE TABLE panic_patterns (
    id         BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    enabled    BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX panic_patterns_user ON panic_patterns(username);

-- Test tokens are revoked by name when their test ends.
CREATE INDEX tokens_kind_name ON tokens(kind, name);
