-- AWS managed policies (AdministratorAccess, ReadOnlyAccess, ...) belong to the pseudo-account
-- "aws", so their ARNs render as arn:<partition>:iam::aws:policy/<name> with the same SQL as an
-- account's own policies, and attachments keep their RESTRICT foreign key. Their documents are
-- seeded (and new versions added) by the store at start-up from builtin-policies.ts.
ALTER TABLE accounts DROP CONSTRAINT accounts_account_id_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_account_id_check CHECK (account_id ~ '^[0-9]{12}$' OR account_id = 'aws');
INSERT INTO accounts (account_id) VALUES ('aws') ON CONFLICT DO NOTHING;
