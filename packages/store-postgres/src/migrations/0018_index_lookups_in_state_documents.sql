-- Plans that cannot turn into scans of every row as the tables grow.
--
-- Postgres keeps a statement's plan inside a PL/pgSQL function for the life of the connection once
-- it settles on a generic one, and only re-plans when the tables are analyzed: never, where
-- autovacuum is off (this machine's server; startup-checks warns about it). The state documents'
-- plans are made on a new schema, whose managed_policies table holds only the built-in AWS
-- policies: one page, so the planner joined each principal's attachments to ALL managed policies
-- with a sequential scan and a hash, and its memberships to ALL groups the same way. The
-- benchmark's schema showed it: 16,080 sequential scans of managed_policies reading 2.5 million
-- rows in 20 s, so every write's cost grew with every account's policies.
--
-- Two changes make these lookups index lookups whatever the tables' sizes and statistics:
-- each attachment and membership fetches its one policy or group by primary key in a LATERAL
-- subquery (OFFSET 0 keeps the planner from turning it back into a join), and the functions
-- that build state documents or run the single-call writes plan with enable_seqscan off, so a
-- lookup by key never becomes a scan because its table was small when the plan was made. Without
-- an index to use, Postgres still scans: the setting only prices a scan above any index path.

CREATE OR REPLACE FUNCTION gh_policy_lists(p_principal text, p_partition text) RETURNS TABLE (attached jsonb, inline jsonb)
LANGUAGE sql STABLE AS $$
  SELECT
    COALESCE((SELECT jsonb_agg(p.doc ORDER BY p.sort_name, p.owner)
              FROM policy_attachments a
                CROSS JOIN LATERAL (
                  SELECT jsonb_build_object('policyId', mp.policy_id,
                           'policyArn', gh_policy_arn(p_partition, mp.account_id, mp.path, mp.policy_name)) AS doc,
                         lower(mp.policy_name) AS sort_name, mp.account_id AS owner
                  FROM managed_policies mp WHERE mp.policy_id = a.policy_id
                  OFFSET 0) p
              WHERE a.principal_id = p_principal), '[]'),
    COALESCE((SELECT jsonb_agg(jsonb_build_object('policyName', i.policy_name, 'policyDocument', i.document)
                ORDER BY i.policy_name)
              FROM inline_policies i WHERE i.principal_id = p_principal), '[]')
$$;

CREATE OR REPLACE FUNCTION gh_user_state(p_user text, p_partition text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', u.account_id, 'userId', u.user_id, 'userName', u.user_name, 'path', u.path,
      'arn', 'arn:' || p_partition || ':iam::' || u.account_id || ':user' || u.path || u.user_name,
      'createdAtMs', gh_epoch_ms(u.created_at), 'tags', u.tags,
      'permissionsBoundaryArn', CASE WHEN bp.policy_id IS NULL THEN NULL
        ELSE gh_policy_arn(p_partition, bp.account_id, bp.path, bp.policy_name) END,
      'groups', COALESCE((SELECT jsonb_agg(g.doc ORDER BY g.sort_name)
        FROM group_memberships m
          CROSS JOIN LATERAL (
            SELECT jsonb_build_object('groupId', gr.group_id, 'groupName', gr.group_name) AS doc,
                   lower(gr.group_name) AS sort_name
            FROM groups gr WHERE gr.group_id = m.group_id
            OFFSET 0) g
        WHERE m.user_id = u.user_id), '[]'),
      'attachedPolicies', l.attached, 'inlinePolicies', l.inline)
    FROM users u LEFT JOIN managed_policies bp ON bp.policy_id = u.permissions_boundary_id
      CROSS JOIN LATERAL gh_policy_lists(u.user_id, p_partition) l
    WHERE u.user_id = p_user
  );
END $$;

ALTER FUNCTION gh_user_state(text, text) SET enable_seqscan = off;
ALTER FUNCTION gh_group_state(text, text) SET enable_seqscan = off;
ALTER FUNCTION gh_role_state(text, text) SET enable_seqscan = off;
ALTER FUNCTION gh_policy_state(text, text) SET enable_seqscan = off;
ALTER FUNCTION gh_create_user(text, text, text, text, jsonb, text, text, text, text, integer, text, text, text, text) SET enable_seqscan = off;
ALTER FUNCTION gh_attach_policy(text, text, text, text, text, text, text, integer, text, text, text, text) SET enable_seqscan = off;
ALTER FUNCTION gh_put_inline_policy(text, text, text, text, text, integer, text, text, text, text) SET enable_seqscan = off;
