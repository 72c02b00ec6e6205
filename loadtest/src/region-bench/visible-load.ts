// The region bench's change→visible load, run in a worker thread so that its clients (SigV4
// signing, grpc-js) do not share an event loop with the control plane and its relay: at 200
// writes/s they would delay the relay's sends by hundreds of milliseconds on this machine.
//
// Writes PutUserPolicy at a fixed rate (open loop); once a write's commit response arrives, asks
// the decider, with min_revision = the write's revision, about what the write changed; the time
// from the commit response to the answer is the change→visible latency.

import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  AuthorizeRequest,
  type AuthorizeResponse,
  AuthorizerServiceClient,
  Decision,
  EntityType,
} from "@gatehouse/proto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { authorizeRequest, type BenchAccount, controlClient } from "./dataset.ts";

/** What the worker is asked to do. */
export interface VisibleRun {
  readonly controlPlane: string;
  readonly decider: string;
  readonly accounts: readonly BenchAccount[];
  readonly rate: number;
  readonly total: number;
}

/** What it measured. */
export interface VisibleResult {
  /** Commit response → answer at the write's revision, ms, one per answered write. */
  readonly latenciesMs: number[];
  /** Per answered write: its account, revision and when (epoch ms) the answer arrived. */
  readonly answered: { accountId: string; revision: number; atMs: number }[];
  readonly seconds: number;
  readonly wrong: number;
  /** Answers whose user had another write in flight meanwhile (only their revision is checked). */
  readonly overlapping: number;
  readonly failed: number;
  readonly firstError: string;
}

async function run(p: VisibleRun): Promise<VisibleResult> {
  const clients = p.accounts.map((a) => controlClient(p.controlPlane, a.creds));
  const authorizer = new AuthorizerServiceClient(p.decider, credentials.createInsecure());
  const authorize = (r: AuthorizeRequest) =>
    new Promise<AuthorizeResponse>((res, rej) =>
      authorizer.authorize(r, new Metadata(), { deadline: Date.now() + 10_000 }, (e: ServiceError | null, v) =>
        e === null ? res(v) : rej(e),
      ),
    );
  const latenciesMs: number[] = [];
  const answered: VisibleResult["answered"] = [];
  let wrong = 0;
  let failed = 0;
  let overlapping = 0;
  let firstError = "";
  const activeWrites = new Map<string, Set<number>>();
  const ambiguous = new Set<number>();
  const one = async (i: number) => {
    const a = i % p.accounts.length;
    const account = p.accounts[a] as BenchAccount;
    // Users in turn, so one user's writes are far apart; Allow and Deny alternate per round.
    const n = Math.floor(i / p.accounts.length);
    const user = account.users[n % account.users.length] as string;
    const effect = Math.floor(n / account.users.length) % 2 === 0 ? "Allow" : "Deny";
    const queue = `arn:aws:sqs:us-east-1:${account.accountId}:visible-${user}`;
    const userKey = `${account.accountId}/${user}`;
    // Writes to one user that overlap may commit in either order: their answers are ambiguous.
    const active = activeWrites.get(userKey) ?? new Set<number>();
    activeWrites.set(userKey, active);
    if (active.size > 0) for (const j of [...active, i]) ambiguous.add(j);
    active.add(i);
    try {
      const written = await (clients[a] as ReturnType<typeof controlClient>).call("putInlinePolicy", {
        entityType: EntityType.ENTITY_TYPE_USER,
        entityName: user,
        policyName: "visible",
        policyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: effect, Action: "sqs:SendMessage", Resource: queue }],
        }),
      });
      const committed = performance.now();
      const principal = {
        arn: `arn:aws:iam::${account.accountId}:user/${user}`,
        accountId: account.accountId,
        name: user,
      };
      const answer = await authorize(
        AuthorizeRequest.fromPartial({
          ...authorizeRequest(principal, 0),
          action: "sqs:SendMessage",
          resource: queue,
          minRevision: written.revision,
        }),
      );
      latenciesMs.push(performance.now() - committed);
      answered.push({ accountId: account.accountId, revision: Number(written.revision.revision), atMs: Date.now() });
      active.delete(i);
      const want = effect === "Allow" ? Decision.DECISION_ALLOW : Decision.DECISION_EXPLICIT_DENY;
      // Another write to the same user in flight meanwhile may be applied by then, with the
      // opposite effect: only the revision is checked for those.
      const overlapped = ambiguous.has(i);
      if (overlapped) overlapping++;
      const behind = Number(answer.evaluatedAt?.revision ?? 0) < Number(written.revision.revision);
      if ((answer.decision !== want && !overlapped) || behind) wrong++;
    } catch (e) {
      active.delete(i);
      failed++;
      firstError ||= e instanceof Error ? e.message : String(e);
    }
  };
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(p.total, Math.floor(((performance.now() - started) / 1000) * p.rate) + 1);
      while (sent < due) pending.push(one(sent++));
      if (sent >= p.total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  for (const c of clients) c.close();
  authorizer.close();
  return { latenciesMs, answered, seconds, wrong, overlapping, failed, firstError };
}

/** Runs the change→visible load in a worker thread. */
export function runVisible(p: VisibleRun): Promise<VisibleResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: p });
    worker.once("message", (r: VisibleResult) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

if (!isMainThread && parentPort !== null && (workerData as { rate?: unknown } | null)?.rate !== undefined) {
  const port = parentPort;
  void run(workerData as VisibleRun).then((r) => port.postMessage(r));
}
