-- gh_role_state: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0018_index_lookups_in_state_documents). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_role_state(p_role text, p_partition text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET enable_seqscan TO 'off'
AS $function$
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
END $function$;
