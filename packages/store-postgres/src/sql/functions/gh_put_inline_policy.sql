-- gh_put_inline_policy: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0021_inline_policy_size_quota). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_put_inline_policy(p_account text, p_kind text, p_name text, p_policy_name text, p_document text, p_max_inline integer, p_max_chars integer, p_partition text, p_channel text, p_token text, p_hash text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET enable_seqscan TO 'off'
AS $function$
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
END $function$;
