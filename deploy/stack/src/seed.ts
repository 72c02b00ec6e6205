import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Credentials } from "@gatehouse/auth";
import {
  AttachPolicyRequest,
  type ControlServiceClient,
  CreateAccessKeyRequest,
  CreateAccountRequest,
  CreateGroupRequest,
  CreateLoginProfileRequest,
  CreatePolicyRequest,
  CreateRoleRequest,
  CreateUserRequest,
  DeleteAccessKeyRequest,
  EntityType,
  GetGroupRequest,
  GetInlinePolicyRequest,
  GetLoginProfileRequest,
  GetPolicyRequest,
  GetRoleRequest,
  GetUserRequest,
  GroupMembershipRequest,
  ListAccessKeysRequest,
  ListAccountAliasesRequest,
  ListAccountsRequest,
  ListAttachedPoliciesRequest,
  ListGroupsForUserRequest,
  PutInlinePolicyRequest,
  PutPermissionsBoundaryRequest,
  type Revision,
  UpdateLoginProfileRequest,
} from "@gatehouse/proto";
import { z } from "zod";
import {
  DEMO_ADMIN,
  DEMO_ALIAS,
  DEMO_DEVELOPER,
  DEMO_GROUPS,
  DEMO_POLICIES,
  DEMO_ROLES,
  DEMO_USERS,
  type DemoInline,
} from "./demo-account.ts";
import { awsNameOf, controlClient, rpc } from "./grpc-clients.ts";
import {
  type ProfileSettings,
  readProfileCredentials,
  writeProfileConfig,
  writeProfileCredentials,
} from "./profile-files.ts";

/** Options of {@link seedDemoAccount}. */
export interface SeedOptions {
  /** `host:port` of the control plane. */
  readonly controlPlane: string;
  /** The control plane's region (the SigV4 scope it verifies). */
  readonly signingRegion: string;
  readonly operator: Credentials;
  /** Where the demo account's id and root key are kept (mode 600), so a later run can reach it. */
  readonly accountFile: string;
  readonly configDir: string;
  readonly profile: string;
  readonly profileSettings: ProfileSettings;
  readonly log: (line: string) => void;
}

/** What a seeding did. */
export interface SeedResult {
  readonly accountId: string;
  /** The account's revision once seeding is done: a region that applied it has the whole seed. */
  readonly revision: number;
  /** What was created (`user alice`, `access key AKIA…`); empty when everything existed. */
  readonly created: readonly string[];
  readonly adminArn: string;
  readonly developerArn: string;
  readonly accessKeyId: string;
  readonly credentialsPath: string;
  readonly configPath: string;
  /** The account's alias ("" when another account holds the demo alias). */
  readonly accountAlias: string;
  /** The demo admin's console password (kept in the account file, 0600, with the root's key). */
  readonly consolePassword: string;
}

const AccountFile = z.object({
  accountId: z.string().regex(/^\d{12}$/),
  rootAccessKeyId: z.string().min(16),
  rootSecretAccessKey: z.string().min(1),
  /** The demo admin's console password, once set. */
  adminConsolePassword: z.string().min(1).optional(),
});
type AccountFile = z.infer<typeof AccountFile>;

const isNoSuchEntity = (e: unknown): boolean => awsNameOf(e) === "NoSuchEntity";

/** Runs `get`; true when it found the entity, false on NoSuchEntity, rethrows anything else. */
async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (e) {
    if (isNoSuchEntity(e)) return false;
    throw e;
  }
}

function readAccountFile(path: string): AccountFile | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = AccountFile.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) throw new Error(`${path} is not a demo account file: ${parsed.error.message}`);
  return parsed.data;
}

function writeAccountFile(path: string, account: AccountFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(account, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The demo account's root credentials: the ones kept in `accountFile`, or a new account's. */
async function demoAccount(o: SeedOptions, created: string[]): Promise<AccountFile> {
  const kept = readAccountFile(o.accountFile);
  if (kept !== undefined) {
    const root = controlClient(
      o.controlPlane,
      { accessKeyId: kept.rootAccessKeyId, secretAccessKey: kept.rootSecretAccessKey },
      o.signingRegion,
    );
    try {
      await rpc(root.listAccessKeys.bind(root), ListAccessKeysRequest.fromPartial({}));
      return kept;
    } catch (e) {
      // The control plane's database no longer has the account (a new schema, a wiped data dir).
      if (awsNameOf(e) !== "InvalidClientTokenId") throw e;
      o.log(`seed: account ${kept.accountId} in ${o.accountFile} is unknown to the control plane; creating a new one`);
    } finally {
      root.close();
    }
  }
  const operator = controlClient(o.controlPlane, o.operator, o.signingRegion);
  try {
    const create = (alias: string) =>
      rpc(operator.createAccount.bind(operator), CreateAccountRequest.fromPartial({ accountAlias: alias }));
    // The alias is unique across accounts: an account left from a lost account file keeps it.
    const r = await create(DEMO_ALIAS).catch((e: unknown) => {
      if (awsNameOf(e) !== "EntityAlreadyExists") throw e;
      return create("");
    });
    const account = {
      accountId: r.accountId,
      rootAccessKeyId: r.rootAccessKeyId,
      rootSecretAccessKey: r.rootSecretAccessKey,
    };
    writeAccountFile(o.accountFile, account);
    created.push(`account ${r.accountId}`);
    return account;
  } finally {
    operator.close();
  }
}

/** The account's current revision, from the operator's ListAccounts. */
async function accountRevision(o: SeedOptions, accountId: string): Promise<number> {
  const operator = controlClient(o.controlPlane, o.operator, o.signingRegion);
  try {
    let marker = "";
    for (;;) {
      const page = await rpc(
        operator.listAccounts.bind(operator),
        ListAccountsRequest.fromPartial({ page: { marker, maxItems: 1000 } }),
      );
      const found = page.accounts.find((a: Revision) => a.accountId === accountId);
      if (found !== undefined) return found.revision;
      if (page.page?.isTruncated !== true) throw new Error(`ListAccounts does not list account ${accountId}`);
      marker = page.page.marker;
    }
  } finally {
    operator.close();
  }
}

/** Creates in one account what {@link DEMO_POLICIES}, groups, users and roles describe, if missing. */
async function seedEntities(c: ControlServiceClient, accountId: string, created: string[]): Promise<void> {
  const arnOf = (policy: string) => (policy.startsWith("arn:") ? policy : `arn:aws:iam::${accountId}:policy/${policy}`);
  for (const p of DEMO_POLICIES) {
    if (await exists(() => rpc(c.getPolicy.bind(c), GetPolicyRequest.fromPartial({ policyArn: arnOf(p.name) }))))
      continue;
    await rpc(
      c.createPolicy.bind(c),
      CreatePolicyRequest.fromPartial({ policyName: p.name, description: p.description, policyDocument: p.document }),
    );
    created.push(`policy ${p.name}`);
  }

  const attach = async (entityType: EntityType, entityName: string, policies: readonly string[]) => {
    const attached = await rpc(
      c.listAttachedPolicies.bind(c),
      ListAttachedPoliciesRequest.fromPartial({ entityType, entityName, page: { maxItems: 1000 } }),
    );
    const have = new Set(attached.attachedPolicies.map((a) => a.policyArn));
    for (const policy of policies) {
      if (have.has(arnOf(policy))) continue;
      await rpc(
        c.attachPolicy.bind(c),
        AttachPolicyRequest.fromPartial({ entityType, entityName, policyArn: arnOf(policy) }),
      );
      created.push(`attachment ${entityName} ← ${policy}`);
    }
  };
  const putInline = async (entityType: EntityType, entityName: string, inline: readonly DemoInline[]) => {
    for (const p of inline) {
      const get = GetInlinePolicyRequest.fromPartial({ entityType, entityName, policyName: p.name });
      if (await exists(() => rpc(c.getInlinePolicy.bind(c), get))) continue;
      await rpc(
        c.putInlinePolicy.bind(c),
        PutInlinePolicyRequest.fromPartial({ entityType, entityName, policyName: p.name, policyDocument: p.document }),
      );
      created.push(`inline policy ${entityName}/${p.name}`);
    }
  };

  for (const g of DEMO_GROUPS) {
    if (!(await exists(() => rpc(c.getGroup.bind(c), GetGroupRequest.fromPartial({ groupName: g.name }))))) {
      await rpc(c.createGroup.bind(c), CreateGroupRequest.fromPartial({ groupName: g.name }));
      created.push(`group ${g.name}`);
    }
    await attach(EntityType.ENTITY_TYPE_GROUP, g.name, g.managed);
    await putInline(EntityType.ENTITY_TYPE_GROUP, g.name, g.inline);
  }

  for (const u of DEMO_USERS) {
    const boundary = u.boundary === undefined ? "" : arnOf(u.boundary);
    let user = await rpc(c.getUser.bind(c), GetUserRequest.fromPartial({ userName: u.name })).catch((e: unknown) => {
      if (isNoSuchEntity(e)) return undefined;
      throw e;
    });
    if (user === undefined) {
      user = await rpc(
        c.createUser.bind(c),
        CreateUserRequest.fromPartial({ userName: u.name, permissionsBoundaryArn: boundary }),
      );
      created.push(`user ${u.name}`);
    } else if (boundary !== "" && user.user?.permissionsBoundaryArn !== boundary) {
      await rpc(
        c.putPermissionsBoundary.bind(c),
        PutPermissionsBoundaryRequest.fromPartial({
          entityType: EntityType.ENTITY_TYPE_USER,
          entityName: u.name,
          permissionsBoundaryArn: boundary,
        }),
      );
      created.push(`permissions boundary ${u.name} ← ${u.boundary}`);
    }
    const groups = await rpc(
      c.listGroupsForUser.bind(c),
      ListGroupsForUserRequest.fromPartial({ userName: u.name, page: { maxItems: 1000 } }),
    );
    const member = new Set(groups.groups.map((g) => g.groupName));
    for (const g of u.groups) {
      if (member.has(g)) continue;
      await rpc(c.addUserToGroup.bind(c), GroupMembershipRequest.fromPartial({ groupName: g, userName: u.name }));
      created.push(`membership ${g} ∋ ${u.name}`);
    }
    await putInline(EntityType.ENTITY_TYPE_USER, u.name, u.inline);
  }

  for (const r of DEMO_ROLES) {
    if (!(await exists(() => rpc(c.getRole.bind(c), GetRoleRequest.fromPartial({ roleName: r.name }))))) {
      await rpc(
        c.createRole.bind(c),
        CreateRoleRequest.fromPartial({
          roleName: r.name,
          description: r.description,
          assumeRolePolicyDocument: r.trust(accountId),
        }),
      );
      created.push(`role ${r.name}`);
    }
    await attach(EntityType.ENTITY_TYPE_ROLE, r.name, r.managed);
    await putInline(EntityType.ENTITY_TYPE_ROLE, r.name, r.inline);
  }
}

/**
 * The profile's access key: kept when the credentials file names a key the admin still has;
 * otherwise a new one (its secret is written once, to the credentials file, and never printed).
 * When the admin already holds the quota of two keys and neither is the profile's, the oldest is
 * deleted to make room: the demo account belongs to the stack.
 */
async function profileKey(
  c: ControlServiceClient,
  o: SeedOptions,
  created: string[],
): Promise<{ accessKeyId: string; credentialsPath: string }> {
  const keys = await rpc(c.listAccessKeys.bind(c), ListAccessKeysRequest.fromPartial({ userName: DEMO_ADMIN }));
  const current = readProfileCredentials(o.configDir, o.profile);
  const kept = keys.accessKeys.find((k) => k.accessKeyId === current?.accessKeyId && k.status === "Active");
  if (kept !== undefined && current !== undefined) {
    return { accessKeyId: kept.accessKeyId, credentialsPath: writeProfileCredentials(o.configDir, o.profile, current) };
  }
  if (keys.accessKeys.length >= 2) {
    const oldest = [...keys.accessKeys].sort((a, b) => a.createDateMs - b.createDateMs)[0];
    if (oldest !== undefined) {
      await rpc(
        c.deleteAccessKey.bind(c),
        DeleteAccessKeyRequest.fromPartial({ userName: DEMO_ADMIN, accessKeyId: oldest.accessKeyId }),
      );
      o.log(
        `seed: deleted ${DEMO_ADMIN}'s oldest access key ${oldest.accessKeyId} (at the quota of 2, not the profile's)`,
      );
    }
  }
  const r = await rpc(c.createAccessKey.bind(c), CreateAccessKeyRequest.fromPartial({ userName: DEMO_ADMIN }));
  const accessKeyId = r.accessKey?.accessKeyId ?? "";
  const credentialsPath = writeProfileCredentials(o.configDir, o.profile, {
    accessKeyId,
    secretAccessKey: r.secretAccessKey,
  });
  created.push(`access key ${accessKeyId}`);
  return { accessKeyId, credentialsPath };
}

/**
 * The demo admin's console password: the one in the account file while the admin's login profile
 * exists, else a new random one (upper, lower, digits and symbols: any password policy's classes),
 * set with CreateLoginProfile or UpdateLoginProfile and kept in the account file (0600).
 */
async function consolePassword(
  c: ControlServiceClient,
  o: SeedOptions,
  account: AccountFile,
  created: string[],
): Promise<string> {
  const hasProfile = await exists(() =>
    rpc(c.getLoginProfile.bind(c), GetLoginProfileRequest.fromPartial({ userName: DEMO_ADMIN })),
  );
  if (hasProfile && account.adminConsolePassword !== undefined) return account.adminConsolePassword;
  const password = `Gh-${randomBytes(12).toString("base64url")}-7a!`;
  if (hasProfile) {
    await rpc(
      c.updateLoginProfile.bind(c),
      UpdateLoginProfileRequest.fromPartial({ userName: DEMO_ADMIN, password, passwordResetRequired: false }),
    );
  } else {
    await rpc(c.createLoginProfile.bind(c), CreateLoginProfileRequest.fromPartial({ userName: DEMO_ADMIN, password }));
  }
  writeAccountFile(o.accountFile, { ...account, adminConsolePassword: password });
  created.push(`login profile ${DEMO_ADMIN}`);
  return password;
}

/**
 * Seeds the demo account through the control plane's public API, idempotently: a second run
 * against the same database creates nothing and keeps the profile's access key.
 */
export async function seedDemoAccount(o: SeedOptions): Promise<SeedResult> {
  const created: string[] = [];
  const account = await demoAccount(o, created);
  const root = controlClient(
    o.controlPlane,
    { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey },
    o.signingRegion,
  );
  try {
    await seedEntities(root, account.accountId, created);
    const key = await profileKey(root, o, created);
    const password = await consolePassword(root, o, account, created);
    const aliases = await rpc(root.listAccountAliases.bind(root), ListAccountAliasesRequest.fromPartial({}));
    const configPath = writeProfileConfig(o.configDir, o.profile, o.profileSettings);
    return {
      accountId: account.accountId,
      revision: await accountRevision(o, account.accountId),
      created,
      adminArn: `arn:aws:iam::${account.accountId}:user/${DEMO_ADMIN}`,
      developerArn: `arn:aws:iam::${account.accountId}:user/${DEMO_DEVELOPER}`,
      accessKeyId: key.accessKeyId,
      credentialsPath: key.credentialsPath,
      configPath,
      accountAlias: aliases.accountAliases[0] ?? "",
      consolePassword: password,
    };
  } finally {
    root.close();
  }
}
