-- gh_group_state: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0018_index_lookups_in_state_documents). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_group_state(p_group text, p_partition text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET enable_seqscan TO 'off'
AS $function$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', g.account_id, 'groupId', g.group_id, 'groupName', g.group_name, 'path', g.path,
      'arn', 'arn:' || p_partition || ':iam::' || g.account_id || ':group' || g.path || g.group_name,
      'createdAtMs', gh_epoch_ms(g.created_at),
      'attachedPolicies', l.attached, 'inlinePolicies', l.inline)
    FROM groups g CROSS JOIN LATERAL gh_policy_lists(g.group_id, p_partition) l WHERE g.group_id = p_group
  );
END $function$;
