-- gh_create_user: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0018_index_lookups_in_state_documents). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_create_user(p_account text, p_user text, p_name text, p_path text, p_tags jsonb, p_boundary_account text, p_boundary_path text, p_boundary_name text, p_boundary_arn text, p_max_users integer, p_partition text, p_channel text, p_token text, p_hash text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET enable_seqscan TO 'off'
AS $function$
DECLARE
  v_prior jsonb;
  v_boundary text;
  v_state jsonb;
  v_count int;
BEGIN
  PERFORM gh_lock_account(p_account);
  v_prior := gh_replay(p_account, p_token, 'CreateUser', p_hash);
  IF v_prior IS NOT NULL THEN
    RETURN v_prior;
  END IF;
  IF p_boundary_name IS NOT NULL THEN
    v_boundary := gh_policy_id(p_boundary_account, p_boundary_path, p_boundary_name, p_boundary_arn,
                               'permissionsBoundaryArn');
  END IF;
  -- Exact under the account lock; a failure below rolls the count back with the rest.
  UPDATE accounts SET user_count = user_count + 1 WHERE account_id = p_account RETURNING user_count INTO v_count;
  IF v_count > p_max_users THEN
    PERFORM gh_fail('LimitExceeded', format('too many users in the account (quota %s)', p_max_users), 'userName');
  END IF;
  INSERT INTO users (user_id, account_id, user_name, path, tags, permissions_boundary_id)
    VALUES (p_user, p_account, p_name, p_path, p_tags, v_boundary);
  v_state := gh_user_state(p_user, p_partition);
  -- An AWS managed boundary travels on the account's stream, as an attached one does.
  IF p_boundary_account = 'aws' THEN
    RETURN gh_emit(p_account, p_channel, 'CreateUser', p_token, p_hash,
      v_state - 'groups' - 'attachedPolicies' - 'inlinePolicies',
      ARRAY['user', 'policy'], ARRAY[p_user, v_boundary],
      ARRAY[v_state, gh_policy_state(v_boundary, p_partition)]);
  END IF;
  RETURN gh_emit(p_account, p_channel, 'CreateUser', p_token, p_hash,
    v_state - 'groups' - 'attachedPolicies' - 'inlinePolicies', ARRAY['user'], ARRAY[p_user], ARRAY[v_state]);
END $function$;
