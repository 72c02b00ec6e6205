-- gh_policy_state: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0035_aws_managed_policy_catalogue). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_policy_state(p_policy text, p_partition text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET enable_seqscan TO 'off'
AS $function$
BEGIN
  RETURN (SELECT jsonb_build_object(
      'accountId', p.account_id, 'policyId', p.policy_id, 'policyName', p.policy_name, 'path', p.path,
      'arn', gh_policy_arn(p_partition, p.account_id, p.path, p.policy_name),
      'description', p.description, 'defaultVersionId', p.default_version_id,
      'createdAtMs', gh_epoch_ms(p.created_at), 'updatedAtMs', gh_epoch_ms(p.updated_at),
      'tags', p.tags,
      'versions', COALESCE((SELECT jsonb_agg(jsonb_build_object('versionId', v.version_id, 'document', v.document,
          'isDefault', v.is_default, 'createdAtMs', gh_epoch_ms(v.created_at)) ORDER BY v.created_at, v.version_id)
        FROM policy_versions v WHERE v.policy_id = p.policy_id AND (p.account_id <> 'aws' OR v.is_default)), '[]'))
    FROM managed_policies p WHERE p.policy_id = p_policy
  );
END $function$;
