-- Built-in (AWS managed) policies remember the catalog revision they were written from
-- (builtin-policies.ts), and seeding never replaces an entry by one of a lower revision. The
-- number of versions alone orders two catalogs only when it differs: a description changed
-- without a new version was put back and forth while instances of two releases started during a
-- rolling upgrade, each write a revision on the stream of every account using the policy.
-- Entries seeded so far get the revision the catalog gives them, their number of versions, so an
-- upgraded instance finds them unchanged.
ALTER TABLE managed_policies ADD COLUMN builtin_revision integer;
UPDATE managed_policies p
  SET builtin_revision = (SELECT count(*) FROM policy_versions v WHERE v.policy_id = p.policy_id)
  WHERE account_id = 'aws';
ALTER TABLE managed_policies ADD CONSTRAINT managed_policies_builtin_revision
  CHECK ((account_id = 'aws') = (builtin_revision IS NOT NULL) AND builtin_revision >= 1);
