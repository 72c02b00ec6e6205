-- Resource policies (bucket, queue, key policies): one document per resource ARN. The ARN is the
-- key across all accounts, so an ARN without an account component (`arn:aws:s3:::bucket`, whose
-- names are global in AWS) belongs to the one account that put its policy first, until that
-- account deletes it. Documents are stored minified (the control plane validates them as resource
-- policies). The per-account quota is checked by the write, under the account's lock.
CREATE TABLE resource_policies (
  resource_arn     text COLLATE "C" PRIMARY KEY CHECK (length(resource_arn) BETWEEN 1 AND 2048),
  account_id       text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  policy_document  text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- ListResourcePolicies pages an account's policies in ARN (byte) order.
CREATE INDEX resource_policies_account ON resource_policies (account_id, resource_arn);
