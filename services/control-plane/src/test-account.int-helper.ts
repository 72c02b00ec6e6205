// Test-only: a harness with one account, its root client, and users with credentials built from
// policies, for the integration suites of the newer operations.
import { createHmac } from "node:crypto";
import type { Clock } from "@gatehouse/core";
import { decodeAccountSnapshot } from "@gatehouse/events";
import { EntityType } from "@gatehouse/proto";
import { type Harness, OPERATOR, signedClient, startHarness } from "./test-client.int-helper.ts";

/** A policy document with one statement. */
export const policyDoc = (statement: object): string =>
  JSON.stringify({ Version: "2012-10-17", Statement: [statement] });

export type TestClient = ReturnType<typeof signedClient>;

/** An ExportAccount snapshot's entities as comparable `kind id → state` pairs, in a stable order. */
export function snapshotEntities(snapshot: Uint8Array): [string, unknown][] {
  return decodeAccountSnapshot(snapshot)
    .entities.map((e): [string, unknown] => [
      `${e.key?.kind} ${e.key?.id}`,
      e.change?.$case === "upsertJson" ? JSON.parse(e.change.value) : null,
    ])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** A user to create with {@link AccountFixture.aUser}: inline documents and managed policy ARNs. */
export interface UserSpec {
  readonly inline?: readonly string[];
  readonly managed?: readonly string[];
}

export interface AccountFixture {
  readonly h: Harness;
  readonly operator: TestClient;
  readonly root: TestClient;
  readonly accountId: string;
  /** Another account of the same control plane, for isolation checks. */
  anotherAccount(): Promise<{ accountId: string; root: TestClient }>;
  /** Creates a user with the given policies and an access key; returns a client signing as it. */
  aUser(name: string, spec?: UserSpec): Promise<TestClient>;
  close(): Promise<void>;
}

/**
 * Starts a control plane and creates one account. With `clock`, the control plane runs on it and
 * every client signs with it (SigV4 checks the request time against the server's clock).
 */
export async function startAccountFixture(
  extraEnv: Record<string, string> = {},
  clock?: Clock,
): Promise<AccountFixture> {
  const h = await startHarness(extraEnv, clock);
  const clients: TestClient[] = [];
  const client = (creds: { accessKeyId: string; secretAccessKey: string }) => {
    const c = signedClient(h.address, creds, clock);
    clients.push(c);
    return c;
  };
  const operator = client(OPERATOR);
  const newAccount = async () => {
    const created = await operator.call("createAccount", { accountAlias: "" });
    return {
      accountId: created.accountId as string,
      root: client({ accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey }),
    };
  };
  const { accountId, root } = await newAccount();
  return {
    h,
    operator,
    root,
    accountId,
    anotherAccount: newAccount,
    async aUser(name, spec = {}) {
      await root.call("createUser", { userName: name });
      const entity = { entityType: EntityType.ENTITY_TYPE_USER, entityName: name };
      for (const [i, document] of (spec.inline ?? []).entries()) {
        await root.call("putInlinePolicy", { ...entity, policyName: `p${i}`, policyDocument: document });
      }
      for (const policyArn of spec.managed ?? []) await root.call("attachPolicy", { ...entity, policyArn });
      const k = await root.call("createAccessKey", { userName: name });
      return client({ accessKeyId: k.accessKey.accessKeyId, secretAccessKey: k.secretAccessKey });
    },
    async close() {
      for (const c of clients) c.close();
      await h.close();
    },
  };
}

/**
 * RFC 6238 TOTP (SHA-1, 6 digits, 30 s), written out here so the tests check otplib independently.
 */
export function totp(base32: string, epochSeconds: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => Number.parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}
