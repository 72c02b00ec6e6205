-- Client request tokens are scoped to the caller, not only the account, and expire.
--
-- caller is the principal that sent the first call ('user:<user id>', 'root', 'operator'; '' for
-- rows written before this migration, which no caller matches any more). A token is the caller's
-- own: another user of the account reusing it starts a new request instead of receiving the first
-- caller's answer. expires_at bounds how long a token replays; expired rows are deleted by the
-- store's pruning (pruneClientRequestTokens) and ignored, then replaced, until they are.
ALTER TABLE idempotency_tokens ADD COLUMN caller text NOT NULL DEFAULT '';
ALTER TABLE idempotency_tokens ADD COLUMN expires_at timestamptz;
UPDATE idempotency_tokens SET expires_at = created_at + interval '24 hours';
ALTER TABLE idempotency_tokens ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE idempotency_tokens DROP CONSTRAINT idempotency_tokens_pkey;
ALTER TABLE idempotency_tokens ADD CONSTRAINT idempotency_tokens_pkey PRIMARY KEY (scope, caller, token);
CREATE INDEX idempotency_tokens_expiry ON idempotency_tokens (expires_at);

-- How long a token replays: the session setting gatehouse.client_token_ttl (seconds), which the
-- store sets on every connection from its options; 24 hours when unset (psql, old clients).
CREATE FUNCTION gh_token_ttl() RETURNS interval
LANGUAGE sql STABLE AS $$
  SELECT make_interval(secs => coalesce(nullif(current_setting('gatehouse.client_token_ttl', true), ''), '86400')::double precision)
$$;

-- The SQL write functions pass the token as '<caller> <token>' (a token is printable ASCII without
-- spaces, a caller id has no space), so their signatures stay as they are.
CREATE FUNCTION gh_token_caller(p_token text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN position(' ' IN p_token) = 0 THEN '' ELSE split_part(p_token, ' ', 1) END
$$;

CREATE FUNCTION gh_token_value(p_token text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN position(' ' IN p_token) = 0 THEN p_token ELSE substr(p_token, position(' ' IN p_token) + 1) END
$$;

CREATE OR REPLACE FUNCTION gh_replay(p_account text, p_token text, p_operation text, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;

CREATE OR REPLACE FUNCTION gh_emit(p_account text, p_channel text, p_operation text, p_token text, p_hash text,
                        p_value jsonb, p_kinds text[], p_ids text[], p_payloads jsonb[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;
