-- Inference configurations as JSON; the secret sealed by inference/secrets.py, never in plain text.
CREATE TABLE inference_configs (
    inference_id TEXT PRIMARY KEY,
    config BYTEA NOT NULL,
    secret BYTEA
);
