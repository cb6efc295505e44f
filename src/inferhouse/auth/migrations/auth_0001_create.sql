-- Tokens by the SHA-256 hash of the token (never the token), with the endpoints each may call
-- (token_grants) and manage (token_management).
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE token_grants (
    token_hash TEXT NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    PRIMARY KEY (token_hash, endpoint)
);
CREATE TABLE token_management (
    token_hash TEXT NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    PRIMARY KEY (token_hash, endpoint)
);
