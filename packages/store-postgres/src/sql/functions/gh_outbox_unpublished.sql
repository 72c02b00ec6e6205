-- gh_outbox_unpublished: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0022_outbox_parked_accounts). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_outbox_unpublished(p_limit integer)
 RETURNS TABLE(id bigint, event_id uuid, account_id text, revision bigint, entity_kind text, entity_id text, payload jsonb, committed_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
AS $function$
BEGIN
  RETURN QUERY SELECT o.id, o.event_id, o.account_id, o.revision, o.entity_kind, o.entity_id, o.payload, o.committed_at
    FROM outbox o
    WHERE o.published_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox_parked p WHERE p.account_id = o.account_id)
    ORDER BY o.id LIMIT p_limit;
END $function$;
