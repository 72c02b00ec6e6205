-- gh_token_ttl: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0020_client_request_token_scope). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_token_ttl()
 RETURNS interval
 LANGUAGE sql
 STABLE
AS $function$
  SELECT make_interval(secs => coalesce(nullif(current_setting('gatehouse.client_token_ttl', true), ''), '86400')::double precision)
$function$;
