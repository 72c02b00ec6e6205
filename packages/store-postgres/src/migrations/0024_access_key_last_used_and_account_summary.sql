-- GetAccessKeyLastUsed and GetAccountSummary (issue 12, item 7).

-- GetAccountSummary counts an account's entities with one index scan each. users, groups, roles,
-- managed_policies, instance_profiles and mfa_devices have (account_id, lower(name)) indexes and
-- oidc_providers an account_id index; these two had none by account:
-- the account root's access keys (AccountAccessKeysPresent; ListAccessKeys of the root read the
-- whole table for them too) ...
CREATE INDEX access_keys_account_root ON access_keys (account_id) WHERE user_id IS NULL;
-- ... and the account's managed-policy attachments (PolicyVersionsInUse).
CREATE INDEX policy_attachments_account ON policy_attachments (account_id);
