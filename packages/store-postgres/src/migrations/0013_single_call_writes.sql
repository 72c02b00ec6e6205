-- The busiest writes (CreateUser, AttachPolicy, PutInlinePolicy) as one SQL function each: one
-- statement is one round trip and its own transaction, against the 5–8 round trips of the same
-- write driven statement by statement from the client (each costing more CPU than the work it
-- carries). The functions follow tx.ts's write protocol exactly: lock the account row (serializing
-- the account's writers, so revisions follow commit order), replay a known client request token,
-- do the write, bump the revision, append the changed entities' full new state to the outbox,
-- remember the token, NOTIFY the relay. Each returns {"revision": n, "value": …}.
--
-- The entity state documents are built here, once, for every write: state.ts reads them through
-- gh_user_state & co. instead of assembling its own. Functions that query are PL/pgSQL, whose
-- statement plans are kept per connection; a non-inlined SQL function is planned on every call.

-- Whose attachment or inline policy a row is, in one indexed column: the functions below look
-- rows up by principal id without knowing its kind (ids are unique across users, groups and
-- roles: AIDA…, AGPA…, AROA…), and an OR over the three columns would not use their indexes.
ALTER TABLE policy_attachments
  ADD COLUMN principal_id text GENERATED ALWAYS AS (COALESCE(user_id, group_id, role_id)) STORED;
CREATE INDEX policy_attachments_principal ON policy_attachments (principal_id);
ALTER TABLE inline_policies
  ADD COLUMN principal_id text GENERATED ALWAYS AS (COALESCE(user_id, group_id, role_id)) STORED;
CREATE INDEX inline_policies_principal ON inline_policies (principal_id, policy_name);

-- The account's number of users, kept by a trigger for CreateUser's quota check: counting the
-- users on every create costs time in proportion to the account's size (≈ 1 ms at 5,000).
ALTER TABLE accounts ADD COLUMN user_count int NOT NULL DEFAULT 0 CHECK (user_count >= 0);
UPDATE accounts a SET user_count = (SELECT count(*) FROM users u WHERE u.account_id = a.account_id);

CREATE FUNCTION gh_count_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE accounts SET user_count = user_count + 1 WHERE account_id = NEW.account_id;
  ELSE
    UPDATE accounts SET user_count = user_count - 1 WHERE account_id = OLD.account_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION gh_count_users();

-- A write's failure as an AWS error: its name in DETAIL, the request field in HINT (pg-error.ts).
CREATE FUNCTION gh_fail(aws_name text, message text, field text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'GH400', MESSAGE = message, DETAIL = aws_name, HINT = field;
END $$;

CREATE FUNCTION gh_policy_arn(p_partition text, p_account text, p_path text, p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT 'arn:' || p_partition || ':iam::' || p_account || ':policy' || p_path || p_name
$$;

-- Attached managed policies and inline policies of a user, group or role. A set-returning SQL
-- function in FROM is inlined into the calling query (no call of its own, planned with it).
-- Attached policies sort as ListAttachedPolicies pages them: by name, then owner, so an own policy
-- and an AWS managed one of the same name come in one order every time.
CREATE FUNCTION gh_policy_lists(p_principal text, p_partition text) RETURNS TABLE (attached jsonb, inline jsonb)
LANGUAGE sql STABLE AS $$
  SELECT
    COALESCE((SELECT jsonb_agg(jsonb_build_object('policyId', p.policy_id,
                'policyArn', gh_policy_arn(p_partition, p.account_id, p.path, p.policy_name))
                ORDER BY lower(p.policy_name), p.account_id)
              FROM policy_attachments a JOIN managed_policies p ON p.policy_id = a.policy_id
              WHERE a.principal_id = p_principal), '[]'),
    COALESCE((SELECT jsonb_agg(jsonb_build_object('policyName', i.policy_name, 'policyDocument', i.document)
                ORDER BY i.policy_name)
              FROM inline_policies i WHERE i.principal_id = p_principal), '[]')
$$;

CREATE FUNCTION gh_epoch_ms(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  -- Truncated like a JavaScript Date made from the timestamp.
  SELECT floor(extract(epoch FROM t) * 1000)::bigint
$$;

-- Entity state documents (NULL when the entity is gone: the outbox's tombstone).
CREATE FUNCTION gh_user_state(p_user text, p_partition text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', u.account_id, 'userId', u.user_id, 'userName', u.user_name, 'path', u.path,
      'arn', 'arn:' || p_partition || ':iam::' || u.account_id || ':user' || u.path || u.user_name,
      'createdAtMs', gh_epoch_ms(u.created_at), 'tags', u.tags,
      'permissionsBoundaryArn', CASE WHEN bp.policy_id IS NULL THEN NULL
        ELSE gh_policy_arn(p_partition, bp.account_id, bp.path, bp.policy_name) END,
      'groups', COALESCE((SELECT jsonb_agg(jsonb_build_object('groupId', g.group_id, 'groupName', g.group_name)
          ORDER BY lower(g.group_name))
        FROM group_memberships m JOIN groups g ON g.group_id = m.group_id WHERE m.user_id = u.user_id), '[]'),
      'attachedPolicies', l.attached, 'inlinePolicies', l.inline)
    FROM users u LEFT JOIN managed_policies bp ON bp.policy_id = u.permissions_boundary_id
      CROSS JOIN LATERAL gh_policy_lists(u.user_id, p_partition) l
    WHERE u.user_id = p_user
  );
END $$;

CREATE FUNCTION gh_group_state(p_group text, p_partition text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', g.account_id, 'groupId', g.group_id, 'groupName', g.group_name, 'path', g.path,
      'arn', 'arn:' || p_partition || ':iam::' || g.account_id || ':group' || g.path || g.group_name,
      'createdAtMs', gh_epoch_ms(g.created_at),
      'attachedPolicies', l.attached, 'inlinePolicies', l.inline)
    FROM groups g CROSS JOIN LATERAL gh_policy_lists(g.group_id, p_partition) l WHERE g.group_id = p_group
  );
END $$;

CREATE FUNCTION gh_role_state(p_role text, p_partition text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', r.account_id, 'roleId', r.role_id, 'roleName', r.role_name, 'path', r.path,
      'arn', 'arn:' || p_partition || ':iam::' || r.account_id || ':role' || r.path || r.role_name,
      'createdAtMs', gh_epoch_ms(r.created_at), 'assumeRolePolicyDocument', r.trust_policy,
      'description', r.description, 'maxSessionDuration', r.max_session_duration, 'tags', r.tags,
      'permissionsBoundaryArn', CASE WHEN bp.policy_id IS NULL THEN NULL
        ELSE gh_policy_arn(p_partition, bp.account_id, bp.path, bp.policy_name) END,
      'attachedPolicies', l.attached, 'inlinePolicies', l.inline)
    FROM roles r LEFT JOIN managed_policies bp ON bp.policy_id = r.permissions_boundary_id
      CROSS JOIN LATERAL gh_policy_lists(r.role_id, p_partition) l
    WHERE r.role_id = p_role
  );
END $$;

-- A managed policy with every version (attachment counts change with every attach and are
-- derivable, so the document leaves them out).
CREATE FUNCTION gh_policy_state(p_policy text, p_partition text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', p.account_id, 'policyId', p.policy_id, 'policyName', p.policy_name, 'path', p.path,
      'arn', gh_policy_arn(p_partition, p.account_id, p.path, p.policy_name),
      'description', p.description, 'defaultVersionId', p.default_version_id,
      'createdAtMs', gh_epoch_ms(p.created_at), 'updatedAtMs', gh_epoch_ms(p.updated_at),
      'versions', COALESCE((SELECT jsonb_agg(jsonb_build_object('versionId', v.version_id, 'document', v.document,
          'isDefault', v.is_default, 'createdAtMs', gh_epoch_ms(v.created_at)) ORDER BY v.created_at, v.version_id)
        FROM policy_versions v WHERE v.policy_id = p.policy_id), '[]'))
    FROM managed_policies p WHERE p.policy_id = p_policy
  );
END $$;

-- The write protocol's steps.

-- Locks the account's row for the rest of the transaction; returns its current revision. The lock
-- is the one mutate()'s revision bump takes (NO KEY UPDATE): it serializes the account's writers
-- but, unlike FOR UPDATE, not the foreign key checks of rows inserted for the account elsewhere.
CREATE FUNCTION gh_lock_account(p_account text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_revision bigint;
BEGIN
  SELECT revision INTO v_revision FROM accounts WHERE account_id = p_account FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    PERFORM gh_fail('NoSuchEntity', format('account %s does not exist', to_json(p_account)), 'accountId');
  END IF;
  RETURN v_revision;
END $$;

-- The first call's response for a client request token seen before (NULL when new or no token).
CREATE FUNCTION gh_replay(p_account text, p_token text, p_operation text, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_prior idempotency_tokens;
BEGIN
  IF p_token IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT * INTO v_prior FROM idempotency_tokens WHERE scope = p_account AND token = p_token;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_prior.operation <> p_operation OR v_prior.request_hash <> p_hash THEN
    PERFORM gh_fail('InvalidInput', format('clientRequestToken %s was already used for a different request (%s)',
      to_json(p_token), v_prior.operation), 'clientRequestToken');
  END IF;
  RETURN v_prior.response;
END $$;

-- Commits a change: bumps the revision, appends the events (kind, id, state or NULL) in order,
-- remembers the token with the response, wakes the relay. Returns the response.
CREATE FUNCTION gh_emit(p_account text, p_channel text, p_operation text, p_token text, p_hash text,
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
    INSERT INTO idempotency_tokens (scope, token, operation, request_hash, response)
      VALUES (p_account, p_token, p_operation, p_hash, v_response);
  END IF;
  PERFORM pg_notify(p_channel, p_account);
  RETURN v_response;
END $$;

-- A user, group or role by name; NoSuchEntity names the request field.
CREATE FUNCTION gh_principal_id(p_account text, p_kind text, p_name text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_id text;
BEGIN
  IF p_kind = 'user' THEN
    SELECT user_id INTO v_id FROM users WHERE account_id = p_account AND lower(user_name) = lower(p_name);
  ELSIF p_kind = 'group' THEN
    SELECT group_id INTO v_id FROM groups WHERE account_id = p_account AND lower(group_name) = lower(p_name);
  ELSE
    SELECT role_id INTO v_id FROM roles WHERE account_id = p_account AND lower(role_name) = lower(p_name);
  END IF;
  IF v_id IS NULL THEN
    PERFORM gh_fail('NoSuchEntity', format('%s %s does not exist', p_kind, to_json(p_name)), p_kind || 'Name');
  END IF;
  RETURN v_id;
END $$;

CREATE FUNCTION gh_principal_state(p_kind text, p_id text, p_partition text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT CASE p_kind WHEN 'user' THEN gh_user_state(p_id, p_partition)
                       WHEN 'group' THEN gh_group_state(p_id, p_partition)
                       ELSE gh_role_state(p_id, p_partition) END
  );
END $$;

-- A managed policy by the parts of its ARN (parsed and checked by the caller), or NoSuchEntity.
CREATE FUNCTION gh_policy_id(p_account text, p_path text, p_name text, p_arn text, p_field text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_id text;
BEGIN
  SELECT policy_id INTO v_id FROM managed_policies
    WHERE account_id = p_account AND lower(policy_name) = lower(p_name) AND path = p_path;
  IF v_id IS NULL THEN
    PERFORM gh_fail('NoSuchEntity', format('policy %s does not exist', to_json(p_arn)), p_field);
  END IF;
  RETURN v_id;
END $$;

-- The operations.

CREATE FUNCTION gh_create_user(
  p_account text, p_user text, p_name text, p_path text, p_tags jsonb,
  p_boundary_account text, p_boundary_path text, p_boundary_name text, p_boundary_arn text,
  p_max_users int, p_partition text, p_channel text, p_token text, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_prior jsonb;
  v_boundary text;
  v_state jsonb;
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
  -- Exact under the account lock.
  IF (SELECT user_count FROM accounts WHERE account_id = p_account) >= p_max_users THEN
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
END $$;

CREATE FUNCTION gh_attach_policy(
  p_account text, p_kind text, p_name text,
  p_policy_account text, p_policy_path text, p_policy_name text, p_policy_arn text,
  p_max_attached int, p_partition text, p_channel text, p_token text, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION gh_put_inline_policy(
  p_account text, p_kind text, p_name text, p_policy_name text, p_document text,
  p_max_inline int, p_partition text, p_channel text, p_token text, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_prior jsonb;
  v_id text;
BEGIN
  PERFORM gh_lock_account(p_account);
  v_prior := gh_replay(p_account, p_token, 'PutInlinePolicy', p_hash);
  IF v_prior IS NOT NULL THEN
    RETURN v_prior;
  END IF;
  v_id := gh_principal_id(p_account, p_kind, p_name);
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

-- Several of the writes above in one statement (write-batcher.ts): one round trip, one commit and
-- one NOTIFY per account for all of them. Each call runs in a subtransaction of its own, so one
-- that fails undoes only its own changes and reports its error (SQLSTATE, message, detail, hint,
-- constraint, table: what the driver would have given) in its place in the result, an array of
-- {"ok": response} | {"error": …} in call order. p_calls is an array of {"f": name, "a": [arguments]}.
CREATE FUNCTION gh_write_batch(p_calls jsonb) RETURNS jsonb
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
            v_a->>6, v_a->>7, v_a->>8, v_a->>9);
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
