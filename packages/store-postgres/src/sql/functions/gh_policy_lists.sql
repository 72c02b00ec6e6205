-- gh_policy_lists: its live definition, as pg_get_functiondef prints it once every migration has run
-- (last changed by migration 0018_index_lookups_in_state_documents). Change it with a new migration and update this file to
-- match: sql-functions.int.test.ts fails while the two differ.
CREATE OR REPLACE FUNCTION gh_policy_lists(p_principal text, p_partition text)
 RETURNS TABLE(attached jsonb, inline jsonb)
 LANGUAGE sql
 STABLE
AS $function$
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
$function$;
