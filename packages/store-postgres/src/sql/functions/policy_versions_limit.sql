-- policy_versions_limit: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0035_aws_managed_policy_catalogue). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION policy_versions_limit()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM managed_policies WHERE policy_id = NEW.policy_id AND account_id = 'aws')
     AND (SELECT count(*) FROM policy_versions WHERE policy_id = NEW.policy_id) > 5 THEN
    RAISE EXCEPTION 'policy % has more than 5 versions', NEW.policy_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'policy_versions_limit';
  END IF;
  RETURN NEW;
END $function$;
