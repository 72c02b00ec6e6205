-- Change stream safety (issue 10, item 2): an event that cannot be published never blocks the
-- other accounts.

-- An account whose oldest unpublished event could not be published (too large for the topic, or
-- any other error Kafka says will not go away on a retry). The relay skips every unpublished row
-- of a parked account, so the account's later events wait behind the parked one (its order is
-- kept) while every other account keeps flowing. An operator releases it with
-- gh_outbox_release() (services/control-plane/README.md, "Parked events").
CREATE TABLE outbox_parked (
  account_id  text PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
  outbox_id   bigint NOT NULL,
  event_id    uuid NOT NULL,
  revision    bigint NOT NULL,
  entity_kind text NOT NULL,
  entity_id   text NOT NULL,
  reason      text NOT NULL,
  parked_at   timestamptz NOT NULL DEFAULT now()
);

-- The relay's read (migration 0017), now passing over parked accounts. Parking is rare and loud:
-- the few parked accounts are looked up by primary key for each candidate row.
CREATE OR REPLACE FUNCTION gh_outbox_unpublished(p_limit int)
RETURNS TABLE (id bigint, event_id uuid, account_id text, revision bigint, entity_kind text, entity_id text,
               payload jsonb, committed_at timestamptz)
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
BEGIN
  RETURN QUERY SELECT o.id, o.event_id, o.account_id, o.revision, o.entity_kind, o.entity_id, o.payload, o.committed_at
    FROM outbox o
    WHERE o.published_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox_parked p WHERE p.account_id = o.account_id)
    ORDER BY o.id LIMIT p_limit;
END $$;

-- Releases a parked account. With p_skip false the relay sends the parked event again (after the
-- cause was fixed, e.g. the topic's max.message.bytes raised); with p_skip true the parked event
-- is marked published without being sent, and the account's later events follow: the regions
-- then miss that one state (resynchronize the account from an export). Returns the parked row's
-- outbox id, or NULL when the account was not parked.
CREATE FUNCTION gh_outbox_release(p_account text, p_skip boolean DEFAULT false) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
BEGIN
  DELETE FROM outbox_parked WHERE account_id = p_account RETURNING outbox_id INTO v_id;
  IF v_id IS NOT NULL AND p_skip THEN
    UPDATE outbox SET published_at = now() WHERE id = v_id AND published_at IS NULL;
  END IF;
  RETURN v_id;
END $$;
