-- The relay reads the oldest unpublished rows in id order (outbox.ts, fetchUnpublished). The only
-- partial index on unpublished rows (0001) leads with the account, so that read sorted every
-- unpublished row it found, and where statistics are missing (a new schema, or a server whose
-- autovacuum is off) the planner could walk the primary key from the first row ever written.
CREATE INDEX outbox_unpublished_order ON outbox (id) WHERE published_at IS NULL;

-- The read itself, as a plain index scan of that index in id order that stops after p_limit rows.
-- Marking a row published leaves its old version's entry in the partial index until a vacuum. A
-- plain index scan flags the entries it finds dead so that later scans skip them; a bitmap scan
-- (which the planner may prefer) never does, and would visit every row published since the last
-- vacuum on every read: a cost that grows without bound where autovacuum is off.
CREATE FUNCTION gh_outbox_unpublished(p_limit int)
RETURNS TABLE (id bigint, event_id uuid, account_id text, revision bigint, entity_kind text, entity_id text,
               payload jsonb, committed_at timestamptz)
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
BEGIN
  RETURN QUERY SELECT o.id, o.event_id, o.account_id, o.revision, o.entity_kind, o.entity_id, o.payload, o.committed_at
    FROM outbox o WHERE o.published_at IS NULL ORDER BY o.id LIMIT p_limit;
END $$;
