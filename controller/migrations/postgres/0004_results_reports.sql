-- Saved test results (one row per test instance of a run; set-up and tear-down tests are not saved) and the
-- configurable reporting document (the original db.xml). Times are Unix milliseconds (UTC).
CREATE TABLE results (
    id          BIGSERIAL PRIMARY KEY,
    run_id      TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    project     TEXT NOT NULL,
    suite       TEXT NOT NULL,
    test        TEXT NOT NULL,
    file        TEXT NOT NULL,
    ep          TEXT NOT NULL,
    station     TEXT NOT NULL DEFAULT '',
    username    TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT,
    started_at  BIGINT,
    ended_at    BIGINT,
    duration_ms BIGINT,
    iteration   BIGINT NOT NULL,
    release     TEXT NOT NULL DEFAULT '',
    build       TEXT NOT NULL DEFAULT '',
    fields      TEXT NOT NULL DEFAULT '{}',
    log_url     TEXT NOT NULL,
    packets_url TEXT,
    saved_at    BIGINT NOT NULL,
    UNIQUE (run_id, item_id)
);
CREATE INDEX results_test ON results(test, started_at);
CREATE INDEX results_build ON results(build, test, status);
CREATE INDEX results_project ON results(project, build);
CREATE INDEX results_duration ON results(duration_ms);

CREATE TABLE report_config (
    id         TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
