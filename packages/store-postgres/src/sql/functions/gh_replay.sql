-- gh_replay: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0020_client_request_token_scope). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_replay(p_account text, p_token text, p_operation text, p_hash text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_prior idempotency_tokens;
  v_caller text;
  v_token text;
BEGIN
  IF p_token IS NULL THEN
    RETURN NULL;
  END IF;
  v_caller := gh_token_caller(p_token);
  v_token := gh_token_value(p_token);
  -- An expired token is forgotten here (the account lock is held), so its reuse starts afresh.
  DELETE FROM idempotency_tokens
   WHERE scope = p_account AND caller = v_caller AND token = v_token AND expires_at <= now();
  SELECT * INTO v_prior FROM idempotency_tokens WHERE scope = p_account AND caller = v_caller AND token = v_token;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_prior.operation <> p_operation OR v_prior.request_hash <> p_hash THEN
    PERFORM gh_fail('InvalidInput', format('clientRequestToken %s was already used for a different request (%s)',
      to_json(v_token), v_prior.operation), 'clientRequestToken');
  END IF;
  RETURN v_prior.response;
END $function$;
