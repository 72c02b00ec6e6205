-- AWS's aggregate inline-policy limits: the inline policies of one user, group or role together
-- hold at most 2,048 / 5,120 / 10,240 characters, whitespace excluded (configurable quotas). One
-- state event carries all of an entity's inline policies, so this bounds its size. Documents are
-- stored without insignificant whitespace (validation.ts), so a stored document's length is its
-- size; documents stored before this migration may still hold whitespace and count it.
DROP FUNCTION gh_put_inline_policy(text, text, text, text, text, integer, text, text, text, text);
CREATE FUNCTION gh_put_inline_policy(
  p_account text, p_kind text, p_name text, p_policy_name text, p_document text,
  p_max_inline int, p_max_chars int, p_partition text, p_channel text, p_token text, p_hash text) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_prior jsonb;
  v_id text;
  v_others bigint;
BEGIN
  PERFORM gh_lock_account(p_account);
  v_prior := gh_replay(p_account, p_token, 'PutInlinePolicy', p_hash);
  IF v_prior IS NOT NULL THEN
    RETURN v_prior;
  END IF;
  v_id := gh_principal_id(p_account, p_kind, p_name);
  SELECT coalesce(sum(length(document)), 0) INTO v_others
    FROM inline_policies WHERE principal_id = v_id AND policy_name <> p_policy_name;
  IF v_others + length(p_document) > p_max_chars THEN
    PERFORM gh_fail('LimitExceeded', format(
      'the inline policies of %s %s would have %s characters (whitespace excluded); at most %s (quota %s)',
      p_kind, p_name, v_others + length(p_document), p_max_chars, p_max_chars), 'policyDocument');
  END IF;
  UPDATE inline_policies SET document = p_document, updated_at = now()
    WHERE principal_id = v_id AND policy_name = p_policy_name;
  IF NOT FOUND THEN
    IF (SELECT count(*) FROM inline_policies WHERE principal_id = v_id)
       >= p_max_inline THEN
      PERFORM gh_fail('LimitExceeded', format('too many inline policies (quota %s)', p_max_inline), 'policyName');
    END IF;
    INSERT INTO inline_policies (account_id, user_id, group_id, role_id, policy_name, document)
      VALUES (p_account, CASE WHEN p_kind = 'user' THEN v_id END, CASE WHEN p_kind = 'group' THEN v_id END,
              CASE WHEN p_kind = 'role' THEN v_id END, p_policy_name, p_document);
  END IF;
  RETURN gh_emit(p_account, p_channel, 'PutInlinePolicy', p_token, p_hash, NULL,
    ARRAY[p_kind], ARRAY[v_id], ARRAY[gh_principal_state(p_kind, v_id, p_partition)]);
END $$;

-- gh_write_batch (migration 0013) with the new argument of gh_put_inline_policy.
CREATE OR REPLACE FUNCTION gh_write_batch(p_calls jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;
