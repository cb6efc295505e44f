-- Endpoints: one row per endpoint, its config and state as the JSON of StoredEndpoint.to_json.
CREATE TABLE endpoints (
    name TEXT PRIMARY KEY,
    config BYTEA NOT NULL
);
