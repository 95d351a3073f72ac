-- Users, tokens, inventory, reservations, audit. Times are Unix milliseconds (UTC).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    parent_id  TEXT REFERENCES nodes(id),
    name       TEXT NOT NULL,
    path       TEXT NOT NULL UNIQUE,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX nodes_parent ON nodes(parent_id);

CREATE TABLE node_properties (
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    secret  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node_id, key)
);

CREATE TABLE reservations (
    id          TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL UNIQUE,
    node_id     TEXT NOT NULL,
    path        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    username    TEXT NOT NULL,
    state       TEXT NOT NULL,
    priority    BIGINT NOT NULL DEFAULT 0,
    duration_ms BIGINT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    locked_by   TEXT,
    created_at  BIGINT NOT NULL,
    granted_at  BIGINT,
    expires_at  BIGINT,
    ended_at    BIGINT,
    end_reason  TEXT,
    ended_by    TEXT
);
CREATE INDEX reservations_state ON reservations(state);
CREATE INDEX reservations_node ON reservations(node_id);
CREATE INDEX reservations_user ON reservations(username);

CREATE TABLE audit (
    id     BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after  TEXT
);
CREATE INDEX audit_target ON audit(target);
CREATE INDEX audit_at ON audit(at);
