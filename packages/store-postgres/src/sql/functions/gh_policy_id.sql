-- gh_policy_id: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0013_single_call_writes). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_policy_id(p_account text, p_path text, p_name text, p_arn text, p_field text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
  v_id text;
BEGIN
  SELECT policy_id INTO v_id FROM managed_policies
    WHERE account_id = p_account AND lower(policy_name) = lower(p_name) AND path = p_path;
  IF v_id IS NULL THEN
    PERFORM gh_fail('NoSuchEntity', format('policy %s does not exist', to_json(p_arn)), p_field);
  END IF;
  RETURN v_id;
END $function$;
