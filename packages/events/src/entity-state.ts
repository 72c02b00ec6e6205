import { z } from "zod";

/**
 * The entity kinds a change event or an export carries (`ChangeEvent.key.kind`): a closed set.
 * A kind outside it is a producer this code does not know, and {@link decodeEntity} refuses it.
 */
export const EntityKind = Object.freeze({
  account: "account",
  user: "user",
  group: "group",
  role: "role",
  policy: "policy",
  accessKey: "access-key",
  loginProfile: "login-profile",
  mfaDevice: "mfa-device",
  instanceProfile: "instance-profile",
  oidcProvider: "oidc-provider",
  resourcePolicy: "resource-policy",
  stsKeySet: "sts-key-set",
} as const);

/** One of {@link EntityKind}'s values: `"user"`, `"access-key"`, … */
export type EntityKind = (typeof EntityKind)[keyof typeof EntityKind];

/** Every entity kind, in a fixed order (for exhaustive tests and listings). */
export const ENTITY_KINDS: readonly EntityKind[] = Object.freeze(Object.values(EntityKind));

// Every object below is strict: a field the producer adds without adding it here is an error at
// the consumer (and in the store's round-trip test), so the type and what travels never drift.
// Timestamps are integer milliseconds since the epoch (`gh_epoch_ms`, `Date.getTime()`).
const epochMs = z.int();
// Lists are readonly in the inferred types, as in the store's records: consumers read them only.
const list = <T extends z.ZodType>(item: T) => z.array(item).readonly();

/** A key/value tag (users, roles, managed policies, MFA devices, instance profiles, OpenID Connect providers). */
export const TagSchema = z.strictObject({ key: z.string(), value: z.string() });

/**
 * The tags of a kind that gained them later (managed policies and MFA devices, migration 0025 of
 * the store): events written before carry none, and still decode, with no tags.
 */
const laterTags = list(TagSchema).default([]);

/** A managed policy attached to a user, group or role: its id and ARN (`gh_policy_lists`). */
export const AttachedPolicyRefSchema = z.strictObject({ policyId: z.string(), policyArn: z.string() });

/** An inline policy embedded in a user, group or role, with its JSON document as written. */
export const InlinePolicySchema = z.strictObject({ policyName: z.string(), policyDocument: z.string() });

/** A user's state: its groups, attached policy ARNs and inline policies (`gh_user_state`). */
export const UserStateSchema = z.strictObject({
  accountId: z.string(),
  userId: z.string(),
  userName: z.string(),
  path: z.string(),
  arn: z.string(),
  createdAtMs: epochMs,
  tags: list(TagSchema),
  permissionsBoundaryArn: z.string().nullable(),
  groups: list(z.strictObject({ groupId: z.string(), groupName: z.string() })),
  attachedPolicies: list(AttachedPolicyRefSchema),
  inlinePolicies: list(InlinePolicySchema),
});

/** A group's state with its attached policy ARNs and inline policies (`gh_group_state`). */
export const GroupStateSchema = z.strictObject({
  accountId: z.string(),
  groupId: z.string(),
  groupName: z.string(),
  path: z.string(),
  arn: z.string(),
  createdAtMs: epochMs,
  attachedPolicies: list(AttachedPolicyRefSchema),
  inlinePolicies: list(InlinePolicySchema),
});

/** A role's state: trust policy, attached policy ARNs, inline policies (`gh_role_state`). */
export const RoleStateSchema = z.strictObject({
  accountId: z.string(),
  roleId: z.string(),
  roleName: z.string(),
  path: z.string(),
  arn: z.string(),
  createdAtMs: epochMs,
  assumeRolePolicyDocument: z.string(),
  description: z.string(),
  maxSessionDuration: z.int(),
  tags: list(TagSchema),
  permissionsBoundaryArn: z.string().nullable(),
  attachedPolicies: list(AttachedPolicyRefSchema),
  inlinePolicies: list(InlinePolicySchema),
});

/** One version of a managed policy. */
export const PolicyVersionStateSchema = z.strictObject({
  versionId: z.string(),
  document: z.string(),
  isDefault: z.boolean(),
  createdAtMs: epochMs,
});

/**
 * A managed policy (customer or AWS managed, whose `accountId` is `"aws"`) with every version
 * (`gh_policy_state`). Attachment counts change with every attach, so they do not travel.
 */
export const PolicyStateSchema = z.strictObject({
  accountId: z.string(),
  policyId: z.string(),
  policyName: z.string(),
  path: z.string(),
  arn: z.string(),
  description: z.string(),
  defaultVersionId: z.string(),
  createdAtMs: epochMs,
  updatedAtMs: epochMs,
  tags: laterTags,
  versions: list(PolicyVersionStateSchema),
});

/**
 * An access key: metadata and the secret sealed by the secret box (base64 of its sealed form,
 * AAD = the access key id), never the clear text. `userId`/`userName` are null for the root's keys.
 * Change events always carry `secretCiphertext`; an account export leaves it out unless the
 * operator asked for sealed secrets.
 */
export const AccessKeyStateSchema = z.strictObject({
  accessKeyId: z.string(),
  accountId: z.string(),
  userId: z.string().nullable(),
  userName: z.string().nullable(),
  principalArn: z.string(),
  status: z.enum(["Active", "Inactive"]),
  createdAtMs: epochMs,
  secretCiphertext: z.base64().optional(),
});

/** An account's password policy, AWS's fields (`maxPasswordAge`, `passwordReusePrevention` 0 = off). */
export const PasswordPolicyStateSchema = z.strictObject({
  minimumPasswordLength: z.int(),
  requireSymbols: z.boolean(),
  requireNumbers: z.boolean(),
  requireUppercaseCharacters: z.boolean(),
  requireLowercaseCharacters: z.boolean(),
  allowUsersToChangePassword: z.boolean(),
  maxPasswordAge: z.int(),
  passwordReusePrevention: z.int(),
  hardExpiry: z.boolean(),
});

/** An operator-attached guardrail (an SCP-like policy applied to every caller of the account). */
export const GuardrailStateSchema = z.strictObject({ policyArn: z.string(), document: z.string() });

/** The account itself: alias, password policy (null = AWS's defaults) and guardrails. */
export const AccountStateSchema = z.strictObject({
  accountId: z.string(),
  alias: z.string().nullable(),
  createdAtMs: epochMs,
  passwordPolicy: PasswordPolicyStateSchema.nullable(),
  guardrails: list(GuardrailStateSchema),
});

/** A user's login profile (entity id = user id): never the password hash. */
export const LoginProfileStateSchema = z.strictObject({
  accountId: z.string(),
  userId: z.string(),
  userName: z.string(),
  passwordResetRequired: z.boolean(),
  passwordChangedAtMs: epochMs,
  createdAtMs: epochMs,
});

/** A virtual MFA device (entity id = serial number), without its seed; user fields null when unassigned. */
export const MfaDeviceStateSchema = z.strictObject({
  serialNumber: z.string(),
  accountId: z.string(),
  path: z.string(),
  deviceName: z.string(),
  userId: z.string().nullable(),
  userName: z.string().nullable(),
  enabledAtMs: epochMs.nullable(),
  tags: laterTags,
  createdAtMs: epochMs,
  /**
   * The TOTP seed sealed by the secret box (base64, AAD = the serial number), so a region checks
   * GetSessionToken's MFA codes itself; absent in events written before regions served STS.
   */
  seedCiphertext: z.base64().optional(),
});

/** An instance profile with the role it holds (AWS's `Roles` list: zero or one entry). */
export const InstanceProfileStateSchema = z.strictObject({
  instanceProfileId: z.string(),
  accountId: z.string(),
  instanceProfileName: z.string(),
  path: z.string(),
  arn: z.string(),
  tags: list(TagSchema),
  createdAtMs: epochMs,
  roles: list(z.strictObject({ roleId: z.string(), roleName: z.string(), arn: z.string() })),
});

/**
 * An OpenID Connect provider (entity id = its ARN): issuer (without `https://`), audiences,
 * thumbprints and the JWKS document (as sent, or null) regions verify web-identity tokens with.
 */
export const OidcProviderStateSchema = z.strictObject({
  arn: z.string(),
  accountId: z.string(),
  url: z.string(),
  clientIds: list(z.string()),
  thumbprints: list(z.string()),
  jwks: z.string().nullable(),
  tags: list(TagSchema),
  createdAtMs: epochMs,
});

/**
 * A resource policy (entity id = the resource ARN, as stored): the policy a service keeps on one
 * of the account's resources (bucket, queue, key), which a region evaluates for requests on that
 * ARN. `accountId` is its owner, also for an ARN with no account component (`arn:aws:s3:::b`).
 */
export const ResourcePolicyStateSchema = z.strictObject({
  resourceArn: z.string(),
  accountId: z.string(),
  policyDocument: z.string(),
  createdAtMs: epochMs,
  updatedAtMs: epochMs,
});

/**
 * The regions' STS key set: a global record, not an account's. It travels on the change topic
 * under the reserved system account `000000000000` (no account gets that id), entity id `sts`.
 * Each key is sealed by the secret box (base64, AAD = `sts-key:<keyId>`), never in clear. The
 * newest key whose `activatesAtMs` has passed seals new session tokens; every key listed opens
 * them (a rotated-out key stays listed until the longest session it sealed has expired).
 */
export const StsKeySetStateSchema = z.strictObject({
  keys: list(
    z.strictObject({
      keyId: z.string().regex(/^[0-9a-f]{16}$/),
      sealedKey: z.base64(),
      createdAtMs: epochMs,
      activatesAtMs: epochMs,
      retiredAtMs: epochMs.nullable(),
    }),
  ),
});

/** The reserved account id whose stream carries global records (the STS key set). */
export const SYSTEM_ACCOUNT_ID = "000000000000";
/** The entity id of the STS key set under {@link SYSTEM_ACCOUNT_ID}. */
export const STS_KEY_SET_ID = "sts";

/** A tag as it travels. */
export type TagState = z.infer<typeof TagSchema>;
/** An attached managed policy as it travels in a principal's state. */
export type AttachedPolicyRef = z.infer<typeof AttachedPolicyRefSchema>;
/** An inline policy as it travels in a principal's state. */
export type InlinePolicyState = z.infer<typeof InlinePolicySchema>;
/** See {@link UserStateSchema}. */
export type UserState = z.infer<typeof UserStateSchema>;
/** See {@link GroupStateSchema}. */
export type GroupState = z.infer<typeof GroupStateSchema>;
/** See {@link RoleStateSchema}. */
export type RoleState = z.infer<typeof RoleStateSchema>;
/** See {@link PolicyVersionStateSchema}. */
export type PolicyVersionState = z.infer<typeof PolicyVersionStateSchema>;
/** See {@link PolicyStateSchema}. */
export type PolicyState = z.infer<typeof PolicyStateSchema>;
/** See {@link AccessKeyStateSchema}. */
export type AccessKeyState = z.infer<typeof AccessKeyStateSchema>;
/** See {@link PasswordPolicyStateSchema}. */
export type PasswordPolicyState = z.infer<typeof PasswordPolicyStateSchema>;
/** See {@link GuardrailStateSchema}. */
export type GuardrailState = z.infer<typeof GuardrailStateSchema>;
/** See {@link AccountStateSchema}. */
export type AccountState = z.infer<typeof AccountStateSchema>;
/** See {@link LoginProfileStateSchema}. */
export type LoginProfileState = z.infer<typeof LoginProfileStateSchema>;
/** See {@link MfaDeviceStateSchema}. */
export type MfaDeviceState = z.infer<typeof MfaDeviceStateSchema>;
/** See {@link InstanceProfileStateSchema}. */
export type InstanceProfileState = z.infer<typeof InstanceProfileStateSchema>;
/** See {@link OidcProviderStateSchema}. */
export type OidcProviderState = z.infer<typeof OidcProviderStateSchema>;
/** See {@link ResourcePolicyStateSchema}. */
export type ResourcePolicyState = z.infer<typeof ResourcePolicyStateSchema>;
/** See {@link StsKeySetStateSchema}. */
export type StsKeySetState = z.infer<typeof StsKeySetStateSchema>;

/** The state document of each entity kind. */
export interface EntityStates {
  account: AccountState;
  user: UserState;
  group: GroupState;
  role: RoleState;
  policy: PolicyState;
  "access-key": AccessKeyState;
  "login-profile": LoginProfileState;
  "mfa-device": MfaDeviceState;
  "instance-profile": InstanceProfileState;
  "oidc-provider": OidcProviderState;
  "resource-policy": ResourcePolicyState;
  "sts-key-set": StsKeySetState;
}

/** The state document of entity kind `K`. */
export type EntityStateOf<K extends EntityKind> = EntityStates[K];

/**
 * One entity at a revision, discriminated by `kind`: `state` is that kind's document, or `null`
 * for a tombstone (the entity left the account's state).
 * @example
 * if (entity.kind === "access-key" && entity.state?.secretCiphertext !== undefined) {
 *   const secret = box.open(Buffer.from(entity.state.secretCiphertext, "base64"), entity.id);
 * }
 */
export type TypedEntity = {
  [K in EntityKind]: { readonly kind: K; readonly id: string; readonly state: EntityStates[K] | null };
}[EntityKind];
