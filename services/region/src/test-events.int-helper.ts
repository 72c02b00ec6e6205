// Builders of change events and a producer for applier tests: what the control plane's relay
// publishes, encoded with the same codec, sent to a test topic keyed by account.

import { changeEvent, encodeChangeEvent, encodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import { entityBuilders, policyRef } from "@gatehouse/events/testing";
import type { Producer } from "kafkajs";

/** The standard test stream's revision `r`: policy p<r> allowing `svc:Action<r>`, and user u (tagged `rev` = r) attaching it. */
function revisionEntities(accountId: string, r: number) {
  const acct = entityBuilders(accountId);
  const document = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: `svc:Action${r}`, Resource: "*" }],
  });
  const pol = acct.policy(`p${r}`, document);
  const user = acct.user("u", { tags: [{ key: "rev", value: String(r) }], attachedPolicies: [policyRef(pol)] });
  return { pol: pol.state, user: user.state };
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
  const { pol, user } = revisionEntities(accountId, r);
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
