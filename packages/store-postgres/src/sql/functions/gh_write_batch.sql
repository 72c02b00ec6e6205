-- gh_write_batch: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0031_outbox_trace_context). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
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
    -- The call's trace context: outbox.trace_context's default reads it (migration 0031).
    PERFORM set_config('gatehouse.traceparent', coalesce(v_call->>'tp', ''), true);
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
