-- Virtual MFA devices. The TOTP seed is sealed like access-key secrets (AES-256-GCM, AAD = serial
-- number). user_id is set while the device is enabled for a user.
CREATE TABLE mfa_devices (
  serial_number    text PRIMARY KEY,
  account_id       text NOT NULL REFERENCES accounts ON DELETE CASCADE,
  device_name      text NOT NULL CHECK (device_name ~ '^[A-Za-z0-9+=,.@_-]{1,226}$'),
  path             text NOT NULL DEFAULT '/' CHECK (path ~ '^/(.*/)?$' AND length(path) <= 512),
  seed_ciphertext  bytea NOT NULL,
  user_id          text REFERENCES users ON DELETE RESTRICT,
  enabled_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((user_id IS NULL) = (enabled_at IS NULL))
);
CREATE UNIQUE INDEX mfa_devices_name_key ON mfa_devices (account_id, lower(device_name));
CREATE INDEX mfa_devices_user ON mfa_devices (user_id);
