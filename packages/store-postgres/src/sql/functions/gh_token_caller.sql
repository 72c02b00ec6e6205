-- gh_token_caller: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0020_client_request_token_scope). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_token_caller(p_token text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT CASE WHEN position(' ' IN p_token) = 0 THEN '' ELSE split_part(p_token, ' ', 1) END
$function$;
