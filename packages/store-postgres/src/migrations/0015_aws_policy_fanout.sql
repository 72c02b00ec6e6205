-- When an upgrade of Gatehouse changes an AWS managed policy (a new version, hence a new default,
-- or a new description), every account that references it must get the policy's new state on its
-- stream (seed-builtin-policies.ts). Seeding writes the change and one row here per such account
-- and policy in one transaction; each account's write then carries the policy and deletes its
-- rows in its own transaction. A crash in between leaves the rows, and the next start-up writes
-- the accounts still listed: none is lost, none is written twice.
CREATE TABLE aws_policy_fanout (
  account_id  text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  policy_id   text NOT NULL REFERENCES managed_policies ON DELETE CASCADE,
  queued_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, policy_id)
);
