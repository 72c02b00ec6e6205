-- gh_policy_arn: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0013_single_call_writes). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_policy_arn(p_partition text, p_account text, p_path text, p_name text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT 'arn:' || p_partition || ':iam::' || p_account || ':policy' || p_path || p_name
$function$;
