-- Every committed change to endpoints is announced on channel inferhouse_endpoints, so
-- a server sharing the database can reload what it keeps of it (storage/postgres_changes.py).
CREATE OR REPLACE FUNCTION inferhouse_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('inferhouse_' || TG_TABLE_NAME, '');
    RETURN NULL;
END
$$;
CREATE TRIGGER endpoints_changed AFTER INSERT OR UPDATE OR DELETE ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION inferhouse_notify();
