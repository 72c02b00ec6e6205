-- The regions' STS key set (issue 14). A global record: it travels on the change topic under the
-- reserved system account 000000000000, which no CreateAccount can draw (ids start at
-- 100000000000), so its revisions, outbox rows and relay ordering are those of any account.
-- Keys are sealed by the store's secret box (AAD `sts-key:<key_id>`), never stored in clear.
INSERT INTO accounts (account_id, revision) VALUES ('000000000000', 0) ON CONFLICT DO NOTHING;

CREATE TABLE sts_keys (
  key_id        text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  sealed_key    bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- The newest key whose activation has passed seals; a delay lets every region learn a key
  -- before any region seals with it.
  activates_at  timestamptz NOT NULL DEFAULT now(),
  -- Set when a newer key replaced it; it keeps opening tokens until the longest session is over.
  retired_at    timestamptz
);
