// A region across a real failover of the control plane's Postgres: the primary's last revision
// reached the region, the promoted standby (a new timeline) never had it and writes another
// revision under the same number. The events' epoch (`<system identifier>:<timeline>`) is what
// tells the two apart: the region must see the other history, replace the account from the
// control plane's export under the new epoch, and apply on from there.

import { Decision, EntityType, type Revision } from "@gatehouse/proto";
import { Gatehouse } from "@gatehouse/sdk";
import { canRunOwnPostgres, createOwnPostgres } from "@gatehouse/testkit";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import {
  controlClient,
  exportedEntities,
  OPERATOR,
  startTestControlPlane,
  startTestRegion,
} from "./region-stack.int-helper.ts";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const USER = EntityType.ENTITY_TYPE_USER;

describe.skipIf(!canRunOwnPostgres)(
  "a region follows the control plane's epoch across a Postgres failover (a primary and standby of the test's own, real Kafka, Redis, control plane)",
  () => {
    const closers: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      for (const c of closers.reverse()) await c().catch(() => {});
    });

    it("a revision reused on the promoted standby's timeline: the region replaces the account from the export under the new epoch and applies on", async () => {
      const pg = await createOwnPostgres();
      closers.push(() => pg.close());
      // The control plane's database is the test's own primary; after the failover the promoted
      // standby listens on the same port, so the restarted control plane reaches it unchanged.
      const cp = await startTestControlPlane({
        extraEnv: { GATEHOUSE_PG_URL: pg.primary.url, GATEHOUSE_PG_SCHEMA: "gatehouse" },
      });
      closers.push(() => cp.close());
      const region = await startTestRegion({ topic: cp.topic, controlPlane: cp });
      closers.push(() => region.close());
      const operator = controlClient(cp.address, OPERATOR);
      closers.push(async () => operator.close());
      const account = await operator.call("createAccount", { accountAlias: "" });
      const acct: string = account.accountId;
      const root = controlClient(cp.address, {
        accessKeyId: account.rootAccessKeyId,
        secretAccessKey: account.rootSecretAccessKey,
      });
      closers.push(async () => root.close());
      // A read-your-writes SDK session of the root's: its checks carry its latest write's revision.
      const session = new Gatehouse({
        credentials: { accessKeyId: account.rootAccessKeyId, secretAccessKey: account.rootSecretAccessKey },
        region: "us-east-1",
        endpoints: {
          controlPlane: cp.address,
          regions: { "us-east-1": [`127.0.0.1:${region.region.decider?.port ?? 1}`] },
        },
        env: {},
      }).session();
      closers.push(async () => session.close());

      const alice = await root.call("createUser", { userName: "alice" });
      const reads = await root.call("putInlinePolicy", {
        entityType: USER,
        entityName: "alice",
        policyName: "reads",
        policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
      });
      const ask = async (action: string, minRevision: Revision, arn = alice.user.arn) =>
        (
          await region.authorize({
            principal: { kind: { $case: "arn", value: arn } },
            action,
            resource: "arn:aws:s3:::b/k",
            minRevision,
          })
        ).decision;
      expect(await ask("s3:GetObject", reads.revision)).toBe(Decision.DECISION_ALLOW);

      // The standby copies the primary here and falls behind: the next revision is the primary's only.
      await pg.copyToStandby();
      // Written through the session, whose checks then wait for it.
      const written = await session.iam.putUserPolicy({
        userName: "alice",
        policyName: "writes",
        policyDocument: doc({ Effect: "Allow", Action: "s3:PutObject", Resource: "*" }),
      });
      if (written.revision === undefined) throw new Error("a write returns its revision");
      const lost = { revision: written.revision };
      const put = { principalArn: alice.user.arn, action: "s3:PutObject", resource: "arn:aws:s3:::b/k" };
      expect((await session.authz.authorize(put)).decision).toBe("Allow");
      const lostRevision = Number(lost.revision.revision);
      expect(await ask("s3:PutObject", lost.revision)).toBe(Decision.DECISION_ALLOW);
      const before = await region.region.view.appliedRevision(acct);
      expect(before).toEqual({ revision: lostRevision, epoch: expect.stringMatching(/^\d+:1$/) });
      // A write's revision carries the history it was committed in, as the relay stamps its events.
      expect(lost.revision.epoch).toBe(before.epoch);

      // The failover: the primary dies, the standby is promoted (timeline 2) on the primary's port.
      await cp.stop();
      await pg.primary.stop("immediate");
      await pg.promoteStandby(pg.primary.port);
      await cp.start();

      // The promoted standby reuses the lost revision's number for another write.
      const bob = await root.call("createUser", { userName: "bob" });
      expect(Number(bob.revision.revision)).toBe(lostRevision);
      const epoch = `${before.epoch.split(":")[0]}:2`;
      await expect
        .poll(async () => await region.region.view.appliedRevision(acct), { timeout: 30_000 })
        .toEqual({ revision: lostRevision, epoch });
      expect(region.region.applier?.stats.epochMismatches).toEqual([{ accountId: acct, revision: lostRevision }]);
      expect(region.region.applier?.stats.healed).toBe(1);

      // The region holds the new history's state, the export's exactly: bob, and no lost policy.
      const exported = await operator.call("exportAccount", { accountId: acct, includeSealedSecrets: true });
      const view = await region.region.view.readAccount(acct);
      expect(view.entities).toEqual(exportedEntities(exported.snapshot));
      expect(view.entities.some((e) => e.kind === "user" && e.id === bob.user.userId)).toBe(true);
      // The decider compiled alice at the lost revision (s3:PutObject Allowed above). The replace
      // comes at the same revision number under the new epoch, and its notification is marked
      // `replaced`: L1 drops the lost history's alice whatever her revision, so the lost policy
      // stops allowing once the notification is processed (no token can ask for it: the revision
      // numbers are the same), and what she had before it still allows.
      await expect
        .poll(async () => await ask("s3:PutObject", bob.revision), { timeout: 15_000 })
        .toBe(Decision.DECISION_IMPLICIT_DENY);
      expect(await ask("s3:GetObject", bob.revision)).toBe(Decision.DECISION_ALLOW);
      // The lost write's token names its history: the region, now in the promoted standby's, says
      // that write may be lost (FAILED_PRECONDITION) rather than answer at the new history's
      // revision of the same number, which does not hold it. A token without an epoch cannot tell.
      expect(bob.revision.epoch).toBe(epoch);
      const rewound = await ask("s3:PutObject", lost.revision).then(
        () => undefined,
        (e: unknown) => e as ServiceError,
      );
      expect(rewound?.code).toBe(status.FAILED_PRECONDITION);
      expect(rewound?.details).toContain(`of control-plane history ${before.epoch}, which a failover replaced`);
      expect(await ask("s3:GetObject", { ...lost.revision, epoch: "" })).toBe(Decision.DECISION_ALLOW);
      // The session's checks carried that token: the first is told (HistoryRewoundError), and the
      // session forgets the token, so the next ones answer (the lost policy no longer allows).
      await expect(session.authz.authorize(put)).rejects.toMatchObject({ awsName: "HistoryRewound" });
      expect(session.lastRevision(acct)).toBe(0);
      expect((await session.authz.authorize(put)).decision).toBe("ImplicitDeny");

      // And applies the new history's next revisions as they come, under its epoch.
      const bobReads = await root.call("putInlinePolicy", {
        entityType: USER,
        entityName: "bob",
        policyName: "reads",
        policyDocument: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }),
      });
      expect(await ask("s3:GetObject", bobReads.revision, bob.user.arn)).toBe(Decision.DECISION_ALLOW);
      expect(await region.region.view.appliedRevision(acct)).toEqual({ revision: lostRevision + 1, epoch });
      expect(region.region.applier?.stats.gaps).toEqual([]);
      expect(region.region.applier?.stats.epochMismatches).toHaveLength(1);
    }, 240_000);
  },
);
