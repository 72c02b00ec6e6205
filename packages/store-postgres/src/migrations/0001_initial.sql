-- Gatehouse IAM state, version 1. Runs inside one transaction with search_path set to the
-- configured schema, so no object here is schema-qualified.

CREATE TABLE accounts (
  account_id  text PRIMARY KEY CHECK (account_id ~ '^[0-9]{12}$'),
  alias       text CHECK (alias IS NULL OR alias ~ '^[a-z0-9](-?[a-z0-9])*$'),
  -- The consistency token: bumped by every write to the account; the row lock it takes is what
  -- serializes writers of one account, so revisions grow in commit order.
  revision    bigint NOT NULL DEFAULT 0 CHECK (revision >= 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_alias_key ON accounts (alias) WHERE alias IS NOT NULL;

CREATE TABLE managed_policies (
  policy_id           text PRIMARY KEY CHECK (policy_id ~ '^ANPA[A-Z2-7]{17}$'),
  account_id          text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  policy_name         text NOT NULL CHECK (length(policy_name) BETWEEN 1 AND 128),
  path                text NOT NULL DEFAULT '/' CHECK (path ~ '^/(.*/)?$'),
  description         text NOT NULL DEFAULT '',
  default_version_id  text NOT NULL DEFAULT 'v1',
  next_version        integer NOT NULL DEFAULT 2,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX managed_policies_name_key ON managed_policies (account_id, lower(policy_name));

CREATE TABLE policy_versions (
  policy_id   text NOT NULL REFERENCES managed_policies ON DELETE CASCADE,
  version_id  text NOT NULL CHECK (version_id ~ '^v[1-9][0-9]*$'),
  document    text NOT NULL,
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (policy_id, version_id)
);
-- Exactly one default per policy is checked at commit (deferred), at most one at all times here.
CREATE UNIQUE INDEX policy_versions_one_default ON policy_versions (policy_id) WHERE is_default;

-- AWS keeps at most five versions of a managed policy.
CREATE FUNCTION policy_versions_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM policy_versions WHERE policy_id = NEW.policy_id) > 5 THEN
    RAISE EXCEPTION 'policy % has more than 5 versions', NEW.policy_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'policy_versions_limit';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER policy_versions_limit AFTER INSERT ON policy_versions
  FOR EACH ROW EXECUTE FUNCTION policy_versions_limit();

CREATE FUNCTION policy_versions_default() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE pid text := COALESCE(NEW.policy_id, OLD.policy_id);
BEGIN
  IF EXISTS (SELECT 1 FROM managed_policies WHERE policy_id = pid)
     AND NOT EXISTS (SELECT 1 FROM policy_versions WHERE policy_id = pid AND is_default) THEN
    RAISE EXCEPTION 'policy % has no default version', pid
      USING ERRCODE = 'check_violation', CONSTRAINT = 'policy_versions_default';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER policy_versions_default AFTER INSERT OR UPDATE OR DELETE ON policy_versions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION policy_versions_default();

CREATE TABLE users (
  user_id                   text PRIMARY KEY CHECK (user_id ~ '^AIDA[A-Z2-7]{17}$'),
  account_id                text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  user_name                 text NOT NULL CHECK (user_name ~ '^[A-Za-z0-9+=,.@_-]{1,64}$'),
  path                      text NOT NULL DEFAULT '/' CHECK (path ~ '^/(.*/)?$' AND length(path) <= 512),
  tags                      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array' AND jsonb_array_length(tags) <= 50),
  permissions_boundary_id   text REFERENCES managed_policies ON DELETE RESTRICT,
  created_at                timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_name_key ON users (account_id, lower(user_name));

CREATE TABLE groups (
  group_id    text PRIMARY KEY CHECK (group_id ~ '^AGPA[A-Z2-7]{17}$'),
  account_id  text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  group_name  text NOT NULL CHECK (group_name ~ '^[A-Za-z0-9+=,.@_-]{1,128}$'),
  path        text NOT NULL DEFAULT '/' CHECK (path ~ '^/(.*/)?$' AND length(path) <= 512),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_name_key ON groups (account_id, lower(group_name));

CREATE TABLE group_memberships (
  group_id    text NOT NULL REFERENCES groups ON DELETE RESTRICT,
  user_id     text NOT NULL REFERENCES users ON DELETE RESTRICT,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_memberships_user ON group_memberships (user_id);

CREATE TABLE roles (
  role_id                   text PRIMARY KEY CHECK (role_id ~ '^AROA[A-Z2-7]{17}$'),
  account_id                text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  role_name                 text NOT NULL CHECK (role_name ~ '^[A-Za-z0-9+=,.@_-]{1,64}$'),
  path                      text NOT NULL DEFAULT '/' CHECK (path ~ '^/(.*/)?$' AND length(path) <= 512),
  trust_policy              text NOT NULL,
  description               text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
  max_session_duration      integer NOT NULL DEFAULT 3600 CHECK (max_session_duration BETWEEN 3600 AND 43200),
  tags                      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array' AND jsonb_array_length(tags) <= 50),
  permissions_boundary_id   text REFERENCES managed_policies ON DELETE RESTRICT,
  created_at                timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX roles_name_key ON roles (account_id, lower(role_name));

-- One row per (principal, managed policy); exactly one of the three principal columns is set so
-- that each has a real foreign key. RESTRICT on the policy makes "delete only when unattached"
-- a database rule, not just an application check.
CREATE TABLE policy_attachments (
  account_id  text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  policy_id   text NOT NULL REFERENCES managed_policies ON DELETE RESTRICT,
  user_id     text REFERENCES users ON DELETE RESTRICT,
  group_id    text REFERENCES groups ON DELETE RESTRICT,
  role_id     text REFERENCES roles ON DELETE RESTRICT,
  attached_at timestamptz NOT NULL DEFAULT now(),
  CHECK (num_nonnulls(user_id, group_id, role_id) = 1)
);
CREATE UNIQUE INDEX policy_attachments_user ON policy_attachments (user_id, policy_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX policy_attachments_group ON policy_attachments (group_id, policy_id) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX policy_attachments_role ON policy_attachments (role_id, policy_id) WHERE role_id IS NOT NULL;
CREATE INDEX policy_attachments_policy ON policy_attachments (policy_id);

CREATE TABLE inline_policies (
  account_id   text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  user_id      text REFERENCES users ON DELETE RESTRICT,
  group_id     text REFERENCES groups ON DELETE RESTRICT,
  role_id      text REFERENCES roles ON DELETE RESTRICT,
  policy_name  text NOT NULL CHECK (policy_name ~ '^[A-Za-z0-9+=,.@_-]{1,128}$'),
  document     text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (num_nonnulls(user_id, group_id, role_id) = 1)
);
CREATE UNIQUE INDEX inline_policies_user ON inline_policies (user_id, policy_name) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX inline_policies_group ON inline_policies (group_id, policy_name) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX inline_policies_role ON inline_policies (role_id, policy_name) WHERE role_id IS NOT NULL;

-- The secret is kept (so the server can verify SigV4, which needs it) but only encrypted with
-- AES-256-GCM under a configured key: iv || tag || ciphertext. A NULL user_id is the account root.
CREATE TABLE access_keys (
  access_key_id      text PRIMARY KEY CHECK (access_key_id ~ '^AKIA[A-Z2-7]{16}$'),
  account_id         text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  user_id            text REFERENCES users ON DELETE RESTRICT,
  status             text NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Inactive')),
  secret_ciphertext  bytea NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  last_used_at       timestamptz,
  last_used_service  text,
  last_used_region   text
);
CREATE INDEX access_keys_user ON access_keys (user_id);

-- Client request tokens: a retried call with the same token returns the first call's result.
-- scope is the account id, or "operator" for account creation.
CREATE TABLE idempotency_tokens (
  scope         text NOT NULL,
  token         text NOT NULL CHECK (length(token) BETWEEN 1 AND 128),
  operation     text NOT NULL,
  request_hash  text NOT NULL,
  response      jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, token)
);

-- The transactional outbox: written in the same transaction as the change, relayed to Kafka in
-- (account, revision, id) order. payload NULL is a tombstone.
CREATE TABLE outbox (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id      uuid NOT NULL DEFAULT gen_random_uuid(),
  account_id    text NOT NULL,
  revision      bigint NOT NULL CHECK (revision > 0),
  entity_kind   text NOT NULL,
  entity_id     text NOT NULL,
  payload       jsonb,
  committed_at  timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (account_id, revision, id) WHERE published_at IS NULL;
CREATE INDEX outbox_account_revision ON outbox (account_id, revision);
