-- Operations: controller-wide settings (the mail server), each run's mail outcome, supervised services,
-- schedules with their history, and outgoing webhooks with their delivery log. Times are Unix milliseconds.
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE run_mail (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    state  TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at     BIGINT NOT NULL
);

CREATE TABLE services (
    name       TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE schedules (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    cron       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    project    TEXT NOT NULL,
    username   TEXT NOT NULL,
    enabled    BIGINT NOT NULL DEFAULT 1,
    missed     TEXT NOT NULL,
    last_slot  BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE schedule_history (
    id          BIGSERIAL PRIMARY KEY,
    schedule_id TEXT NOT NULL,
    slot        BIGINT NOT NULL,
    fired_at    BIGINT NOT NULL,
    run_id      TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX schedule_history_schedule ON schedule_history(schedule_id, id);

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    events     TEXT NOT NULL,
    enabled    BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    webhook_id  TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    event       TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    status      BIGINT,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
