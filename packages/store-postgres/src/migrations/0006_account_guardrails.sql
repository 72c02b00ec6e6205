-- Account guardrails (SCP-like), attached by the operator. The document is copied from the managed
-- policy's default version when attached, so the account cannot loosen its own guardrail by
-- editing or deleting that policy; re-attach to pick up a new version.
CREATE TABLE account_guardrails (
  account_id   text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  policy_arn   text NOT NULL,
  document     text NOT NULL,
  attached_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, policy_arn)
);
