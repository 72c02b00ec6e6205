-- policy_versions_default: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0001_initial). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION policy_versions_default()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE pid text := COALESCE(NEW.policy_id, OLD.policy_id);
BEGIN
  IF EXISTS (SELECT 1 FROM managed_policies WHERE policy_id = pid)
     AND NOT EXISTS (SELECT 1 FROM policy_versions WHERE policy_id = pid AND is_default) THEN
    RAISE EXCEPTION 'policy % has no default version', pid
      USING ERRCODE = 'check_violation', CONSTRAINT = 'policy_versions_default';
  END IF;
  RETURN NULL;
END $function$;
