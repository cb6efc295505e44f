-- Index backups and restore jobs: one row each, the record as JSON (backup data lives in its own table).
CREATE TABLE index_backups (
    backup_id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    document BYTEA NOT NULL
);
CREATE TABLE restore_jobs (
    job_id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    document BYTEA NOT NULL
);
