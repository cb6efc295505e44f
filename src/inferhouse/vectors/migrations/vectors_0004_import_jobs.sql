-- Bulk imports (vectors/sql_import_jobs.py): one row per import, numbered; its id is the number.
CREATE TABLE import_jobs (
    number BIGINT PRIMARY KEY,
    index_name TEXT NOT NULL,
    uri TEXT NOT NULL,
    error_mode TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    total_records BIGINT NOT NULL,
    records_read BIGINT NOT NULL,
    records_imported BIGINT NOT NULL,
    records_skipped BIGINT NOT NULL,
    finished_at DOUBLE PRECISION,
    error TEXT,
    heartbeat DOUBLE PRECISION NOT NULL
);
CREATE INDEX import_jobs_by_index ON import_jobs (index_name, number);
