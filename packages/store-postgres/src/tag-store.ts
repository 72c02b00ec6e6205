import { IamError } from "@gatehouse/core";
import { findRole, findUser, pageQuery, toPage } from "./lookups.ts";
import type { Mutation, Page, PageInput, RequestToken, TagRecord } from "./records.ts";
import { roleState, userState } from "./state.ts";
import { mutate, type Queryable, read, type StoreContext } from "./tx.ts";

/** Users and roles carry tags. */
export type TaggableKind = "user" | "role";

/** Input of {@link TagStore.updateRole}: absent fields keep their value, as AWS's UpdateRole. */
export interface UpdateRoleInput extends RequestToken {
  readonly description?: string | undefined;
  readonly maxSessionDuration?: number | undefined;
}

/** Tags on users and roles, and the in-place updates of a role. */
export interface TagStore {
  /** Adds tags, replacing the value of a key already there (keys compare case-insensitively). */
  tagEntity(
    accountId: string,
    kind: TaggableKind,
    name: string,
    tags: readonly TagRecord[],
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** Removes tags by key; unknown keys are ignored, as AWS does. */
  untagEntity(
    accountId: string,
    kind: TaggableKind,
    name: string,
    keys: readonly string[],
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  listEntityTags(accountId: string, kind: TaggableKind, name: string, page: PageInput): Promise<Page<TagRecord>>;
  updateRole(accountId: string, roleName: string, input: UpdateRoleInput): Promise<Mutation<null>>;
  updateAssumeRolePolicy(
    accountId: string,
    roleName: string,
    document: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

/** The {@link TagStore} half of the store. */
export function createTagStore(ctx: StoreContext): TagStore {
  const partition = ctx.options.partition;
  const maxTags = ctx.options.quotas.tagsPerEntity;

  const entity = async (q: Queryable, accountId: string, kind: TaggableKind, name: string) => {
    if (kind === "user") {
      const u = await findUser(q, partition, accountId, name);
      return { id: u.user_id, tags: u.tags };
    }
    const r = await findRole(q, partition, accountId, name);
    return { id: r.role_id, tags: r.tags };
  };

  const writeTags = async (q: Queryable, kind: TaggableKind, id: string, tags: readonly TagRecord[]) => {
    const table = kind === "user" ? "users" : "roles";
    const col = kind === "user" ? "user_id" : "role_id";
    await q.query(`UPDATE ${table} SET tags = $2::jsonb WHERE ${col} = $1`, [id, JSON.stringify(tags)]);
    return kind === "user" ? userState(q, partition, id) : roleState(q, partition, id);
  };

  return {
    tagEntity: (accountId, kind, name, tags, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: kind === "user" ? "TagUser" : "TagRole",
          request: { kind, name, tags },
          clientRequestToken: token?.clientRequestToken,
        },
        async (q) => {
          const e = await entity(q, accountId, kind, name);
          const merged = new Map(e.tags.map((t) => [t.key.toLowerCase(), t]));
          for (const t of tags) merged.set(t.key.toLowerCase(), { key: t.key, value: t.value });
          if (merged.size > maxTags) {
            throw new IamError(
              "LimitExceeded",
              `${kind} ${JSON.stringify(name)} would have ${merged.size} tags (quota ${maxTags})`,
              { field: "tags" },
            );
          }
          const next = [...merged.values()];
          if (JSON.stringify(next) === JSON.stringify(e.tags)) return { value: null, events: [] };
          return { value: null, events: [await writeTags(q, kind, e.id, next)] };
        },
      ),

    untagEntity: (accountId, kind, name, keys, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: kind === "user" ? "UntagUser" : "UntagRole",
          request: { kind, name, keys },
          clientRequestToken: token?.clientRequestToken,
        },
        async (q) => {
          const e = await entity(q, accountId, kind, name);
          const drop = new Set(keys.map((k) => k.toLowerCase()));
          const next = e.tags.filter((t) => !drop.has(t.key.toLowerCase()));
          if (next.length === e.tags.length) return { value: null, events: [] };
          return { value: null, events: [await writeTags(q, kind, e.id, next)] };
        },
      ),

    listEntityTags: (accountId, kind, name, page) =>
      read(ctx, kind === "user" ? "ListUserTags" : "ListRoleTags", async (q) => {
        const p = pageQuery({ marker: page.marker, maxItems: page.maxItems });
        const e = await entity(q, accountId, kind, name);
        const sorted = [...e.tags]
          .sort((a, b) => (a.key.toLowerCase() < b.key.toLowerCase() ? -1 : 1))
          .filter((t) => p.after === null || t.key.toLowerCase() > p.after);
        return toPage(sorted.slice(0, p.limit + 1), p.limit, (t) => t.key.toLowerCase());
      }),

    updateRole: (accountId, roleName, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "UpdateRole",
          request: { roleName, description: input.description, maxSessionDuration: input.maxSessionDuration },
          clientRequestToken: input.clientRequestToken,
        },
        async (q) => {
          const role = await findRole(q, partition, accountId, roleName);
          const r = await q.query(
            `UPDATE roles SET description = COALESCE($2, description), max_session_duration = COALESCE($3, max_session_duration)
             WHERE role_id = $1 AND (description, max_session_duration)
               IS DISTINCT FROM (COALESCE($2, description), COALESCE($3, max_session_duration))`,
            [role.role_id, input.description ?? null, input.maxSessionDuration ?? null],
          );
          if (r.rowCount === 0) return { value: null, events: [] };
          return { value: null, events: [await roleState(q, partition, role.role_id)] };
        },
      ),

    updateAssumeRolePolicy: (accountId, roleName, document, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "UpdateAssumeRolePolicy",
          request: { roleName, document },
          clientRequestToken: token?.clientRequestToken,
        },
        async (q) => {
          const role = await findRole(q, partition, accountId, roleName);
          if (role.trust_policy === document) return { value: null, events: [] };
          await q.query("UPDATE roles SET trust_policy = $2 WHERE role_id = $1", [role.role_id, document]);
          return { value: null, events: [await roleState(q, partition, role.role_id)] };
        },
      ),
  };
}
