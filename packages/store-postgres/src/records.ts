/** A key/value tag on a user, role, instance profile or OpenID Connect provider. */
export interface TagRecord {
  readonly key: string;
  readonly value: string;
}

/** Which kind of principal a policy is attached to or embedded in. */
export type PrincipalKind = "user" | "group" | "role";

/** A user, group or role named within an account. */
export interface PrincipalRef {
  readonly kind: PrincipalKind;
  readonly name: string;
}

/** An account: the unit of isolation and of revision counting. */
export interface AccountRecord {
  readonly accountId: string;
  readonly alias: string | null;
  readonly revision: number;
  readonly createdAtMs: number;
}

/** An IAM user. */
export interface UserRecord {
  readonly accountId: string;
  readonly userId: string;
  readonly userName: string;
  readonly path: string;
  readonly arn: string;
  readonly createdAtMs: number;
  readonly tags: readonly TagRecord[];
  readonly permissionsBoundaryArn: string | null;
  /** When the console password last signed in (epoch ms; null: never, or no password). */
  readonly passwordLastUsedMs: number | null;
}

/** An IAM group. */
export interface GroupRecord {
  readonly accountId: string;
  readonly groupId: string;
  readonly groupName: string;
  readonly path: string;
  readonly arn: string;
  readonly createdAtMs: number;
}

/** An IAM role. */
export interface RoleRecord {
  readonly accountId: string;
  readonly roleId: string;
  readonly roleName: string;
  readonly path: string;
  readonly arn: string;
  readonly createdAtMs: number;
  readonly assumeRolePolicyDocument: string;
  readonly description: string;
  readonly maxSessionDuration: number;
  readonly tags: readonly TagRecord[];
  readonly permissionsBoundaryArn: string | null;
}

/** A customer managed policy (the default version's document is in {@link PolicyVersionRecord}). */
export interface ManagedPolicyRecord {
  readonly accountId: string;
  readonly policyId: string;
  readonly policyName: string;
  readonly path: string;
  readonly arn: string;
  readonly description: string;
  readonly defaultVersionId: string;
  readonly attachmentCount: number;
  readonly permissionsBoundaryUsageCount: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** Its tags in the order they were added (an AWS managed policy has none). */
  readonly tags: readonly TagRecord[];
}

/** One version of a managed policy. */
export interface PolicyVersionRecord {
  readonly versionId: string;
  readonly document: string;
  readonly isDefault: boolean;
  readonly createdAtMs: number;
}

/** An inline policy embedded in a user, group or role. */
export interface InlinePolicyRecord {
  readonly principal: PrincipalRef;
  readonly policyName: string;
  readonly document: string;
}

/** A managed policy attached to a principal. */
export interface AttachedPolicyRecord {
  readonly policyArn: string;
  readonly policyName: string;
}

/** Access key status, as AWS spells it. */
export type AccessKeyStatus = "Active" | "Inactive";

/** An access key's metadata (never the secret). `userName` is null for the account root. */
export interface AccessKeyRecord {
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly userName: string | null;
  readonly userId: string | null;
  readonly status: AccessKeyStatus;
  readonly createdAtMs: number;
  readonly lastUsed: { readonly atMs: number; readonly service: string; readonly region: string } | null;
}

/** An access key with its decrypted secret: only for signature verification, never logged. */
export interface AccessKeyCredential extends AccessKeyRecord {
  readonly secretAccessKey: string;
  /** The caller's ARN: the user's, or the account root's. */
  readonly principalArn: string;
}

/** A freshly created access key: the only time the secret leaves the store by design. */
export interface NewAccessKey {
  readonly accessKey: AccessKeyRecord;
  /** The secret, returned by the creating call only: empty when a client request token replays it. */
  readonly secretAccessKey: string;
}

/** The result of a write: its value and the account's new revision (the consistency token). */
export interface Mutation<T> {
  readonly value: T;
  readonly accountId: string;
  readonly revision: number;
  /**
   * The history `revision` belongs to: `<system identifier>:<timeline>` of the Postgres server the
   * write committed on (read in the write's transaction), as the relay stamps on its events.
   */
  readonly epoch: string;
}

/** Marker-based pagination input. */
export interface PageInput {
  readonly marker?: string | undefined;
  /** 1..1000; defaults to 100. */
  readonly maxItems?: number | undefined;
  readonly pathPrefix?: string | undefined;
}

/** One page of a list. */
export interface Page<T> {
  readonly items: T[];
  readonly isTruncated: boolean;
  /** Pass back to get the next page; empty when not truncated. */
  readonly marker: string;
}

/** Idempotency for a write: retries with the same token and request return the first result. */
export interface RequestToken {
  readonly clientRequestToken?: string | undefined;
  /**
   * The caller the token belongs to (`user:<user id>`, `root`, `operator`): tokens are scoped to
   * their caller, so another principal's reuse neither replays nor blocks. Set by the service.
   */
  readonly callerId?: string | undefined;
}

/** A row of the outbox, as the relay sees it. */
export interface OutboxRow {
  readonly id: number;
  readonly eventId: string;
  readonly accountId: string;
  readonly revision: number;
  readonly entityKind: string;
  readonly entityId: string;
  /**
   * The entity's full new state, or `null` for a tombstone: JSON as stored, whose type per kind is
   * `@gatehouse/events`' (`decodeEntity` checks and types it).
   */
  readonly payload: unknown;
  readonly committedAtMs: number;
  /** This row's place among its revision's rows (0-based, in id order): ChangeEvent.revision_index. */
  readonly revisionIndex: number;
  /** How many rows its revision has, published or not: ChangeEvent.revision_events. */
  readonly revisionEvents: number;
  /** The W3C traceparent of the write that produced the row (migration 0031), when it was traced. */
  readonly traceContext?: string;
}

/** One entity in an account export. */
export interface ExportedEntity {
  readonly kind: string;
  readonly id: string;
  /** Its state document (typed and checked by `@gatehouse/events`' `decodeEntity`). */
  readonly state: unknown;
}

/** An account's full state at one revision. */
export interface AccountExport {
  readonly accountId: string;
  readonly revision: number;
  /** The history the snapshot was read under: `<system identifier>:<timeline>` of the Postgres server. */
  readonly epoch: string;
  readonly entities: ExportedEntity[];
}

/** An account's password policy, AWS's fields. `maxPasswordAge` and `passwordReusePrevention` 0 = off. */
export interface PasswordPolicyRecord {
  readonly minimumPasswordLength: number;
  readonly requireSymbols: boolean;
  readonly requireNumbers: boolean;
  readonly requireUppercaseCharacters: boolean;
  readonly requireLowercaseCharacters: boolean;
  readonly allowUsersToChangePassword: boolean;
  readonly maxPasswordAge: number;
  readonly passwordReusePrevention: number;
  readonly hardExpiry: boolean;
}

/** A user's console sign-in profile (never the password or its hash). */
export interface LoginProfileRecord {
  readonly userName: string;
  readonly createdAtMs: number;
  readonly passwordResetRequired: boolean;
}
