-- An account's password policy (AWS's fields; absent row = no custom policy, AWS's default rules
-- apply to new passwords).
CREATE TABLE password_policies (
  account_id                      text PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
  minimum_password_length         integer NOT NULL CHECK (minimum_password_length BETWEEN 6 AND 128),
  require_symbols                 boolean NOT NULL,
  require_numbers                 boolean NOT NULL,
  require_uppercase_characters    boolean NOT NULL,
  require_lowercase_characters    boolean NOT NULL,
  allow_users_to_change_password  boolean NOT NULL,
  -- 0 = passwords never expire.
  max_password_age                integer NOT NULL CHECK (max_password_age BETWEEN 0 AND 1095),
  -- 0 = no reuse prevention.
  password_reuse_prevention       integer NOT NULL CHECK (password_reuse_prevention BETWEEN 0 AND 24),
  hard_expiry                     boolean NOT NULL,
  updated_at                      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE accounts ADD CONSTRAINT accounts_alias_rules
  CHECK (alias IS NULL OR (length(alias) BETWEEN 3 AND 63 AND alias !~ '^[0-9]{12}$'));
