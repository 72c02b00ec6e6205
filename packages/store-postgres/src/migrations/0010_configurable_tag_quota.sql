-- The tags-per-entity quota is configurable now (GATEHOUSE_QUOTA_TAGS_PER_ENTITY, AWS's 50 by
-- default) and enforced by the store under the account lock; the fixed cap of 50 goes, the shape
-- check stays.
ALTER TABLE users DROP CONSTRAINT users_tags_check;
ALTER TABLE users ADD CONSTRAINT users_tags_check CHECK (jsonb_typeof(tags) = 'array');
ALTER TABLE roles DROP CONSTRAINT roles_tags_check;
ALTER TABLE roles ADD CONSTRAINT roles_tags_check CHECK (jsonb_typeof(tags) = 'array');
