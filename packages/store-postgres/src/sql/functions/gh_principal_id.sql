-- gh_principal_id: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0013_single_call_writes). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_principal_id(p_account text, p_kind text, p_name text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
  v_id text;
BEGIN
  IF p_kind = 'user' THEN
    SELECT user_id INTO v_id FROM users WHERE account_id = p_account AND lower(user_name) = lower(p_name);
  ELSIF p_kind = 'group' THEN
    SELECT group_id INTO v_id FROM groups WHERE account_id = p_account AND lower(group_name) = lower(p_name);
  ELSE
    SELECT role_id INTO v_id FROM roles WHERE account_id = p_account AND lower(role_name) = lower(p_name);
  END IF;
  IF v_id IS NULL THEN
    PERFORM gh_fail('NoSuchEntity', format('%s %s does not exist', p_kind, to_json(p_name)), p_kind || 'Name');
  END IF;
  RETURN v_id;
END $function$;
