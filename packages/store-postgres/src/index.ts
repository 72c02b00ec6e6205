/**
 * Postgres persistence of Gatehouse IAM state: versioned migrations, the store whose every write
 * is one transaction that bumps the account revision and fills the outbox, and the outbox source
 * the relay drains.
 */
export type { AccountSettingsStore } from "./account-store.ts";
export { AWS_MANAGED_ACCOUNT, BUILTIN_POLICIES, type BuiltinPolicy } from "./builtin-policies.ts";
export {
  type GuardrailRecord,
  type GuardrailStore,
  MAX_GUARDRAILS_PER_ACCOUNT,
} from "./guardrail-store.ts";
export type {
  CreateInstanceProfileInput,
  InstanceProfileRecord,
  InstanceProfileStore,
} from "./instance-profile-store.ts";
export type { LoginProfileStore, UpdateLoginProfileInput } from "./login-profile-store.ts";
export type { MfaDeviceRecord, MfaStore, NewMfaDevice } from "./mfa-store.ts";
export { loadMigrations, type Migration, type MigrationResult, migrate } from "./migrate.ts";
export type { CreateOidcProviderInput, OidcProviderRecord, OidcProviderStore } from "./oidc-provider-store.ts";
export {
  DEFAULT_QUOTAS,
  type PostgresStoreOptions,
  type StoreQuotas,
  type ValidPostgresStoreOptions,
  validatePostgresStoreOptions,
} from "./options.ts";
export { createOutboxSource, type OutboxLease, type OutboxSource, type ParkedEvent } from "./outbox.ts";
export type {
  CompactOutboxOptions,
  OutboxCompaction,
  OutboxCompactionAccount,
  OutboxCompactionStore,
} from "./outbox-compaction.ts";
export { translatePgError } from "./pg-error.ts";
export type * from "./records.ts";
export { type BuiltinPolicySeeding, type SeedTarget, seedBuiltinPolicies } from "./seed-builtin-policies.ts";
export { EntityKind } from "./state.ts";
export {
  type CreatePolicyInput,
  type CreateRoleInput,
  type CreateUserInput,
  createPostgresStore,
  type IamStore,
  type NamedPolicyDocument,
  type NewAccount,
  type PolicyScope,
  type PrincipalPolicies,
} from "./store.ts";
export type { TaggableKind, TagStore, UpdateRoleInput } from "./tag-store.ts";
