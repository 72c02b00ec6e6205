-- Whether an account still references a managed policy (attached in it, or the permissions
-- boundary of one of its users or roles) is asked whenever a write drops a reference to an AWS
-- managed policy, to tombstone the policy on the account's stream once the last one is gone, and
-- by every export (store.ts, REFERENCED_IN_ACCOUNT).

-- An AWS managed policy is attached in many accounts: find its attachments by policy and account,
-- not by walking every account's. The new index serves lookups by policy alone as well (the
-- foreign key's check, DeletePolicy's conflicts), so it replaces policy_attachments_policy.
CREATE INDEX policy_attachments_policy_account ON policy_attachments (policy_id, account_id);
DROP INDEX policy_attachments_policy;

-- Boundaries were found by scanning the account's users and roles (and, for DeletePolicy's
-- conflicts and the foreign keys' checks, every account's).
CREATE INDEX users_permissions_boundary ON users (permissions_boundary_id, account_id)
  WHERE permissions_boundary_id IS NOT NULL;
CREATE INDEX roles_permissions_boundary ON roles (permissions_boundary_id, account_id)
  WHERE permissions_boundary_id IS NOT NULL;
