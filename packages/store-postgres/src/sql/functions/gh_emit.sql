-- gh_emit: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0020_client_request_token_scope). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_emit(p_account text, p_channel text, p_operation text, p_token text, p_hash text, p_value jsonb, p_kinds text[], p_ids text[], p_payloads jsonb[])
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_revision bigint;
  v_response jsonb;
BEGIN
  UPDATE accounts SET revision = revision + 1 WHERE account_id = p_account RETURNING revision INTO v_revision;
  INSERT INTO outbox (account_id, revision, entity_kind, entity_id, payload)
    SELECT p_account, v_revision, k, i, p FROM unnest(p_kinds, p_ids, p_payloads) WITH ORDINALITY AS e(k, i, p, n)
    ORDER BY n;
  v_response := jsonb_build_object('value', p_value, 'revision', v_revision);
  IF p_token IS NOT NULL THEN
    INSERT INTO idempotency_tokens (scope, caller, token, operation, request_hash, response, expires_at)
      VALUES (p_account, gh_token_caller(p_token), gh_token_value(p_token), p_operation, p_hash, v_response,
              now() + gh_token_ttl());
  END IF;
  PERFORM pg_notify(p_channel, p_account);
  RETURN v_response;
END $function$;
