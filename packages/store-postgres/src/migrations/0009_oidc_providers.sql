-- OpenID Connect identity providers for web-identity federation. The ARN (oidc-provider/ + the
-- issuer URL without its scheme) is the key, so an issuer is registered once per account. The
-- optional JWKS document (as sent) lets regions verify tokens without fetching the issuer's keys.
CREATE TABLE oidc_providers (
  arn          text PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  url          text NOT NULL CHECK (length(url) BETWEEN 1 AND 255 AND url !~ '[?#[:space:]]'),
  client_ids   text[] NOT NULL DEFAULT '{}' CHECK (cardinality(client_ids) <= 100),
  thumbprints  text[] NOT NULL DEFAULT '{}' CHECK (cardinality(thumbprints) <= 5),
  jwks         text,
  tags         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_providers_account ON oidc_providers (account_id);
