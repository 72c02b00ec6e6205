-- Where an OpenID Connect provider's JWKS document came from: 'inline' (given by the operator with
-- CreateOpenIDConnectProvider or UpdateOpenIDConnectProviderJWKS) or 'fetched' (the control plane
-- read it from the issuer's discovery document and refreshes it). Only fetched documents are
-- refreshed, so a refresh never replaces what an operator set.
ALTER TABLE oidc_providers
  ADD COLUMN jwks_source text NOT NULL DEFAULT 'inline' CHECK (jwks_source IN ('inline', 'fetched'));
CREATE INDEX oidc_providers_fetched ON oidc_providers (arn) WHERE jwks_source = 'fetched';
