-- Every committed change to inference_configs is announced on channel inferhouse_inference_configs, so
-- each server sharing the database reloads its configurations (storage/postgres_changes.py).
CREATE OR REPLACE FUNCTION inferhouse_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('inferhouse_' || TG_TABLE_NAME, '');
    RETURN NULL;
END
$$;
CREATE TRIGGER inference_configs_changed AFTER INSERT OR UPDATE OR DELETE ON inference_configs
    FOR EACH STATEMENT EXECUTE FUNCTION inferhouse_notify();
