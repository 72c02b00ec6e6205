// Builders of change events and a producer for applier tests: what the control plane's relay
// publishes, encoded with the same codec, sent to a test topic keyed by account.

import type { PolicyState, UserState } from "@gatehouse/events";
import { changeEvent, encodeChangeEvent, encodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import type { Producer } from "kafkajs";

/** A user state attaching the given managed policies, tagged with the revision that wrote it. */
export function userState(accountId: string, name: string, revision: number, policyArns: readonly string[]): UserState {
  return {
    accountId,
    userId: `AIDA${name.toUpperCase()}`,
    userName: name,
    path: "/",
    arn: `arn:aws:iam::${accountId}:user/${name}`,
    createdAtMs: 1,
    tags: [{ key: "rev", value: String(revision) }],
    permissionsBoundaryArn: null,
    groups: [],
    attachedPolicies: policyArns.map((policyArn) => ({ policyId: `ANPA${policyArn.split("/").pop()}`, policyArn })),
    inlinePolicies: [],
  };
}

/** A managed policy allowing `action` on everything. */
export function policyState(accountId: string, name: string, action: string): PolicyState {
  return {
    accountId,
    policyId: `ANPA${name}`,
    policyName: name,
    path: "/",
    arn: `arn:aws:iam::${accountId}:policy/${name}`,
    description: "",
    defaultVersionId: "v1",
    createdAtMs: 1,
    updatedAtMs: 1,
    tags: [],
    versions: [
      {
        versionId: "v1",
        document: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: action, Resource: "*" }],
        }),
        isDefault: true,
        createdAtMs: 1,
      },
    ],
  };
}

/** One event of a revision; `of` 0 writes a legacy event (no index, no count). */
export interface TestEvent {
  readonly accountId: string;
  readonly revision: number;
  readonly kind: string;
  readonly id: string;
  readonly state: unknown;
  readonly index: number;
  readonly of: number;
}

/** The two events of revision `r` of the standard test stream: policy p<r> and user u attaching it. */
export function revisionEvents(accountId: string, r: number, legacy = false): TestEvent[] {
  const pol = policyState(accountId, `p${r}`, `svc:Action${r}`);
  const user = userState(accountId, "u", r, [pol.arn]);
  const of = legacy ? 0 : 2;
  return [
    { accountId, revision: r, kind: "policy", id: pol.policyId, state: pol, index: 0, of },
    { accountId, revision: r, kind: "user", id: user.userId, state: user, index: legacy ? 0 : 1, of },
  ];
}

/** Sends events (keyed by account, like the relay) in the order given. */
export async function sendEvents(producer: Producer, topic: string, events: readonly TestEvent[]): Promise<void> {
  await producer.send({
    topic,
    messages: events.map((e) => ({
      key: e.accountId,
      value: encodeChangeEvent(
        changeEvent({
          accountId: e.accountId,
          revision: e.revision,
          kind: e.kind,
          id: e.id,
          state: e.state,
          eventId: `${e.accountId}-${e.revision}-${e.kind}-${e.id}`,
          epoch: "test:1",
          revisionIndex: e.index,
          revisionEvents: e.of,
        }),
      ),
      headers: { [MESSAGE_TYPE_HEADER]: "change" },
    })),
  });
}

/** Sends a watermark to one partition, as the relay does. */
export async function sendWatermark(producer: Producer, topic: string, partition: number, committedBeforeMs: number) {
  await producer.send({
    topic,
    messages: [
      {
        partition,
        value: encodeWatermark({
          schemaVersion: 0,
          committedBeforeMs,
          partition,
          epoch: "test:1",
          sentAtMs: Date.now(),
        }),
        headers: { [MESSAGE_TYPE_HEADER]: "watermark" },
      },
    ],
  });
}
