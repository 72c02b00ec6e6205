-- gh_principal_state: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0013_single_call_writes). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_principal_state(p_kind text, p_id text, p_partition text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
  RETURN (SELECT CASE p_kind WHEN 'user' THEN gh_user_state(p_id, p_partition)
                       WHEN 'group' THEN gh_group_state(p_id, p_partition)
                       ELSE gh_role_state(p_id, p_partition) END
  );
END $function$;
