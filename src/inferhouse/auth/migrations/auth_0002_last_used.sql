-- When each token was last used (seconds since the epoch); NULL: not used since this column was added.
ALTER TABLE tokens ADD COLUMN last_used DOUBLE PRECISION;
