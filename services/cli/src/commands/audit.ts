import type { AuditEvent } from "@gatehouse/proto";
import type { Command } from "commander";
import { type CliIo, clientFor, print } from "../client.ts";
import { inOperation } from "../errors.ts";
import { FlagValueError } from "../iam/flag-values.ts";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time from a flag: a duration back from `now` (`90s`, `15m`, `1h`, `7d`) or an ISO
 * 8601 time (`2026-12-04T10:00:00Z`). Exported for its unit test.
 */
export function timeFlag(flag: string, raw: string | undefined, now: number): number | undefined {
  if (raw === undefined) return undefined;
  const ago = /^(\d{1,9})([smhd])$/.exec(raw);
  if (ago !== null) return now - Number(ago[1]) * (UNITS[ago[2] as string] as number);
  const at = /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new FlagValueError(
      flag,
      `expected a duration such as 1h, 30m, 7d or an ISO time, got ${JSON.stringify(raw)}`,
    );
  }
  return at;
}

/** One recorded call, named as CloudTrail's LookupEvents names its fields. */
function shape(e: AuditEvent): Record<string, unknown> {
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(e.principalArn)?.[1];
  return {
    EventId: e.eventId,
    EventTime: new Date(Number(e.eventTimeMs)).toISOString(),
    EventName: e.operation,
    // CloudTrail's event source: the control plane's calls are IAM's; a region serves STS and Authorize.
    EventSource: e.region === "" ? "iam" : e.operation === "Authorize" ? "authorizer" : "sts",
    ...(e.region === "" ? {} : { AwsRegion: e.region }),
    ...(user === undefined ? {} : { Username: user }),
    PrincipalArn: e.principalArn,
    AccessKeyId: e.accessKeyId,
    ...(e.accountId === "" ? {} : { AccountId: e.accountId }),
    ...(e.sourceIp === "" ? {} : { SourceIPAddress: e.sourceIp }),
    RequestParameters: JSON.parse(e.requestParametersJson === "" ? "{}" : e.requestParametersJson),
    ...(e.responseElementsJson === "" ? {} : { ResponseElements: JSON.parse(e.responseElementsJson) }),
    ...(e.errorName === "" ? {} : { ErrorCode: e.errorName, GrpcStatus: e.errorCode }),
    ...(Number(e.revision) === 0 ? {} : { Revision: Number(e.revision) }),
  };
}

/**
 * `gatehouse audit lookup [--user alice] [--operation CreateUser] [--since 1h] [--until …]
 * [--account 111122223333] [--max-items 50]`: the audit trail, newest first, over the SDK's
 * `lookupEvents` (needs `iam:LookupEvents`; the operator may name any account).
 */
export function registerAudit(audit: Command, io: CliIo): void {
  audit
    .command("lookup")
    .description("Recorded calls, newest first (needs iam:LookupEvents)")
    .option("--user <name>", "only calls by this IAM user")
    .option("--operation <name>", "only calls of this operation (CreateUser)")
    .option("--since <when>", "only events since: a duration back (1h, 30m, 7d) or an ISO time")
    .option("--until <when>", "only events before: a duration back or an ISO time")
    .option("--account <id>", "only this account (the operator; others see their own)")
    .option("--max-items <n>", "print at most this many events", "50")
    .action(
      async (
        opts: { user?: string; operation?: string; since?: string; until?: string; account?: string; maxItems: string },
        command: Command,
      ) => {
        if (!/^\d{1,6}$/.test(opts.maxItems) || Number(opts.maxItems) < 1) {
          throw new FlagValueError(
            "--max-items",
            `expected a whole number from 1, got ${JSON.stringify(opts.maxItems)}`,
          );
        }
        const maxItems = Number(opts.maxItems);
        const now = Date.now();
        const since = timeFlag("--since", opts.since, now);
        const until = timeFlag("--until", opts.until, now);
        const { gh, options } = clientFor(command, io, "control-plane");
        const events: Record<string, unknown>[] = [];
        try {
          await inOperation("LookupEvents", async () => {
            const input = {
              ...(opts.user === undefined ? {} : { userName: opts.user }),
              ...(opts.operation === undefined ? {} : { operation: opts.operation }),
              ...(opts.account === undefined ? {} : { accountId: opts.account }),
              ...(since === undefined ? {} : { startTimeMs: since }),
              ...(until === undefined ? {} : { endTimeMs: until }),
              maxItems: Math.min(maxItems, 1000),
            };
            for await (const e of gh.iam.paginate.lookupEvents(input)) {
              events.push(shape(e));
              if (events.length >= maxItems) break;
            }
          });
        } finally {
          gh.close();
        }
        print(io, options, { Events: events });
      },
    );
}
