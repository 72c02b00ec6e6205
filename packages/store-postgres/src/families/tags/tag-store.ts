import { IamError } from "@gatehouse/core";
import { pageQuery, toPage } from "../../paging.ts";
import type { Mutation, Page, PageInput, RequestToken, TagRecord } from "../../records.ts";
import {
  instanceProfileState,
  mfaDeviceState,
  oidcProviderState,
  policyState,
  roleState,
  userState,
} from "../../state.ts";
import { type OutboxEvent, type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";
import { findInstanceProfile } from "../instance-profiles/instance-profile-store.ts";
import { findDevice } from "../mfa/mfa-store.ts";
import { findProvider } from "../oidc-providers/oidc-provider-store.ts";

/** The entities that carry tags: users, roles, managed policies, MFA devices, instance profiles and OpenID Connect providers. */
export type TaggableKind = "user" | "role" | "policy" | "mfa-device" | "instance-profile" | "oidc-provider";

/**
 * Tags on users, roles, customer managed policies, virtual MFA devices, instance profiles and
 * OpenID Connect providers. An entity is named by `name`: the user, role or instance profile name,
 * the policy's or OIDC provider's ARN, or the MFA device's serial number.
 */
export interface TagStore {
  /**
   * Adds tags, replacing the value of a key already there (keys compare case-insensitively on
   * users and roles, exactly on the other kinds, as in AWS); LimitExceeded past the
   * `tagsPerEntity` quota. An AWS managed policy cannot be tagged (AccessDenied).
   */
  tagEntity(
    accountId: string,
    kind: TaggableKind,
    name: string,
    tags: readonly TagRecord[],
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** Removes tags by key (compared as in {@link TagStore.tagEntity}); unknown keys are ignored, as AWS does. */
  untagEntity(
    accountId: string,
    kind: TaggableKind,
    name: string,
    keys: readonly string[],
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** The entity's tags sorted by key (case-insensitively), paged. */
  listEntityTags(accountId: string, kind: TaggableKind, name: string, page: PageInput): Promise<Page<TagRecord>>;
}

/** How one taggable kind is found, named and written. */
interface Taggable {
  /** The noun of its operations: `Tag${word}`, `Untag${word}`, `List${word}Tags`. */
  readonly word: string;
  /** How messages name it. */
  readonly label: string;
  /** AWS compares tag keys case-insensitively on users and roles only. */
  readonly keysIgnoreCase: boolean;
  /** `write` for Tag/Untag: an AWS managed policy is then AccessDenied (it can only be read). */
  find(
    q: Queryable,
    accountId: string,
    name: string,
    access: "read" | "write",
  ): Promise<{ id: string; tags: readonly TagRecord[] }>;
  /** Stores the new tag list and returns the entity's new state for the outbox. */
  write(q: Queryable, id: string, tags: readonly TagRecord[]): Promise<OutboxEvent>;
}

/** The {@link TagStore} half of the store. */
export function createTagStore(ctx: StoreContext): TagStore {
  const partition = ctx.options.partition;
  const maxTags = ctx.options.quotas.tagsPerEntity;

  const taggables: Record<TaggableKind, Taggable> = {
    user: {
      word: "User",
      label: "user",
      keysIgnoreCase: true,
      find: async (q, accountId, name) => {
        const u = await ctx.find.user(q, accountId, name);
        return { id: u.user_id, tags: u.tags };
      },
      write: async (q, id, tags) => {
        await q.query("UPDATE users SET tags = $2::jsonb WHERE user_id = $1", [id, JSON.stringify(tags)]);
        return userState(q, partition, id);
      },
    },
    role: {
      word: "Role",
      label: "role",
      keysIgnoreCase: true,
      find: async (q, accountId, name) => {
        const r = await ctx.find.role(q, accountId, name);
        return { id: r.role_id, tags: r.tags };
      },
      write: async (q, id, tags) => {
        await q.query("UPDATE roles SET tags = $2::jsonb WHERE role_id = $1", [id, JSON.stringify(tags)]);
        return roleState(q, partition, id);
      },
    },
    policy: {
      word: "Policy",
      label: "policy",
      keysIgnoreCase: false,
      find: async (q, accountId, arn, access) => {
        const p = await ctx.find.policy(q, accountId, arn, "entityName", access);
        return { id: p.policy_id, tags: p.tags };
      },
      write: async (q, id, tags) => {
        await q.query("UPDATE managed_policies SET tags = $2::jsonb WHERE policy_id = $1", [id, JSON.stringify(tags)]);
        return policyState(q, partition, id);
      },
    },
    "mfa-device": {
      word: "MFADevice",
      label: "MFA device",
      keysIgnoreCase: false,
      find: async (q, accountId, serialNumber) => {
        const d = await findDevice(q, accountId, serialNumber, "entityName");
        return { id: d.serial_number, tags: d.tags };
      },
      write: async (q, serialNumber, tags) => {
        await q.query("UPDATE mfa_devices SET tags = $2::jsonb WHERE serial_number = $1", [
          serialNumber,
          JSON.stringify(tags),
        ]);
        return mfaDeviceState(q, serialNumber);
      },
    },
    "instance-profile": {
      word: "InstanceProfile",
      label: "instance profile",
      keysIgnoreCase: false,
      find: async (q, accountId, name) => {
        const p = await findInstanceProfile(q, accountId, name);
        return { id: p.instance_profile_id, tags: p.tags };
      },
      write: async (q, id, tags) => {
        await q.query("UPDATE instance_profiles SET tags = $2::jsonb WHERE instance_profile_id = $1", [
          id,
          JSON.stringify(tags),
        ]);
        return instanceProfileState(q, partition, id);
      },
    },
    "oidc-provider": {
      word: "OpenIDConnectProvider",
      label: "OpenID Connect provider",
      keysIgnoreCase: false,
      find: async (q, accountId, arn) => {
        const p = await findProvider(q, accountId, arn);
        return { id: p.arn, tags: p.tags };
      },
      write: async (q, arn, tags) => {
        await q.query("UPDATE oidc_providers SET tags = $2::jsonb WHERE arn = $1", [arn, JSON.stringify(tags)]);
        return oidcProviderState(q, arn);
      },
    },
  };

  /** The key tags are compared and sorted by for a kind. */
  const keyOf = (t: Taggable, key: string): string => (t.keysIgnoreCase ? key.toLowerCase() : key);

  return {
    tagEntity: (accountId, kind, name, tags, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: `Tag${taggables[kind].word}`,
          request: { kind, name, tags },
          ...tokenSpec(token),
        },
        async (q) => {
          const t = taggables[kind];
          const e = await t.find(q, accountId, name, "write");
          const merged = new Map(e.tags.map((x) => [keyOf(t, x.key), x]));
          for (const x of tags) merged.set(keyOf(t, x.key), { key: x.key, value: x.value });
          if (merged.size > maxTags) {
            throw new IamError(
              "LimitExceeded",
              `${t.label} ${JSON.stringify(name)} would have ${merged.size} tags (quota ${maxTags})`,
              { field: "tags" },
            );
          }
          const next = [...merged.values()];
          if (JSON.stringify(next) === JSON.stringify(e.tags)) return { value: null, events: [] };
          return { value: null, events: [await t.write(q, e.id, next)] };
        },
      ),

    untagEntity: (accountId, kind, name, keys, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: `Untag${taggables[kind].word}`,
          request: { kind, name, keys },
          ...tokenSpec(token),
        },
        async (q) => {
          const t = taggables[kind];
          const e = await t.find(q, accountId, name, "write");
          const drop = new Set(keys.map((k) => keyOf(t, k)));
          const next = e.tags.filter((x) => !drop.has(keyOf(t, x.key)));
          if (next.length === e.tags.length) return { value: null, events: [] };
          return { value: null, events: [await t.write(q, e.id, next)] };
        },
      ),

    listEntityTags: (accountId, kind, name, page) =>
      read(ctx, `List${taggables[kind].word}Tags`, async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const t = taggables[kind];
        const e = await t.find(q, accountId, name, "read");
        const sorted = [...e.tags]
          .sort((a, b) => (keyOf(t, a.key) < keyOf(t, b.key) ? -1 : 1))
          .filter((x) => p.after === null || keyOf(t, x.key) > p.after);
        return toPage(sorted.slice(0, p.limit + 1), p.limit, (x) => keyOf(t, x.key));
      }),
  };
}
