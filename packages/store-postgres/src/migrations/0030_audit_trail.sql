-- The audit trail (Gatehouse's CloudTrail): one row per control-plane call, allowed or denied,
-- succeeded or failed. A successful write's row is inserted in the write's own transaction (by
-- mutate() or, for the single-call writes, by gh_write_batch / the statement that calls the write
-- function), so a write that rolls back leaves none; every other call's row is inserted alone.
-- The table is also the audit events' outbox: `published` is set once the row is on Kafka.
-- Request parameters are stored redacted by the control plane (no secrets, policy documents as
-- their digest). Rows older than the configured retention are deleted in batches.
CREATE TABLE audit_events (
  id                  bigserial PRIMARY KEY,
  event_id            uuid NOT NULL,
  event_time          timestamptz NOT NULL,
  -- The caller's account (NULL for the operator).
  account_id          text,
  principal_arn       text NOT NULL,
  -- The IAM user name of a user caller, for lookups by user (NULL for root and the operator).
  user_name           text,
  access_key_id       text NOT NULL,
  source_ip           text,
  operation           text NOT NULL,
  request_parameters  jsonb NOT NULL,
  -- NULL when the call succeeded.
  error_code          text,
  error_name          text,
  -- The revision a successful write produced.
  revision            bigint,
  published           boolean NOT NULL DEFAULT false
);
-- LookupEvents of an account, newest (highest id) first. Rows arrive in time order, so a BRIN
-- index serves the time ranges of lookups and of retention for a fraction of a b-tree's cost on
-- every insert (the write path pays for each index of this table).
CREATE INDEX audit_events_account ON audit_events (account_id, id);
CREATE INDEX audit_events_time ON audit_events USING brin (event_time);
-- The audit relay's backlog.
CREATE INDEX audit_events_unpublished ON audit_events (id) WHERE NOT published;

-- Inserts one audit event given as the JSON the store builds (see audit-store.ts), with the
-- revision its write produced (NULL for other calls). One place maps the JSON to columns.
-- PL/pgSQL, so the INSERT's plan is cached per session (a SQL function's is made per call).
CREATE FUNCTION gh_audit_insert(p_event jsonb, p_revision bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_events (event_id, event_time, account_id, principal_arn, user_name, access_key_id, source_ip,
    operation, request_parameters, error_code, error_name, revision)
  VALUES ((p_event->>'eventId')::uuid, to_timestamp((p_event->>'eventTimeMs')::double precision / 1000),
    p_event->>'accountId', p_event->>'principalArn', p_event->>'userName', p_event->>'accessKeyId',
    p_event->>'sourceIp', p_event->>'operation', p_event->'requestParameters', p_event->>'errorCode',
    p_event->>'errorName', p_revision);
END $$;

-- gh_write_batch: a call may carry its audit event ('audit'), inserted in the call's own
-- subtransaction once the write succeeded, so it commits or rolls back with the write.
CREATE OR REPLACE FUNCTION gh_write_batch(p_calls jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_call jsonb;
  v_a jsonb;
  v_response jsonb;
  v_results jsonb := '[]';
  v_code text;
  v_message text;
  v_detail text;
  v_hint text;
  v_constraint text;
  v_table text;
BEGIN
  FOR v_call IN SELECT e.value FROM jsonb_array_elements(p_calls) WITH ORDINALITY AS e(value, n) ORDER BY e.n LOOP
    v_a := v_call->'a';
    BEGIN
      CASE v_call->>'f'
        WHEN 'gh_create_user' THEN
          v_response := gh_create_user(v_a->>0, v_a->>1, v_a->>2, v_a->>3, (v_a->>4)::jsonb, v_a->>5, v_a->>6,
            v_a->>7, v_a->>8, (v_a->>9)::int, v_a->>10, v_a->>11, v_a->>12, v_a->>13);
        WHEN 'gh_attach_policy' THEN
          v_response := gh_attach_policy(v_a->>0, v_a->>1, v_a->>2, v_a->>3, v_a->>4, v_a->>5, v_a->>6,
            (v_a->>7)::int, v_a->>8, v_a->>9, v_a->>10, v_a->>11);
        WHEN 'gh_put_inline_policy' THEN
          v_response := gh_put_inline_policy(v_a->>0, v_a->>1, v_a->>2, v_a->>3, v_a->>4, (v_a->>5)::int,
            (v_a->>6)::int, v_a->>7, v_a->>8, v_a->>9, v_a->>10);
      END CASE;
      IF v_call ? 'audit' THEN
        PERFORM gh_audit_insert(v_call->'audit', (v_response->>'revision')::bigint);
      END IF;
      v_results := v_results || jsonb_build_array(jsonb_build_object('ok', v_response));
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL,
        v_hint = PG_EXCEPTION_HINT, v_constraint = CONSTRAINT_NAME, v_table = TABLE_NAME;
      v_results := v_results || jsonb_build_array(jsonb_build_object('error', jsonb_build_object(
        'code', v_code, 'message', v_message, 'detail', v_detail, 'hint', v_hint,
        'constraint', v_constraint, 'table', v_table)));
    END;
  END LOOP;
  RETURN v_results;
END $function$;
