-- gh_attach_policy: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0018_index_lookups_in_state_documents). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_attach_policy(p_account text, p_kind text, p_name text, p_policy_account text, p_policy_path text, p_policy_name text, p_policy_arn text, p_max_attached integer, p_partition text, p_channel text, p_token text, p_hash text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET enable_seqscan TO 'off'
AS $function$
DECLARE
  v_revision bigint;
  v_prior jsonb;
  v_id text;
  v_policy text;
BEGIN
  v_revision := gh_lock_account(p_account);
  v_prior := gh_replay(p_account, p_token, 'AttachPolicy', p_hash);
  IF v_prior IS NOT NULL THEN
    RETURN v_prior;
  END IF;
  v_id := gh_principal_id(p_account, p_kind, p_name);
  v_policy := gh_policy_id(p_policy_account, p_policy_path, p_policy_name, p_policy_arn, 'policyArn');
  INSERT INTO policy_attachments (account_id, policy_id, user_id, group_id, role_id)
    VALUES (p_account, v_policy, CASE WHEN p_kind = 'user' THEN v_id END, CASE WHEN p_kind = 'group' THEN v_id END,
            CASE WHEN p_kind = 'role' THEN v_id END)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    -- Already attached: nothing changes, the revision stays.
    RETURN jsonb_build_object('value', NULL, 'revision', v_revision);
  END IF;
  IF (SELECT count(*) FROM policy_attachments WHERE principal_id = v_id)
     > p_max_attached THEN
    PERFORM gh_fail('LimitExceeded', format('%s %s already has the maximum of attached managed policies (quota %s)',
      p_kind, to_json(p_name), p_max_attached), 'policyArn');
  END IF;
  IF p_policy_account = 'aws' THEN
    RETURN gh_emit(p_account, p_channel, 'AttachPolicy', p_token, p_hash, NULL,
      ARRAY[p_kind, 'policy'], ARRAY[v_id, v_policy],
      ARRAY[gh_principal_state(p_kind, v_id, p_partition), gh_policy_state(v_policy, p_partition)]);
  END IF;
  RETURN gh_emit(p_account, p_channel, 'AttachPolicy', p_token, p_hash, NULL,
    ARRAY[p_kind], ARRAY[v_id], ARRAY[gh_principal_state(p_kind, v_id, p_partition)]);
END $function$;
