-- gh_epoch_ms: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0016_write_path_cpu). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_epoch_ms(t timestamp with time zone)
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$
  -- Truncated like a JavaScript Date made from the timestamp.
  SELECT floor(extract(epoch FROM t) * 1000)::bigint
$function$;
