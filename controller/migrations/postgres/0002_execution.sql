-- Stations and their link state, projects, runs with their items and logs. Times are Unix milliseconds (UTC).
CREATE TABLE stations (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    token_id          TEXT,
    version           TEXT NOT NULL DEFAULT '',
    facts             TEXT NOT NULL DEFAULT '{}',
    eps               TEXT NOT NULL DEFAULT '[]',
    last_seen_at      BIGINT,
    connected         BIGINT NOT NULL DEFAULT 0,
    last_event_seq    BIGINT NOT NULL DEFAULT 0,
    next_command_seq  BIGINT NOT NULL DEFAULT 1,
    acked_command_seq BIGINT NOT NULL DEFAULT 0
);

-- Commands not yet acknowledged by their station (deleted when acknowledged).
CREATE TABLE station_commands (
    station_id TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (station_id, seq)
);

CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    owner      TEXT NOT NULL,
    doc        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE runs (
    id         TEXT PRIMARY KEY,
    project    TEXT NOT NULL,
    username   TEXT NOT NULL,
    state      TEXT NOT NULL,
    status     TEXT NOT NULL,
    plan       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at   BIGINT,
    reason     TEXT
);
CREATE INDEX runs_state ON runs(state);
CREATE INDEX runs_user ON runs(username, created_at);

-- One row per suite instance and per test instance of a run.
CREATE TABLE run_items (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    parent     TEXT,
    kind       TEXT NOT NULL,
    ord        BIGINT NOT NULL,
    name       TEXT NOT NULL,
    ep         TEXT NOT NULL DEFAULT '',
    file       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    reason     TEXT,
    exit_code  BIGINT,
    started_at BIGINT,
    ended_at   BIGINT,
    PRIMARY KEY (run_id, id)
);

CREATE TABLE run_logs (
    id      BIGSERIAL PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL DEFAULT '',
    ep      TEXT NOT NULL DEFAULT '',
    stream  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    line    TEXT NOT NULL
);
CREATE INDEX run_logs_run ON run_logs(run_id, id);
