-- gh_outbox_release: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0022_outbox_parked_accounts). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_outbox_release(p_account text, p_skip boolean DEFAULT false)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_id bigint;
BEGIN
  DELETE FROM outbox_parked WHERE account_id = p_account RETURNING outbox_id INTO v_id;
  IF v_id IS NOT NULL AND p_skip THEN
    UPDATE outbox SET published_at = now() WHERE id = v_id AND published_at IS NULL;
  END IF;
  RETURN v_id;
END $function$;
