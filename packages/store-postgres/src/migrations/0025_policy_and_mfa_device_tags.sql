-- Tags on customer managed policies and virtual MFA devices (TagPolicy, TagMFADevice and their
-- Untag*/List*Tags; issue 12, item 7). As on instance profiles and OIDC providers, the quota
-- (GATEHOUSE_QUOTA_TAGS_PER_ENTITY) is enforced by the store under the account lock; the column
-- only checks the shape.
ALTER TABLE managed_policies ADD COLUMN tags jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array');
ALTER TABLE mfa_devices ADD COLUMN tags jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array');

-- A policy's state document carries its tags, so regions can evaluate aws:ResourceTag on it.
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
        FROM policy_versions v WHERE v.policy_id = p.policy_id), '[]'))
    FROM managed_policies p WHERE p.policy_id = p_policy
  );
END $function$;
