-- Console passwords: an argon2id hash only (PHC string). A user with a login profile cannot be
-- deleted (RESTRICT → DeleteConflict), as in AWS.
CREATE TABLE login_profiles (
  user_id                  text PRIMARY KEY REFERENCES users ON DELETE RESTRICT,
  account_id               text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  password_hash            text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  password_reset_required  boolean NOT NULL DEFAULT false,
  password_changed_at      timestamptz NOT NULL DEFAULT now(),
  created_at               timestamptz NOT NULL DEFAULT now()
);

-- Earlier password hashes, for the password policy's reuse prevention (newest first by time).
CREATE TABLE password_history (
  user_id        text NOT NULL REFERENCES users ON DELETE CASCADE,
  password_hash  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX password_history_user ON password_history (user_id, created_at DESC);
