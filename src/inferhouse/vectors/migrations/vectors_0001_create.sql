-- The index catalog: one row per index, its configuration as JSON (vectors stay in their own files).
CREATE TABLE indexes (
    name TEXT PRIMARY KEY,
    config BYTEA NOT NULL
);
