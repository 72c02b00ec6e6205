import { AsyncLocalStorage } from "node:async_hooks";
import { IamError, iamArn } from "@gatehouse/core";
import { CHANGE_EVENT_SCHEMA_VERSION, changeEvent, encodeAccountSnapshot } from "@gatehouse/events";
import type { PolicyKind } from "@gatehouse/policy";
import { type ControlServiceServer, EntityType, type GroupMembershipRequest, type PageRequest } from "@gatehouse/proto";
import type { IamStore, PrincipalKind, PrincipalRef, TaggableKind } from "@gatehouse/store-postgres";
import type { handleUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Authenticator } from "./authenticator.ts";
import type { Authorizer } from "./authorizer.ts";
import type { Caller } from "./caller.ts";
import { type CallInfo, unary } from "./grpc-handler.ts";
import { toWire } from "./mappers.ts";
import {
  checkIamArn,
  createTargets,
  type PrincipalTarget,
  type RequestContext,
  requestTags,
  type Target,
} from "./targets.ts";
import {
  checkAccountAlias,
  checkClientId,
  checkClientIds,
  checkJwks,
  checkMaxSessionDuration,
  checkName,
  checkOidcUrl,
  checkPasswordInput,
  checkPath,
  checkPolicyDocument,
  checkSetting,
  checkTagKeys,
  checkTags,
  checkText,
  checkThumbprints,
} from "./validation.ts";

/** Options of {@link createControlService}. */
export interface ControlServiceOptions {
  store: IamStore;
  authenticator: Authenticator;
  authorizer: Authorizer;
  logger: Logger;
  partition: string;
}

type Handlers = { [K in keyof ControlServiceServer]: ControlServiceServer[K] };
type Req<K extends keyof Handlers> = Handlers[K] extends handleUnaryCall<infer R, infer _S> ? R : never;
type Res<K extends keyof Handlers> = Handlers[K] extends handleUnaryCall<infer _R, infer S> ? S : never;

/** What a call is authorized on: a resource ARN, or a looked-up entity with its condition keys. */
type AuthzTarget = string | { readonly arn: string; readonly context?: RequestContext };

/** What every handler gets: the authenticated caller and a lazy authorization check. */
interface Ctx {
  readonly caller: Caller;
  /** The caller's account (the operator has none and is refused here). */
  readonly accountId: string;
  /** The caller's IP address (`aws:SourceIp`), when the transport has one. */
  readonly sourceIp: string | undefined;
  /**
   * Authorizes `iam:<action>` on a target; the target (its canonical ARN and condition keys) is
   * resolved only when evaluation is needed (root is allowed everything in its own account unless
   * the account has guardrails, so its calls usually skip the lookups). `aws:SourceIp` is added.
   */
  authorize(action: string, target: () => Promise<AuthzTarget> | AuthzTarget): Promise<void>;
}

const PRINCIPAL_KIND: Record<number, PrincipalKind> = {
  [EntityType.ENTITY_TYPE_USER]: "user",
  [EntityType.ENTITY_TYPE_GROUP]: "group",
  [EntityType.ENTITY_TYPE_ROLE]: "role",
};
/** The service a role put in an instance profile is passed to (`iam:PassedToService`), as in AWS. */
const INSTANCE_PROFILE_SERVICE = "ec2.amazonaws.com";
const KIND_WORD: Record<PrincipalKind, string> = { user: "User", group: "Group", role: "Role" };
const NAME_MAX: Record<PrincipalKind, number> = { user: 64, group: 128, role: 64 };

/** One taggable kind as the Tag*, Untag* and List*Tags handlers see it. */
interface Taggable {
  readonly kind: TaggableKind;
  /** The noun of its operations and IAM actions. */
  readonly word: string;
  /** Whether its tag keys compare case-insensitively (users and roles, as in AWS). */
  readonly keysIgnoreCase: boolean;
  readonly rpc: {
    readonly tag: "tagUser" | "tagRole" | "tagInstanceProfile" | "tagOpenIdConnectProvider";
    readonly untag: "untagUser" | "untagRole" | "untagInstanceProfile" | "untagOpenIdConnectProvider";
    readonly list: "listUserTags" | "listRoleTags" | "listInstanceProfileTags" | "listOpenIdConnectProviderTags";
  };
  /** Validates `entityName`: a name, or for an OIDC provider its ARN. */
  entity(entityName: string): string;
  /** The entity the call is authorized on (its stored ARN and tags). */
  arn(accountId: string, name: string): Promise<Target>;
}

function principalOf(entityType: number, entityName: string): PrincipalRef {
  const kind = PRINCIPAL_KIND[entityType];
  if (kind === undefined) {
    throw new IamError("ValidationError", `entityType ${entityType} must be USER, GROUP or ROLE`, {
      field: "entityType",
    });
  }
  return { kind, name: checkName(entityName, "entityName", NAME_MAX[kind]) };
}

function page(p: PageRequest | undefined, pathPrefix: string) {
  return {
    marker: p?.marker,
    maxItems: p?.maxItems,
    pathPrefix: pathPrefix === "" ? "/" : checkPath(pathPrefix, "pathPrefix"),
  };
}

/**
 * The caller of the handler running now, for {@link token}. Handlers pass tokens to the store in
 * some fifty places; carrying the caller this way keeps each of them a plain `token(r.…)`.
 */
const callerScope = new AsyncLocalStorage<Caller>();

/** Who owns a client request token: the principal, not its access key (a rotated key keeps them). */
function callerIdOf(caller: Caller): string {
  return caller.kind === "user" ? `user:${caller.userId}` : caller.kind;
}

/** A request's client request token, scoped to the calling principal (tokens never cross callers). */
function token(t: string): { clientRequestToken: string | undefined; callerId: string | undefined } {
  const caller = callerScope.getStore();
  return { clientRequestToken: t === "" ? undefined : t, callerId: caller && callerIdOf(caller) };
}

/**
 * The ControlService handlers: authenticate (SigV4), authorize (`iam:<Operation>` on the target
 * ARN), validate with AWS's rules, call the store, map to the wire. Every mutating response carries
 * the account's new revision.
 */
export function createControlService(options: ControlServiceOptions): UntypedServiceImplementation {
  const { store, authenticator, authorizer, logger, partition } = options;
  const log = logger.child({ component: "control-service" });
  const targets = createTargets(store, partition);
  const sourceIpContext = (info: CallInfo): RequestContext =>
    info.sourceIp === undefined ? {} : { "aws:SourceIp": info.sourceIp };

  const context = async (info: CallInfo, operation: string): Promise<Ctx> => {
    const caller = await authenticator.authenticate(
      { method: info.method, authority: info.authority, body: info.raw },
      info.metadata,
    );
    if (caller.kind === "operator") {
      throw new IamError(
        "AccessDenied",
        `the operator credential cannot call ${operation}; use an account's credentials`,
      );
    }
    const accountId = caller.accountId;
    return {
      caller,
      accountId,
      sourceIp: info.sourceIp,
      async authorize(action, target) {
        if (caller.kind === "root" && !(await authorizer.hasGuardrails(accountId))) return;
        const t = await target();
        const resource = typeof t === "string" ? t : t.arn;
        const context = { ...(typeof t === "string" ? {} : t.context), ...sourceIpContext(info) };
        await authorizer.authorize(caller, { action: `iam:${action}`, resource, accountId, context });
      },
    };
  };

  function handler<K extends keyof Handlers>(
    name: K,
    operation: string,
    fn: (request: Req<K>, ctx: Ctx) => Promise<Res<K>>,
  ): [K, unknown] {
    return [
      name,
      unary<Req<K>, Res<K>>(operation, log, async (request, info) => {
        const ctx = await context(info, operation);
        return callerScope.run(ctx.caller, () => fn(request, ctx));
      }),
    ];
  }

  /** A handler only the operator credential may call (account administration from outside). */
  function operatorHandler<K extends keyof Handlers>(
    name: K,
    operation: string,
    fn: (request: Req<K>) => Promise<Res<K>>,
  ): [K, unknown] {
    return [
      name,
      unary<Req<K>, Res<K>>(operation, log, async (request, info) => {
        const caller = await authenticator.authenticate(
          { method: info.method, authority: info.authority, body: info.raw },
          info.metadata,
        );
        if (caller.kind !== "operator") {
          throw new IamError("AccessDenied", `${caller.arn} is not authorized to perform ${operation} (operator only)`);
        }
        return callerScope.run(caller, () => fn(request));
      }),
    ];
  }

  const checkAccountId = (accountId: string): string => {
    if (!/^\d{12}$/.test(accountId)) {
      throw new IamError("ValidationError", `accountId ${JSON.stringify(accountId)} must be 12 digits`, {
        field: "accountId",
      });
    }
    return accountId;
  };

  const arnOf = (accountId: string, type: string, path: string, name: string) =>
    iamArn(accountId, type, path, name, partition);

  /** An OIDC provider ARN of this partition with an empty region (not checked for existence here). */
  const checkOidcArn = (arn: string, field = "openIdConnectProviderArn"): string =>
    checkIamArn(arn, "oidc-provider", partition, field);

  /** A managed policy ARN of this partition with an empty region (not checked for existence here). */
  const checkPolicyArn = (arn: string, field = "policyArn"): string => checkIamArn(arn, "policy", partition, field);

  /** `iam:PermissionsBoundary` of a user or role that has one (AWS sets it on operations changing its permissions). */
  const boundaryKey = (t: PrincipalTarget): RequestContext =>
    t.permissionsBoundaryArn === null ? {} : { "iam:PermissionsBoundary": t.permissionsBoundaryArn };

  /**
   * Authorizes a create call: `iam:<action>` on the new entity's ARN with `aws:RequestTag/…`,
   * `aws:TagKeys` and the `extra` keys, and, as AWS does when the call carries tags, the dependent
   * `iam:Tag<word>` with the same keys.
   */
  const authorizeCreate = async (
    ctx: Ctx,
    action: string,
    word: string,
    arn: string,
    tags: readonly { key: string; value: string }[],
    extra: () => Promise<RequestContext> | RequestContext = () => ({}),
  ): Promise<void> => {
    let context: RequestContext | undefined;
    const target = async () => {
      context ??= { ...(tags.length === 0 ? {} : requestTags(tags)), ...(await extra()) };
      return { arn, context };
    };
    await ctx.authorize(action, target);
    if (tags.length > 0) await ctx.authorize(`Tag${word}`, target);
  };

  /** A boundary ARN from a create call, checked, and its canonical ARN for `iam:PermissionsBoundary`. */
  const boundaryOnCreate = (ctx: Ctx, sent: string) => {
    const arn = sent === "" ? undefined : checkPolicyArn(sent, "permissionsBoundaryArn");
    return {
      arn,
      context: async (): Promise<RequestContext> =>
        arn === undefined
          ? {}
          : { "iam:PermissionsBoundary": (await targets.policy(ctx.accountId, arn, "permissionsBoundaryArn")).arn },
    };
  };

  /**
   * The taggable kinds: their RPCs, the noun of their IAM actions (`iam:Tag${word}`,
   * `iam:Untag${word}`, `iam:List${word}Tags`), how `entityName` names one, and its ARN.
   */
  const taggables: readonly Taggable[] = [
    {
      kind: "user",
      word: "User",
      keysIgnoreCase: true,
      rpc: { tag: "tagUser", untag: "untagUser", list: "listUserTags" },
      entity: (v) => checkName(v, "entityName", NAME_MAX.user),
      arn: (accountId, name) => targets.principal(accountId, "user", name),
    },
    {
      kind: "role",
      word: "Role",
      keysIgnoreCase: true,
      rpc: { tag: "tagRole", untag: "untagRole", list: "listRoleTags" },
      entity: (v) => checkName(v, "entityName", NAME_MAX.role),
      arn: (accountId, name) => targets.principal(accountId, "role", name),
    },
    {
      kind: "instance-profile",
      word: "InstanceProfile",
      keysIgnoreCase: false,
      rpc: { tag: "tagInstanceProfile", untag: "untagInstanceProfile", list: "listInstanceProfileTags" },
      entity: (v) => checkName(v, "entityName", 128),
      arn: (accountId, name) => targets.instanceProfile(accountId, name),
    },
    {
      kind: "oidc-provider",
      word: "OpenIDConnectProvider",
      keysIgnoreCase: false,
      rpc: {
        tag: "tagOpenIdConnectProvider",
        untag: "untagOpenIdConnectProvider",
        list: "listOpenIdConnectProviderTags",
      },
      entity: (v) => checkOidcArn(v, "entityName"),
      arn: (accountId, arn) => targets.oidcProvider(accountId, arn, "entityName"),
    },
  ];

  /** The user a self-service call is about: the named one, or the calling user. */
  const subjectUser = (ctx: Ctx, userName: string): string => {
    if (userName !== "") return checkName(userName, "userName", 64);
    if (ctx.caller.kind === "user") return ctx.caller.userName;
    throw new IamError("ValidationError", "userName is required when calling with root credentials", {
      field: "userName",
    });
  };

  /**
   * Whose access keys a call is about: the named user, the calling user, or (`null`) the account
   * root's own keys when root credentials name no user. Only the root reaches its own keys, as in AWS.
   */
  const keyOwner = (ctx: Ctx, userName: string): string | null =>
    userName === "" && ctx.caller.kind === "root" ? null : subjectUser(ctx, userName);

  /** The ARN access-key calls are authorized on: the user's, or the account root's. */
  const keyOwnerArn = (ctx: Ctx, userName: string | null): Promise<AuthzTarget> | AuthzTarget =>
    userName === null
      ? `arn:${partition}:iam::${ctx.accountId}:root`
      : targets.principal(ctx.accountId, "user", userName);

  const entries: [string, unknown][] = [
    [
      "createAccount",
      unary<Req<"createAccount">, Res<"createAccount">>("CreateAccount", log, async (request, info) => {
        const caller = await authenticator.authenticate(
          { method: info.method, authority: info.authority, body: info.raw },
          info.metadata,
        );
        if (caller.kind !== "operator") {
          throw new IamError(
            "AccessDenied",
            `${caller.arn} is not authorized to perform CreateAccount (operator only)`,
          );
        }
        const created = await store.createAccount({
          alias: request.accountAlias === "" ? undefined : request.accountAlias,
          ...token(request.clientRequestToken),
        });
        const v = created.value;
        return {
          accountId: v.account.accountId,
          rootArn: v.rootArn,
          rootAccessKeyId: v.rootAccessKey.accessKey.accessKeyId,
          rootSecretAccessKey: v.rootAccessKey.secretAccessKey,
          revision: toWire.revision(created),
        };
      }),
    ],

    // ---- users ----
    handler("createUser", "CreateUser", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const path = checkPath(r.path);
      const tags = checkTags(r.tags);
      const boundary = boundaryOnCreate(ctx, r.permissionsBoundaryArn);
      await authorizeCreate(
        ctx,
        "CreateUser",
        "User",
        arnOf(ctx.accountId, "user", path, userName),
        tags,
        boundary.context,
      );
      const m = await store.createUser(ctx.accountId, {
        userName,
        path,
        tags,
        permissionsBoundaryArn: boundary.arn,
        ...token(r.clientRequestToken),
      });
      return { user: toWire.user(m.value), revision: toWire.revision(m) };
    }),
    handler("getUser", "GetUser", async (r, ctx) => {
      if (r.userName === "" && ctx.caller.kind === "root") {
        // As AWS: the root asking about itself gets the root user (its id is the account id).
        const rootArn = `arn:${partition}:iam::${ctx.accountId}:root`;
        await ctx.authorize("GetUser", () => rootArn);
        const account = await store.getAccount(ctx.accountId);
        return {
          user: {
            userName: "",
            userId: ctx.accountId,
            arn: rootArn,
            path: "/",
            createDateMs: account.createdAtMs,
            tags: [],
            permissionsBoundaryArn: "",
          },
          revision: undefined,
        };
      }
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("GetUser", () => targets.principal(ctx.accountId, "user", userName));
      return { user: toWire.user(await store.getUser(ctx.accountId, userName)), revision: undefined };
    }),
    handler("listUsers", "ListUsers", async (r, ctx) => {
      const p = page(r.page, r.pathPrefix);
      await ctx.authorize("ListUsers", () => arnOf(ctx.accountId, "user", p.pathPrefix, ""));
      const result = await store.listUsers(ctx.accountId, p);
      return { users: result.items.map(toWire.user), page: toWire.page(result) };
    }),
    handler("deleteUser", "DeleteUser", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      await ctx.authorize("DeleteUser", () => targets.principal(ctx.accountId, "user", userName));
      return {
        revision: toWire.revision(await store.deleteUser(ctx.accountId, userName, token(r.clientRequestToken))),
      };
    }),

    // ---- groups ----
    handler("createGroup", "CreateGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      const path = checkPath(r.path);
      await ctx.authorize("CreateGroup", () => arnOf(ctx.accountId, "group", path, groupName));
      const m = await store.createGroup(ctx.accountId, { groupName, path, ...token(r.clientRequestToken) });
      return { group: toWire.group(m.value), revision: toWire.revision(m) };
    }),
    handler("getGroup", "GetGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      await ctx.authorize("GetGroup", () => targets.principal(ctx.accountId, "group", groupName));
      const group = await store.getGroup(ctx.accountId, groupName);
      const users = await store.listUsersInGroup(ctx.accountId, groupName);
      return { group: toWire.group(group), users: users.map(toWire.user) };
    }),
    handler("listGroups", "ListGroups", async (r, ctx) => {
      const p = page(r.page, r.pathPrefix);
      await ctx.authorize("ListGroups", () => arnOf(ctx.accountId, "group", p.pathPrefix, ""));
      const result = await store.listGroups(ctx.accountId, p);
      return { groups: result.items.map(toWire.group), page: toWire.page(result) };
    }),
    handler("listGroupsForUser", "ListGroupsForUser", async (r, ctx) => {
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("ListGroupsForUser", () => targets.principal(ctx.accountId, "user", userName));
      const result = await store.listGroupsForUser(ctx.accountId, userName, {
        marker: r.page?.marker,
        maxItems: r.page?.maxItems,
      });
      return { groups: result.items.map(toWire.group), page: toWire.page(result) };
    }),
    handler("deleteGroup", "DeleteGroup", async (r, ctx) => {
      const groupName = checkName(r.groupName, "groupName", 128);
      await ctx.authorize("DeleteGroup", () => targets.principal(ctx.accountId, "group", groupName));
      return {
        revision: toWire.revision(await store.deleteGroup(ctx.accountId, groupName, token(r.clientRequestToken))),
      };
    }),
    ...(["addUserToGroup", "removeUserFromGroup"] as const).map((name) =>
      handler(
        name,
        name === "addUserToGroup" ? "AddUserToGroup" : "RemoveUserFromGroup",
        async (r: GroupMembershipRequest, ctx) => {
          const groupName = checkName(r.groupName, "groupName", 128);
          const userName = checkName(r.userName, "userName", 64);
          const action = name === "addUserToGroup" ? "AddUserToGroup" : "RemoveUserFromGroup";
          await ctx.authorize(action, () => targets.principal(ctx.accountId, "group", groupName));
          const m =
            name === "addUserToGroup"
              ? await store.addUserToGroup(ctx.accountId, groupName, userName, token(r.clientRequestToken))
              : await store.removeUserFromGroup(ctx.accountId, groupName, userName, token(r.clientRequestToken));
          return { revision: toWire.revision(m) };
        },
      ),
    ),

    // ---- roles ----
    handler("createRole", "CreateRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      const path = checkPath(r.path);
      const trust = checkPolicyDocument(r.assumeRolePolicyDocument, "trust", "assumeRolePolicyDocument");
      const maxSessionDuration = checkMaxSessionDuration(r.maxSessionDuration);
      const description = checkText(r.description, "description", 1000);
      const tags = checkTags(r.tags);
      const boundary = boundaryOnCreate(ctx, r.permissionsBoundaryArn);
      await authorizeCreate(
        ctx,
        "CreateRole",
        "Role",
        arnOf(ctx.accountId, "role", path, roleName),
        tags,
        boundary.context,
      );
      const m = await store.createRole(ctx.accountId, {
        roleName,
        path,
        assumeRolePolicyDocument: trust,
        description,
        maxSessionDuration,
        tags,
        permissionsBoundaryArn: boundary.arn,
        ...token(r.clientRequestToken),
      });
      return { role: toWire.role(m.value), revision: toWire.revision(m) };
    }),
    handler("getRole", "GetRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize("GetRole", () => targets.principal(ctx.accountId, "role", roleName));
      return { role: toWire.role(await store.getRole(ctx.accountId, roleName)), revision: undefined };
    }),
    handler("listRoles", "ListRoles", async (r, ctx) => {
      const p = page(r.page, r.pathPrefix);
      await ctx.authorize("ListRoles", () => arnOf(ctx.accountId, "role", p.pathPrefix, ""));
      const result = await store.listRoles(ctx.accountId, p);
      return { roles: result.items.map(toWire.role), page: toWire.page(result) };
    }),
    handler("deleteRole", "DeleteRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize("DeleteRole", () => targets.principal(ctx.accountId, "role", roleName));
      return {
        revision: toWire.revision(await store.deleteRole(ctx.accountId, roleName, token(r.clientRequestToken))),
      };
    }),

    // ---- managed policies ----
    handler("createPolicy", "CreatePolicy", async (r, ctx) => {
      const policyName = checkName(r.policyName, "policyName", 128);
      const path = checkPath(r.path);
      const policyDocument = checkPolicyDocument(r.policyDocument, "managed", "policyDocument");
      const description = checkText(r.description, "description", 1000);
      await ctx.authorize("CreatePolicy", () => arnOf(ctx.accountId, "policy", path, policyName));
      const m = await store.createPolicy(ctx.accountId, {
        policyName,
        path,
        policyDocument,
        description,
        ...token(r.clientRequestToken),
      });
      return { policy: toWire.policy(m.value), revision: toWire.revision(m) };
    }),
    handler("getPolicy", "GetPolicy", async (r, ctx) => {
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("GetPolicy", () => targets.policy(ctx.accountId, policyArn));
      return { policy: toWire.policy(await store.getPolicy(ctx.accountId, policyArn)), revision: undefined };
    }),
    handler("listPolicies", "ListPolicies", async (r, ctx) => {
      const p = page(r.page, r.pathPrefix);
      await ctx.authorize("ListPolicies", () => arnOf(ctx.accountId, "policy", p.pathPrefix, ""));
      const scope = r.scope === "" ? "All" : r.scope;
      if (scope !== "All" && scope !== "AWS" && scope !== "Local") {
        throw new IamError("ValidationError", `scope ${JSON.stringify(r.scope)} must be All, AWS or Local`, {
          field: "scope",
        });
      }
      const result = await store.listPolicies(ctx.accountId, { ...p, onlyAttached: r.onlyAttached, scope });
      return { policies: result.items.map(toWire.policy), page: toWire.page(result) };
    }),
    handler("createPolicyVersion", "CreatePolicyVersion", async (r, ctx) => {
      const policyDocument = checkPolicyDocument(r.policyDocument, "managed", "policyDocument");
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("CreatePolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      const m = await store.createPolicyVersion(ctx.accountId, policyArn, {
        policyDocument,
        setAsDefault: r.setAsDefault,
        ...token(r.clientRequestToken),
      });
      return { versionId: m.value.versionId, isDefaultVersion: m.value.isDefault, revision: toWire.revision(m) };
    }),
    handler("getPolicyVersion", "GetPolicyVersion", async (r, ctx) => {
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("GetPolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      return {
        policyVersion: toWire.policyVersion(await store.getPolicyVersion(ctx.accountId, policyArn, r.versionId)),
      };
    }),
    handler("listPolicyVersions", "ListPolicyVersions", async (r, ctx) => {
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("ListPolicyVersions", () => targets.policy(ctx.accountId, policyArn));
      const result = await store.listPolicyVersions(ctx.accountId, policyArn, {
        marker: r.page?.marker,
        maxItems: r.page?.maxItems,
      });
      return { versions: result.items.map(toWire.policyVersion), page: toWire.page(result) };
    }),
    handler("setDefaultPolicyVersion", "SetDefaultPolicyVersion", async (r, ctx) => {
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("SetDefaultPolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      const m = await store.setDefaultPolicyVersion(ctx.accountId, policyArn, r.versionId, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    handler("deletePolicyVersion", "DeletePolicyVersion", async (r, ctx) => {
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("DeletePolicyVersion", () => targets.policy(ctx.accountId, policyArn));
      const m = await store.deletePolicyVersion(ctx.accountId, policyArn, r.versionId, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    handler("deletePolicy", "DeletePolicy", async (r, ctx) => {
      const policyArn = checkPolicyArn(r.policyArn);
      await ctx.authorize("DeletePolicy", () => targets.policy(ctx.accountId, policyArn));
      return {
        revision: toWire.revision(await store.deletePolicy(ctx.accountId, policyArn, token(r.clientRequestToken))),
      };
    }),

    // ---- attachments, inline policies, boundaries ----
    ...(["attachPolicy", "detachPolicy"] as const).map((name) =>
      handler(name, name === "attachPolicy" ? "AttachPolicy" : "DetachPolicy", async (r, ctx) => {
        const principal = principalOf(r.entityType, r.entityName);
        const policyArn = checkPolicyArn(r.policyArn);
        const verb = name === "attachPolicy" ? "Attach" : "Detach";
        await ctx.authorize(`${verb}${KIND_WORD[principal.kind]}Policy`, async () => {
          const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
          const policy = await targets.policy(ctx.accountId, policyArn);
          return { arn: t.arn, context: { ...t.context, ...boundaryKey(t), "iam:PolicyARN": policy.arn } };
        });
        const m =
          name === "attachPolicy"
            ? await store.attachPolicy(ctx.accountId, principal, policyArn, token(r.clientRequestToken))
            : await store.detachPolicy(ctx.accountId, principal, policyArn, token(r.clientRequestToken));
        return { revision: toWire.revision(m) };
      }),
    ),
    handler("listAttachedPolicies", "ListAttachedPolicies", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const p = page(r.page, r.pathPrefix);
      await ctx.authorize(`ListAttached${KIND_WORD[principal.kind]}Policies`, () =>
        targets.principal(ctx.accountId, principal.kind, principal.name),
      );
      const result = await store.listAttachedPolicies(ctx.accountId, principal, p);
      return {
        attachedPolicies: result.items.map((a) => ({ policyName: a.policyName, policyArn: a.policyArn })),
        page: toWire.page(result),
      };
    }),
    handler("putInlinePolicy", "PutInlinePolicy", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyName = checkName(r.policyName, "policyName", 128);
      const kind = `inline-${principal.kind}` as PolicyKind;
      const policyDocument = checkPolicyDocument(r.policyDocument, kind, "policyDocument");
      await ctx.authorize(`Put${KIND_WORD[principal.kind]}Policy`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        return { arn: t.arn, context: { ...t.context, ...boundaryKey(t) } };
      });
      const m = await store.putInlinePolicy(
        ctx.accountId,
        principal,
        policyName,
        policyDocument,
        token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    handler("getInlinePolicy", "GetInlinePolicy", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyName = checkName(r.policyName, "policyName", 128);
      await ctx.authorize(`Get${KIND_WORD[principal.kind]}Policy`, () =>
        targets.principal(ctx.accountId, principal.kind, principal.name),
      );
      const p = await store.getInlinePolicy(ctx.accountId, principal, policyName);
      return { policyName: p.policyName, policyDocument: p.document };
    }),
    handler("listInlinePolicies", "ListInlinePolicies", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      await ctx.authorize(`List${KIND_WORD[principal.kind]}Policies`, () =>
        targets.principal(ctx.accountId, principal.kind, principal.name),
      );
      const result = await store.listInlinePolicies(ctx.accountId, principal, {
        marker: r.page?.marker,
        maxItems: r.page?.maxItems,
      });
      return { policyNames: result.items, page: toWire.page(result) };
    }),
    handler("deleteInlinePolicy", "DeleteInlinePolicy", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      const policyName = checkName(r.policyName, "policyName", 128);
      await ctx.authorize(`Delete${KIND_WORD[principal.kind]}Policy`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        return { arn: t.arn, context: { ...t.context, ...boundaryKey(t) } };
      });
      const m = await store.deleteInlinePolicy(ctx.accountId, principal, policyName, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    handler("putPermissionsBoundary", "PutPermissionsBoundary", async (r, ctx) => {
      const principal = principalOf(r.entityType, r.entityName);
      if (principal.kind === "group") {
        throw new IamError("ValidationError", "permissions boundaries apply to users and roles, not groups", {
          field: "entityType",
        });
      }
      const remove = r.permissionsBoundaryArn === "";
      const boundaryArn = remove ? null : checkPolicyArn(r.permissionsBoundaryArn, "permissionsBoundaryArn");
      await ctx.authorize(`${remove ? "Delete" : "Put"}${KIND_WORD[principal.kind]}PermissionsBoundary`, async () => {
        const t = await targets.principal(ctx.accountId, principal.kind, principal.name);
        // Put: the boundary being set; Delete: the one being removed. Both as iam:PolicyARN too.
        const policyArn =
          boundaryArn === null
            ? t.permissionsBoundaryArn
            : (await targets.policy(ctx.accountId, boundaryArn, "permissionsBoundaryArn")).arn;
        return {
          arn: t.arn,
          context:
            policyArn === null
              ? t.context
              : { ...t.context, "iam:PermissionsBoundary": policyArn, "iam:PolicyARN": policyArn },
        };
      });
      const m = await store.putPermissionsBoundary(ctx.accountId, principal, boundaryArn, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),

    // ---- access keys ----
    handler("createAccessKey", "CreateAccessKey", async (r, ctx) => {
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("CreateAccessKey", () => keyOwnerArn(ctx, userName));
      const m = await store.createAccessKey(ctx.accountId, userName, token(r.clientRequestToken));
      return {
        accessKey: toWire.accessKey(m.value.accessKey),
        secretAccessKey: m.value.secretAccessKey,
        revision: toWire.revision(m),
      };
    }),
    handler("updateAccessKey", "UpdateAccessKey", async (r, ctx) => {
      if (r.status !== "Active" && r.status !== "Inactive") {
        throw new IamError("ValidationError", `status ${JSON.stringify(r.status)} must be Active or Inactive`, {
          field: "status",
        });
      }
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("UpdateAccessKey", () => keyOwnerArn(ctx, userName));
      const m = await store.updateAccessKey(
        ctx.accountId,
        userName,
        r.accessKeyId,
        r.status,
        token(r.clientRequestToken),
      );
      authenticator.forget(r.accessKeyId);
      return { revision: toWire.revision(m) };
    }),
    handler("deleteAccessKey", "DeleteAccessKey", async (r, ctx) => {
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("DeleteAccessKey", () => keyOwnerArn(ctx, userName));
      const m = await store.deleteAccessKey(ctx.accountId, userName, r.accessKeyId, token(r.clientRequestToken));
      authenticator.forget(r.accessKeyId);
      return { revision: toWire.revision(m) };
    }),
    handler("listAccessKeys", "ListAccessKeys", async (r, ctx) => {
      const userName = keyOwner(ctx, r.userName);
      await ctx.authorize("ListAccessKeys", () => keyOwnerArn(ctx, userName));
      return { accessKeys: (await store.listAccessKeys(ctx.accountId, userName)).map(toWire.accessKey) };
    }),

    // ---- tags on users, roles, instance profiles and OIDC providers ----
    ...taggables.flatMap((t) => [
      handler(t.rpc.tag, `Tag${t.word}`, async (r, ctx) => {
        const name = t.entity(r.entityName);
        const tags = checkTags(r.tags, t.keysIgnoreCase);
        if (tags.length === 0) throw new IamError("ValidationError", "tags must not be empty", { field: "tags" });
        await ctx.authorize(`Tag${t.word}`, async () => {
          const e = await t.arn(ctx.accountId, name);
          return { arn: e.arn, context: { ...e.context, ...requestTags(tags) } };
        });
        return {
          revision: toWire.revision(
            await store.tagEntity(ctx.accountId, t.kind, name, tags, token(r.clientRequestToken)),
          ),
        };
      }),
      handler(t.rpc.untag, `Untag${t.word}`, async (r, ctx) => {
        const name = t.entity(r.entityName);
        const keys = checkTagKeys(r.tagKeys);
        await ctx.authorize(`Untag${t.word}`, async () => {
          const e = await t.arn(ctx.accountId, name);
          return { arn: e.arn, context: { ...e.context, "aws:TagKeys": keys } };
        });
        return {
          revision: toWire.revision(
            await store.untagEntity(ctx.accountId, t.kind, name, keys, token(r.clientRequestToken)),
          ),
        };
      }),
      handler(t.rpc.list, `List${t.word}Tags`, async (r, ctx) => {
        const name = t.entity(r.entityName);
        await ctx.authorize(`List${t.word}Tags`, () => t.arn(ctx.accountId, name));
        const result = await store.listEntityTags(ctx.accountId, t.kind, name, {
          marker: r.page?.marker,
          maxItems: r.page?.maxItems,
        });
        return { tags: result.items.map((x) => ({ key: x.key, value: x.value })), page: toWire.page(result) };
      }),
    ]),

    // ---- role updates ----
    handler("updateRole", "UpdateRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      const description = r.description === undefined ? undefined : checkText(r.description, "description", 1000);
      const maxSessionDuration =
        r.maxSessionDuration === undefined ? undefined : checkMaxSessionDuration(r.maxSessionDuration);
      await ctx.authorize("UpdateRole", () => targets.principal(ctx.accountId, "role", roleName));
      const m = await store.updateRole(ctx.accountId, roleName, {
        description,
        maxSessionDuration,
        ...token(r.clientRequestToken),
      });
      return { revision: toWire.revision(m) };
    }),
    handler("updateAssumeRolePolicy", "UpdateAssumeRolePolicy", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      const document = checkPolicyDocument(r.policyDocument, "trust", "policyDocument");
      await ctx.authorize("UpdateAssumeRolePolicy", () => targets.principal(ctx.accountId, "role", roleName));
      const m = await store.updateAssumeRolePolicy(ctx.accountId, roleName, document, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),

    // ---- account alias and password policy ----
    handler("createAccountAlias", "CreateAccountAlias", async (r, ctx) => {
      const alias = checkAccountAlias(r.accountAlias);
      await ctx.authorize("CreateAccountAlias", () => "*");
      return {
        revision: toWire.revision(await store.createAccountAlias(ctx.accountId, alias, token(r.clientRequestToken))),
      };
    }),
    handler("deleteAccountAlias", "DeleteAccountAlias", async (r, ctx) => {
      const alias = checkAccountAlias(r.accountAlias);
      await ctx.authorize("DeleteAccountAlias", () => "*");
      return {
        revision: toWire.revision(await store.deleteAccountAlias(ctx.accountId, alias, token(r.clientRequestToken))),
      };
    }),
    handler("listAccountAliases", "ListAccountAliases", async (_r, ctx) => {
      await ctx.authorize("ListAccountAliases", () => "*");
      return { accountAliases: await store.listAccountAliases(ctx.accountId) };
    }),
    handler("updateAccountPasswordPolicy", "UpdateAccountPasswordPolicy", async (r, ctx) => {
      const policy = {
        minimumPasswordLength: checkSetting(r.minimumPasswordLength, "minimumPasswordLength", 6, 128, 6),
        requireSymbols: r.requireSymbols,
        requireNumbers: r.requireNumbers,
        requireUppercaseCharacters: r.requireUppercaseCharacters,
        requireLowercaseCharacters: r.requireLowercaseCharacters,
        allowUsersToChangePassword: r.allowUsersToChangePassword,
        maxPasswordAge: checkSetting(r.maxPasswordAge, "maxPasswordAge", 1, 1095, 0),
        passwordReusePrevention: checkSetting(r.passwordReusePrevention, "passwordReusePrevention", 1, 24, 0),
        hardExpiry: r.hardExpiry,
      };
      await ctx.authorize("UpdateAccountPasswordPolicy", () => "*");
      const m = await store.updatePasswordPolicy(ctx.accountId, policy, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    handler("getAccountPasswordPolicy", "GetAccountPasswordPolicy", async (_r, ctx) => {
      await ctx.authorize("GetAccountPasswordPolicy", () => "*");
      const p = await store.getPasswordPolicy(ctx.accountId);
      return { passwordPolicy: { ...p, expirePasswords: p.maxPasswordAge > 0 } };
    }),
    handler("deleteAccountPasswordPolicy", "DeleteAccountPasswordPolicy", async (r, ctx) => {
      await ctx.authorize("DeleteAccountPasswordPolicy", () => "*");
      return {
        revision: toWire.revision(await store.deletePasswordPolicy(ctx.accountId, token(r.clientRequestToken))),
      };
    }),

    // ---- login profiles ----
    handler("createLoginProfile", "CreateLoginProfile", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const password = checkPasswordInput(r.password, "password");
      await ctx.authorize("CreateLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.createLoginProfile(ctx.accountId, userName, {
        password,
        passwordResetRequired: r.passwordResetRequired,
        ...token(r.clientRequestToken),
      });
      return { loginProfile: toWire.loginProfile(m.value), revision: toWire.revision(m) };
    }),
    handler("updateLoginProfile", "UpdateLoginProfile", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const password = r.password === undefined ? undefined : checkPasswordInput(r.password, "password");
      await ctx.authorize("UpdateLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.updateLoginProfile(ctx.accountId, userName, {
        password,
        passwordResetRequired: r.passwordResetRequired,
        ...token(r.clientRequestToken),
      });
      return { revision: toWire.revision(m) };
    }),
    handler("deleteLoginProfile", "DeleteLoginProfile", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      await ctx.authorize("DeleteLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      return {
        revision: toWire.revision(await store.deleteLoginProfile(ctx.accountId, userName, token(r.clientRequestToken))),
      };
    }),
    handler("getLoginProfile", "GetLoginProfile", async (r, ctx) => {
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("GetLoginProfile", () => targets.principal(ctx.accountId, "user", userName));
      return {
        loginProfile: toWire.loginProfile(await store.getLoginProfile(ctx.accountId, userName)),
        revision: undefined,
      };
    }),
    handler("changePassword", "ChangePassword", async (r, ctx) => {
      const caller = ctx.caller;
      if (caller.kind !== "user") {
        throw new IamError(
          "InvalidUserType",
          "ChangePassword changes an IAM user's own password; call it as that user",
          {
            field: "userName",
          },
        );
      }
      const oldPassword = checkPasswordInput(r.oldPassword, "oldPassword");
      const newPassword = checkPasswordInput(r.newPassword, "newPassword");
      // As in AWS: the account policy's AllowUsersToChangePassword lets every user change their
      // own password; otherwise iam:ChangePassword on the user (e.g. IAMUserChangePassword) must.
      const policy = await store.getPasswordPolicy(ctx.accountId).catch((e: unknown) => {
        if (IamError.is(e) && e.awsName === "NoSuchEntity") return undefined;
        throw e;
      });
      if (policy?.allowUsersToChangePassword === true) {
        // The account setting grants it without an identity policy; the guardrails still bound it.
        await authorizer.authorize(caller, {
          action: "iam:ChangePassword",
          resource: caller.arn,
          accountId: ctx.accountId,
          context: ctx.sourceIp === undefined ? {} : { "aws:SourceIp": ctx.sourceIp },
          allowedByAccountSetting: true,
        });
      } else {
        await ctx.authorize("ChangePassword", async () => ({
          arn: caller.arn,
          context: (await targets.principal(ctx.accountId, "user", caller.userName)).context,
        }));
      }
      const m = await store.changePassword(
        ctx.accountId,
        caller.userName,
        oldPassword,
        newPassword,
        token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),

    // ---- account guardrails (operator only) ----
    operatorHandler("attachAccountGuardrail", "AttachAccountGuardrail", async (r) => {
      const accountId = checkAccountId(r.accountId);
      // Validated as a guardrail (kind "scp"); its default version is copied when attached.
      const policy = await store.getPolicy(accountId, r.policyArn);
      const version = await store.getPolicyVersion(accountId, r.policyArn, policy.defaultVersionId);
      const document = checkPolicyDocument(version.document, "scp", "policyArn");
      const m = await store.attachAccountGuardrail(accountId, r.policyArn, document, token(r.clientRequestToken));
      authorizer.forgetGuardrails(accountId);
      return { revision: toWire.revision(m) };
    }),
    operatorHandler("detachAccountGuardrail", "DetachAccountGuardrail", async (r) => {
      const accountId = checkAccountId(r.accountId);
      const m = await store.detachAccountGuardrail(accountId, r.policyArn, token(r.clientRequestToken));
      authorizer.forgetGuardrails(accountId);
      return { revision: toWire.revision(m) };
    }),
    operatorHandler("listAccountGuardrails", "ListAccountGuardrails", async (r) => {
      const list = await store.listAccountGuardrails(checkAccountId(r.accountId));
      return { guardrails: list.map((g) => ({ policyArn: g.policyArn, attachDateMs: g.attachedAtMs })) };
    }),

    // ---- virtual MFA devices ----
    handler("createVirtualMfaDevice", "CreateVirtualMFADevice", async (r, ctx) => {
      const deviceName = checkName(r.virtualMfaDeviceName, "virtualMfaDeviceName", 226);
      const path = checkPath(r.path);
      await ctx.authorize("CreateVirtualMFADevice", () => arnOf(ctx.accountId, "mfa", path, deviceName));
      const m = await store.createVirtualMfaDevice(ctx.accountId, { deviceName, path, ...token(r.clientRequestToken) });
      const label = encodeURIComponent(`${ctx.accountId}:${deviceName}`);
      return {
        serialNumber: m.value.serialNumber,
        base32StringSeed: m.value.base32StringSeed,
        // A replayed call has no seed (returned once), hence no URI either.
        otpauthUri:
          m.value.base32StringSeed === ""
            ? ""
            : `otpauth://totp/${label}?secret=${m.value.base32StringSeed}&issuer=Gatehouse`,
        revision: toWire.revision(m),
      };
    }),
    handler("enableMfaDevice", "EnableMFADevice", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      for (const [field, code] of [
        ["authenticationCode1", r.authenticationCode1],
        ["authenticationCode2", r.authenticationCode2],
      ] as const) {
        if (!/^\d{6}$/.test(code)) {
          throw new IamError("ValidationError", `${field} must be 6 digits`, { field });
        }
      }
      const serialNumber = checkIamArn(r.serialNumber, "mfa", partition, "serialNumber");
      await ctx.authorize("EnableMFADevice", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.enableMfaDevice(
        ctx.accountId,
        userName,
        serialNumber,
        [r.authenticationCode1, r.authenticationCode2],
        token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    handler("deactivateMfaDevice", "DeactivateMFADevice", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const serialNumber = checkIamArn(r.serialNumber, "mfa", partition, "serialNumber");
      await ctx.authorize("DeactivateMFADevice", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.deactivateMfaDevice(ctx.accountId, userName, serialNumber, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    handler("listMfaDevices", "ListMFADevices", async (r, ctx) => {
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("ListMFADevices", () => targets.principal(ctx.accountId, "user", userName));
      const devices = await store.listMfaDevices(ctx.accountId, userName);
      return {
        mfaDevices: devices.map((d) => ({
          userName: d.userName ?? "",
          serialNumber: d.serialNumber,
          enableDateMs: d.enabledAtMs ?? 0,
        })),
      };
    }),
    handler("deleteVirtualMfaDevice", "DeleteVirtualMFADevice", async (r, ctx) => {
      // The store matches serial numbers exactly, so an existing device's ARN is the one sent.
      const serialNumber = checkIamArn(r.serialNumber, "mfa", partition, "serialNumber");
      await ctx.authorize("DeleteVirtualMFADevice", () => serialNumber);
      const m = await store.deleteVirtualMfaDevice(ctx.accountId, serialNumber, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),

    // ---- instance profiles ----
    handler("createInstanceProfile", "CreateInstanceProfile", async (r, ctx) => {
      const instanceProfileName = checkName(r.instanceProfileName, "instanceProfileName", 128);
      const path = checkPath(r.path);
      const tags = checkTags(r.tags, false);
      await authorizeCreate(
        ctx,
        "CreateInstanceProfile",
        "InstanceProfile",
        arnOf(ctx.accountId, "instance-profile", path, instanceProfileName),
        tags,
      );
      const m = await store.createInstanceProfile(ctx.accountId, {
        instanceProfileName,
        path,
        tags,
        ...token(r.clientRequestToken),
      });
      return { instanceProfile: toWire.instanceProfile(m.value), revision: toWire.revision(m) };
    }),
    handler("getInstanceProfile", "GetInstanceProfile", async (r, ctx) => {
      const name = checkName(r.instanceProfileName, "instanceProfileName", 128);
      await ctx.authorize("GetInstanceProfile", () => targets.instanceProfile(ctx.accountId, name));
      return {
        instanceProfile: toWire.instanceProfile(await store.getInstanceProfile(ctx.accountId, name)),
        revision: undefined,
      };
    }),
    handler("listInstanceProfiles", "ListInstanceProfiles", async (r, ctx) => {
      const p = page(r.page, r.pathPrefix);
      await ctx.authorize("ListInstanceProfiles", () => arnOf(ctx.accountId, "instance-profile", p.pathPrefix, ""));
      const result = await store.listInstanceProfiles(ctx.accountId, p);
      return { instanceProfiles: result.items.map(toWire.instanceProfile), page: toWire.page(result) };
    }),
    handler("listInstanceProfilesForRole", "ListInstanceProfilesForRole", async (r, ctx) => {
      const roleName = checkName(r.roleName, "roleName", 64);
      await ctx.authorize("ListInstanceProfilesForRole", () => targets.principal(ctx.accountId, "role", roleName));
      const result = await store.listInstanceProfilesForRole(ctx.accountId, roleName, {
        marker: r.page?.marker,
        maxItems: r.page?.maxItems,
      });
      return { instanceProfiles: result.items.map(toWire.instanceProfile), page: toWire.page(result) };
    }),
    handler("deleteInstanceProfile", "DeleteInstanceProfile", async (r, ctx) => {
      const name = checkName(r.instanceProfileName, "instanceProfileName", 128);
      await ctx.authorize("DeleteInstanceProfile", () => targets.instanceProfile(ctx.accountId, name));
      const m = await store.deleteInstanceProfile(ctx.accountId, name, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    ...(["addRoleToInstanceProfile", "removeRoleFromInstanceProfile"] as const).map((name) => {
      const operation =
        name === "addRoleToInstanceProfile" ? "AddRoleToInstanceProfile" : "RemoveRoleFromInstanceProfile";
      return handler(name, operation, async (r, ctx) => {
        const profile = checkName(r.instanceProfileName, "instanceProfileName", 128);
        const roleName = checkName(r.roleName, "roleName", 64);
        await ctx.authorize(operation, () => targets.instanceProfile(ctx.accountId, profile));
        // As in AWS: putting a role in a profile hands it to whoever uses the profile, so the
        // caller must also be allowed to pass that role, to the service instance profiles serve.
        if (name === "addRoleToInstanceProfile") {
          await ctx.authorize("PassRole", async () => {
            const role = await targets.principal(ctx.accountId, "role", roleName);
            return { arn: role.arn, context: { ...role.context, "iam:PassedToService": INSTANCE_PROFILE_SERVICE } };
          });
        }
        const m =
          name === "addRoleToInstanceProfile"
            ? await store.addRoleToInstanceProfile(ctx.accountId, profile, roleName, token(r.clientRequestToken))
            : await store.removeRoleFromInstanceProfile(ctx.accountId, profile, roleName, token(r.clientRequestToken));
        return { revision: toWire.revision(m) };
      });
    }),

    // ---- OpenID Connect identity providers ----
    handler("createOpenIdConnectProvider", "CreateOpenIDConnectProvider", async (r, ctx) => {
      const url = checkOidcUrl(r.url);
      const clientIds = checkClientIds(r.clientIdList);
      const thumbprints = checkThumbprints(r.thumbprintList);
      const jwks = checkJwks(r.jwksJson);
      const tags = checkTags(r.tags, false);
      await authorizeCreate(
        ctx,
        "CreateOpenIDConnectProvider",
        "OpenIDConnectProvider",
        arnOf(ctx.accountId, "oidc-provider", "/", url),
        tags,
      );
      const m = await store.createOpenIdConnectProvider(ctx.accountId, {
        url,
        clientIds,
        thumbprints,
        jwks,
        tags,
        ...token(r.clientRequestToken),
      });
      return {
        openIdConnectProviderArn: m.value.arn,
        tags: toWire.tags(m.value.tags),
        revision: toWire.revision(m),
      };
    }),
    handler("getOpenIdConnectProvider", "GetOpenIDConnectProvider", async (r, ctx) => {
      const arn = checkOidcArn(r.openIdConnectProviderArn);
      await ctx.authorize("GetOpenIDConnectProvider", () => targets.oidcProvider(ctx.accountId, arn));
      const p = await store.getOpenIdConnectProvider(ctx.accountId, arn);
      return {
        url: p.url,
        clientIdList: [...p.clientIds],
        thumbprintList: [...p.thumbprints],
        createDateMs: p.createdAtMs,
        tags: toWire.tags(p.tags),
        jwksJson: p.jwks ?? "",
      };
    }),
    handler("listOpenIdConnectProviders", "ListOpenIDConnectProviders", async (_r, ctx) => {
      await ctx.authorize("ListOpenIDConnectProviders", () => "*");
      const list = await store.listOpenIdConnectProviders(ctx.accountId);
      return { openIdConnectProviderList: list.map((p) => ({ arn: p.arn })) };
    }),
    handler("deleteOpenIdConnectProvider", "DeleteOpenIDConnectProvider", async (r, ctx) => {
      const arn = checkOidcArn(r.openIdConnectProviderArn);
      await ctx.authorize("DeleteOpenIDConnectProvider", () => targets.oidcProvider(ctx.accountId, arn));
      const m = await store.deleteOpenIdConnectProvider(ctx.accountId, arn, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    ...(["addClientIdToOpenIdConnectProvider", "removeClientIdFromOpenIdConnectProvider"] as const).map((name) => {
      const adding = name === "addClientIdToOpenIdConnectProvider";
      const operation = adding ? "AddClientIDToOpenIDConnectProvider" : "RemoveClientIDFromOpenIDConnectProvider";
      return handler(name, operation, async (r, ctx) => {
        const arn = checkOidcArn(r.openIdConnectProviderArn);
        const clientId = checkClientId(r.clientId);
        await ctx.authorize(operation, () => targets.oidcProvider(ctx.accountId, arn));
        const m = adding
          ? await store.addClientIdToOpenIdConnectProvider(ctx.accountId, arn, clientId, token(r.clientRequestToken))
          : await store.removeClientIdFromOpenIdConnectProvider(
              ctx.accountId,
              arn,
              clientId,
              token(r.clientRequestToken),
            );
        return { revision: toWire.revision(m) };
      });
    }),
    handler("updateOpenIdConnectProviderThumbprint", "UpdateOpenIDConnectProviderThumbprint", async (r, ctx) => {
      const arn = checkOidcArn(r.openIdConnectProviderArn);
      const thumbprints = checkThumbprints(r.thumbprintList);
      await ctx.authorize("UpdateOpenIDConnectProviderThumbprint", () => targets.oidcProvider(ctx.accountId, arn));
      const m = await store.updateOpenIdConnectProviderThumbprint(
        ctx.accountId,
        arn,
        thumbprints,
        token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    handler("updateOpenIdConnectProviderJwks", "UpdateOpenIDConnectProviderJWKS", async (r, ctx) => {
      const arn = checkOidcArn(r.openIdConnectProviderArn);
      const jwks = checkJwks(r.jwksJson);
      await ctx.authorize("UpdateOpenIDConnectProviderJWKS", () => targets.oidcProvider(ctx.accountId, arn));
      const m = await store.updateOpenIdConnectProviderJwks(ctx.accountId, arn, jwks, token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),

    // ---- export ----
    [
      "exportAccount",
      unary<Req<"exportAccount">, Res<"exportAccount">>("ExportAccount", log, async (request, info) => {
        const caller = await authenticator.authenticate(
          { method: info.method, authority: info.authority, body: info.raw },
          info.metadata,
        );
        const accountId =
          request.accountId !== "" ? request.accountId : caller.kind === "operator" ? "" : caller.accountId;
        if (!/^\d{12}$/.test(accountId)) {
          throw new IamError("ValidationError", `accountId ${JSON.stringify(accountId)} must be 12 digits`, {
            field: "accountId",
          });
        }
        if (caller.kind !== "operator") {
          // Users and the root alike: the root within the account's guardrails, as everywhere.
          await authorizer.authorize(caller, {
            action: "iam:ExportAccount",
            resource: `arn:${partition}:iam::${accountId}:root`,
            accountId,
            context: sourceIpContext(info),
          });
        }
        // Sealed secrets leave only to the operator, and only when asked for (backups, migrations).
        if (request.includeSealedSecrets && caller.kind !== "operator") {
          throw new IamError(
            "AccessDenied",
            `${caller.arn} cannot export sealed secrets: includeSealedSecrets is for the operator credential only`,
            { field: "includeSealedSecrets" },
          );
        }
        const exported = await store.exportAccount(
          accountId,
          request.atRevision === 0 ? undefined : request.atRevision,
          { includeSealedSecrets: request.includeSealedSecrets && caller.kind === "operator" },
        );
        const snapshot = encodeAccountSnapshot({
          schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
          accountId,
          revision: exported.revision,
          entities: exported.entities.map((e) =>
            changeEvent({ accountId, revision: exported.revision, kind: e.kind, id: e.id, state: e.state }),
          ),
        });
        return { revision: { accountId, revision: exported.revision }, snapshot };
      }),
    ],
  ];
  return Object.fromEntries(entries) as UntypedServiceImplementation;
}
