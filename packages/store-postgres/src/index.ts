/**
 * Postgres persistence of Gatehouse IAM state: versioned migrations, the store whose every write
 * is one transaction that bumps the account revision and fills the outbox, and the outbox source
 * the relay drains.
 */
export type { AccessKeyUse } from "./families/access-keys/access-key-store.ts";
export type { AccountSettingsStore } from "./families/accounts/account-settings-store.ts";
export type { AccountList, AccountRevision, NewAccount } from "./families/accounts/account-store.ts";
export type { AccountSummaryStore, AccountUsage } from "./families/accounts/account-summary-store.ts";
export {
  type GuardrailRecord,
  type GuardrailStore,
  MAX_GUARDRAILS_PER_ACCOUNT,
} from "./families/accounts/guardrail-store.ts";
export type { AuditEventInput } from "./families/audit/audit-scope.ts";
export type {
  AuditLookup,
  AuditPruneOptions,
  AuditRecord,
  AuditStore,
  RegionAuditEventInput,
} from "./families/audit/audit-store.ts";
export type {
  CredentialReportKey,
  CredentialReportPrincipal,
  CredentialReportState,
  CredentialReportStore,
  StoredCredentialReport,
} from "./families/credential-reports/credential-report-store.ts";
export {
  AUTHORIZATION_DETAILS_ENTITY_TYPES,
  type AuthorizationDetails,
  type AuthorizationDetailsEntityType,
  type AuthorizationDetailsInput,
  type ManagedPolicyDetailRecord,
  type RoleDetailRecord,
} from "./families/export/authorization-details.ts";
export type { UpdateGroupInput } from "./families/groups/group-store.ts";
export type {
  CreateInstanceProfileInput,
  InstanceProfileRecord,
  InstanceProfileStore,
} from "./families/instance-profiles/instance-profile-store.ts";
export type {
  ConsolePasswordCheck,
  ConsoleSignInStore,
  MfaCodeCheck,
  SignInAccount,
} from "./families/login-profiles/console-sign-in-store.ts";
export type { LoginProfileStore, UpdateLoginProfileInput } from "./families/login-profiles/login-profile-store.ts";
export type { MfaDeviceRecord, MfaStore, NewMfaDevice } from "./families/mfa/mfa-store.ts";
export type {
  CreateOidcProviderInput,
  FetchedJwksProvider,
  OidcProviderRecord,
  OidcProviderStore,
} from "./families/oidc-providers/oidc-provider-store.ts";
export {
  createOutboxSource,
  type OutboxLease,
  type OutboxSource,
  type ParkedEvent,
} from "./families/outbox/outbox.ts";
export type {
  CompactOutboxOptions,
  OutboxCompaction,
  OutboxCompactionAccount,
  OutboxCompactionStore,
} from "./families/outbox/outbox-compaction.ts";
export {
  AWS_MANAGED_ACCOUNT,
  type AwsManagedPolicyCatalogue,
  awsManagedPolicyId,
  type BuiltinPolicy,
  type BuiltinPolicyVersion,
  loadAwsManagedPolicies,
} from "./families/policies/builtin-policies.ts";
export {
  type CreatePolicyInput,
  type PolicyEntitiesFilter,
  type PolicyEntityRecord,
  type PolicyScope,
  VERSIONS_PER_POLICY,
} from "./families/policies/policy-store.ts";
export {
  type BuiltinPolicySeeding,
  type SeedTarget,
  seedBuiltinPolicies,
} from "./families/policies/seed-builtin-policies.ts";
export type {
  PutResourcePolicyInput,
  ResourcePolicyPageInput,
  ResourcePolicyRecord,
  ResourcePolicyStore,
} from "./families/resource-policies/resource-policy-store.ts";
export type { CreateRoleInput, UpdateRoleInput } from "./families/roles/role-store.ts";
export {
  type RotateStsKeysInput,
  STS_KEY_RETENTION_MS,
  type StsKeyRecord,
  type StsKeyStore,
  stsKeyAad,
} from "./families/sts-keys/sts-key-store.ts";
export type { TaggableKind, TagStore } from "./families/tags/tag-store.ts";
export type {
  CreateUserInput,
  NamedPolicyDocument,
  PrincipalPolicies,
  UpdatedUser,
  UpdateUserInput,
} from "./families/users/user-store.ts";
export { loadMigrations, type Migration, type MigrationResult, migrate } from "./migrate.ts";
export {
  DEFAULT_QUOTAS,
  type PostgresStoreOptions,
  type StoreQuotas,
  type ValidPostgresStoreOptions,
  validatePostgresStoreOptions,
} from "./options.ts";
export { translatePgError } from "./pg-error.ts";
export type * from "./records.ts";
export { EntityKind } from "./state.ts";
export { createPostgresStore, type IamStore } from "./store.ts";
