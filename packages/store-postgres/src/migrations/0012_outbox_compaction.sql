-- Outbox compaction, the way Kafka compacts a log (outbox-compaction.ts). A published row is
-- deleted once a later row of the same entity exists at or below the account's horizon, and a
-- published tombstone once no earlier row of its entity is left. The horizon is the newest
-- revision committed more than the configured retention ago; it only grows, and exports at a
-- revision below it are refused (the rows that rebuilt it may be gone). compacted_through is the
-- cleaner's checkpoint: every row superseded at or below it is gone and none at or below it is
-- unpublished, so a pass only reads the rows after it.
CREATE TABLE outbox_horizons (
  account_id         text PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
  horizon            bigint NOT NULL CHECK (horizon >= 0),
  compacted_through  bigint NOT NULL CHECK (compacted_through >= 0 AND compacted_through <= horizon),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- An entity's earlier rows (compaction) and its newest row at a revision (exports at a revision).
CREATE INDEX outbox_entity ON outbox (account_id, entity_kind, entity_id, id);
