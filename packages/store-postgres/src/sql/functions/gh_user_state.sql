-- gh_user_state: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0018_index_lookups_in_state_documents). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_user_state(p_user text, p_partition text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET enable_seqscan TO 'off'
AS $function$
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
END $function$;
