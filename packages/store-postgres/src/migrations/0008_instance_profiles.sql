-- Instance profiles: a container for at most one role (AWS's InstanceSessionsPerInstanceProfile
-- quota of 1), which the single role_id column enforces. A role inside a profile cannot be deleted
-- (RESTRICT), as AWS answers DeleteConflict.
CREATE TABLE instance_profiles (
  instance_profile_id    text PRIMARY KEY CHECK (instance_profile_id ~ '^AIPA[A-Z2-7]{17}$'),
  account_id             text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  instance_profile_name  text NOT NULL CHECK (instance_profile_name ~ '^[A-Za-z0-9+=,.@_-]{1,128}$'),
  path                   text NOT NULL DEFAULT '/' CHECK (path ~ '^/(.*/)?$' AND length(path) <= 512),
  role_id                text REFERENCES roles ON DELETE RESTRICT,
  tags                   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX instance_profiles_name_key ON instance_profiles (account_id, lower(instance_profile_name));
CREATE INDEX instance_profiles_role ON instance_profiles (role_id) WHERE role_id IS NOT NULL;
