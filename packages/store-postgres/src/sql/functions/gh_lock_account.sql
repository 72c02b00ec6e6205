-- gh_lock_account: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0013_single_call_writes). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_lock_account(p_account text)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_revision bigint;
BEGIN
  SELECT revision INTO v_revision FROM accounts WHERE account_id = p_account FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    PERFORM gh_fail('NoSuchEntity', format('account %s does not exist', to_json(p_account)), 'accountId');
  END IF;
  RETURN v_revision;
END $function$;
