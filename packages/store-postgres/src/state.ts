import { iamArn } from "@gatehouse/core";
import {
  ACCESS_KEY_SELECT,
  type AccessKeyRow,
  type GroupRow,
  POLICY_SELECT,
  type PolicyRow,
  principalColumn,
  ROLE_SELECT,
  type RoleRow,
  toGroup,
  toPolicy,
  toRole,
  toUser,
  USER_SELECT,
  type UserRow,
} from "./lookups.ts";
import type { PrincipalKind } from "./records.ts";
import type { OutboxEvent, Queryable } from "./tx.ts";

/**
 * Entity state documents: what the outbox and exports carry for each entity kind, complete enough
 * for a region to evaluate requests without asking the control plane anything. Users, groups and
 * roles embed their attached policy ARNs and inline policies; users list their groups; policies
 * carry every version; access keys carry their sealed secret (never the clear text).
 */
export const EntityKind = Object.freeze({
  account: "account",
  user: "user",
  group: "group",
  role: "role",
  policy: "policy",
  accessKey: "access-key",
} as const);

async function attachedAndInline(q: Queryable, partition: string, kind: PrincipalKind, id: string) {
  const col = principalColumn(kind);
  const attached = await q.query<{ policy_id: string; account_id: string; path: string; policy_name: string }>(
    `SELECT p.policy_id, p.account_id, p.path, p.policy_name FROM policy_attachments a
     JOIN managed_policies p ON p.policy_id = a.policy_id WHERE a.${col} = $1 ORDER BY lower(p.policy_name)`,
    [id],
  );
  const inline = await q.query<{ policy_name: string; document: string }>(
    `SELECT policy_name, document FROM inline_policies WHERE ${col} = $1 ORDER BY policy_name`,
    [id],
  );
  return {
    attachedPolicies: attached.rows.map((p) => ({
      policyId: p.policy_id,
      policyArn: iamArn(p.account_id, "policy", p.path, p.policy_name, partition),
    })),
    inlinePolicies: inline.rows.map((p) => ({ policyName: p.policy_name, policyDocument: p.document })),
  };
}

export async function userState(q: Queryable, partition: string, userId: string): Promise<OutboxEvent> {
  const r = await q.query<UserRow>(`${USER_SELECT(partition)} WHERE u.user_id = $1`, [userId]);
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.user, id: userId, payload: null };
  const groups = await q.query<{ group_id: string; group_name: string }>(
    `SELECT g.group_id, g.group_name FROM group_memberships m JOIN groups g ON g.group_id = m.group_id
     WHERE m.user_id = $1 ORDER BY lower(g.group_name)`,
    [userId],
  );
  return {
    kind: EntityKind.user,
    id: userId,
    payload: {
      ...toUser(row, partition),
      groups: groups.rows.map((g) => ({ groupId: g.group_id, groupName: g.group_name })),
      ...(await attachedAndInline(q, partition, "user", userId)),
    },
  };
}

export async function groupState(q: Queryable, partition: string, groupId: string): Promise<OutboxEvent> {
  const r = await q.query<GroupRow>("SELECT * FROM groups WHERE group_id = $1", [groupId]);
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.group, id: groupId, payload: null };
  return {
    kind: EntityKind.group,
    id: groupId,
    payload: { ...toGroup(row, partition), ...(await attachedAndInline(q, partition, "group", groupId)) },
  };
}

export async function roleState(q: Queryable, partition: string, roleId: string): Promise<OutboxEvent> {
  const r = await q.query<RoleRow>(`${ROLE_SELECT(partition)} WHERE r.role_id = $1`, [roleId]);
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.role, id: roleId, payload: null };
  return {
    kind: EntityKind.role,
    id: roleId,
    payload: { ...toRole(row, partition), ...(await attachedAndInline(q, partition, "role", roleId)) },
  };
}

export async function principalState(
  q: Queryable,
  partition: string,
  kind: PrincipalKind,
  id: string,
): Promise<OutboxEvent> {
  return kind === "user"
    ? userState(q, partition, id)
    : kind === "group"
      ? groupState(q, partition, id)
      : roleState(q, partition, id);
}

export async function policyState(q: Queryable, partition: string, policyId: string): Promise<OutboxEvent> {
  const r = await q.query<PolicyRow>(`${POLICY_SELECT} WHERE p.policy_id = $1`, [policyId]);
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.policy, id: policyId, payload: null };
  const versions = await q.query<{ version_id: string; document: string; is_default: boolean; created_at: Date }>(
    "SELECT version_id, document, is_default, created_at FROM policy_versions WHERE policy_id = $1 ORDER BY created_at, version_id",
    [policyId],
  );
  // Attachment counts change with every attach; they are derivable, so events leave them out.
  const { attachmentCount: _a, permissionsBoundaryUsageCount: _b, ...policy } = toPolicy(row, partition);
  return {
    kind: EntityKind.policy,
    id: policyId,
    payload: {
      ...policy,
      versions: versions.rows.map((v) => ({
        versionId: v.version_id,
        document: v.document,
        isDefault: v.is_default,
        createdAtMs: v.created_at.getTime(),
      })),
    },
  };
}

export async function accessKeyState(q: Queryable, partition: string, accessKeyId: string): Promise<OutboxEvent> {
  const r = await q.query<AccessKeyRow>(`${ACCESS_KEY_SELECT} WHERE k.access_key_id = $1`, [accessKeyId]);
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.accessKey, id: accessKeyId, payload: null };
  return {
    kind: EntityKind.accessKey,
    id: accessKeyId,
    payload: {
      accessKeyId: row.access_key_id,
      accountId: row.account_id,
      userId: row.user_id,
      userName: row.user_name,
      principalArn:
        row.user_name === null || row.user_path === null
          ? `arn:${partition}:iam::${row.account_id}:root`
          : iamArn(row.account_id, "user", row.user_path, row.user_name, partition),
      status: row.status,
      createdAtMs: row.created_at.getTime(),
      // Sealed with AES-256-GCM (AAD = access key id); regions holding the key can verify SigV4.
      secretCiphertext: row.secret_ciphertext.toString("base64"),
    },
  };
}

export async function accountState(q: Queryable, accountId: string): Promise<OutboxEvent> {
  const r = await q.query<{ account_id: string; alias: string | null; created_at: Date }>(
    "SELECT account_id, alias, created_at FROM accounts WHERE account_id = $1",
    [accountId],
  );
  const row = r.rows[0];
  if (row === undefined) return { kind: EntityKind.account, id: accountId, payload: null };
  return {
    kind: EntityKind.account,
    id: accountId,
    payload: { accountId: row.account_id, alias: row.alias, createdAtMs: row.created_at.getTime() },
  };
}
