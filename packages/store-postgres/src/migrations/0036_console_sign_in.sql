-- Console sign-in (the control plane's SignInService).
-- When the console password last signed in (the credential report's password_last_used; NULL:
-- never, `no_information` as AWS writes it).
ALTER TABLE login_profiles ADD COLUMN password_last_used_at timestamptz;
-- The TOTP time step of the last code a sign-in accepted from the device: a code is accepted once,
-- and never one of an earlier step (RFC 6238 §5.2), across every control-plane replica.
ALTER TABLE mfa_devices ADD COLUMN last_sign_in_step bigint;
