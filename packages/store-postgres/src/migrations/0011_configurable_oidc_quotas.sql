-- Client ids and thumbprints per OpenID Connect provider are configurable quotas now
-- (GATEHOUSE_QUOTA_CLIENT_IDS_PER_OIDC_PROVIDER, AWS's 100 by default, and
-- GATEHOUSE_QUOTA_THUMBPRINTS_PER_OIDC_PROVIDER, AWS's 5), enforced by the store under the account
-- lock; the fixed caps go.
ALTER TABLE oidc_providers DROP CONSTRAINT oidc_providers_client_ids_check;
ALTER TABLE oidc_providers DROP CONSTRAINT oidc_providers_thumbprints_check;
