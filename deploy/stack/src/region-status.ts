import { AuthorizeRequest, type AuthorizeResponse, GetRegionStatusRequest } from "@gatehouse/proto";
import { authorizerClient, rpc } from "./grpc-clients.ts";
import type { StackRegion } from "./stack-config.ts";

/** One region's figures for the status line. */
export interface RegionFigures {
  readonly region: string;
  /** The demo account's applied revision in the region (0 before any), or undefined when no decider answered. */
  readonly revision?: number;
  /** Milliseconds since the region's oldest partition watermark; -1 when none was seen yet. */
  readonly stalenessMs?: number;
  /** Deciders of the region that answered. */
  readonly decidersUp: number;
  readonly deciders: number;
}

/** Asks every decider of `region` for GetRegionStatus; the figures come from the first that answers. */
export async function regionFigures(region: StackRegion, accountId: string | undefined): Promise<RegionFigures> {
  const answers = await Promise.all(
    region.deciders.map(async (address) => {
      const c = authorizerClient(address);
      try {
        return await rpc(c.getRegionStatus.bind(c), GetRegionStatusRequest.fromPartial({ pageSize: 1000 }), 2000);
      } catch {
        return undefined;
      } finally {
        c.close();
      }
    }),
  );
  const first = answers.find((a) => a !== undefined);
  const base = {
    region: region.name,
    decidersUp: answers.filter((a) => a !== undefined).length,
    deciders: region.deciders.length,
  };
  if (first === undefined) return base;
  const applied = first.accounts.find((a) => a.accountId === accountId);
  return { ...base, revision: applied?.revision ?? 0, stalenessMs: first.stalenessMs };
}

/**
 * One status line: the control plane's revision of the demo account, then per region the
 * applied revision, staleness and deciders answering.
 * @example
 * formatStatusLine(42, figures) // "cp rev 42 | us-east-1 rev 42 stale 180ms 2/2 | …"
 */
export function formatStatusLine(controlPlaneRevision: number | undefined, figures: readonly RegionFigures[]): string {
  const cp = controlPlaneRevision === undefined ? "cp down" : `cp rev ${controlPlaneRevision}`;
  const regions = figures.map((f) => {
    if (f.revision === undefined) return `${f.region} down 0/${f.deciders}`;
    const stale = f.stalenessMs === undefined || f.stalenessMs < 0 ? "stale ?" : `stale ${f.stalenessMs}ms`;
    return `${f.region} rev ${f.revision} ${stale} ${f.decidersUp}/${f.deciders}`;
  });
  return [cp, ...regions].join(" | ");
}

/**
 * Authorize through one decider at `minRevision` of `accountId` (read-your-writes): resolves once
 * the decider has applied that revision, with its decision.
 */
export async function authorizeAt(
  address: string,
  request: { principalArn: string; action: string; resource: string; accountId: string; minRevision: number },
  timeoutMs = 30_000,
): Promise<AuthorizeResponse> {
  const c = authorizerClient(address);
  try {
    return await rpc(
      c.authorize.bind(c),
      AuthorizeRequest.fromPartial({
        principal: { kind: { $case: "arn", value: request.principalArn } },
        action: request.action,
        resource: request.resource,
        minRevision: { accountId: request.accountId, revision: request.minRevision },
      }),
      timeoutMs,
    );
  } finally {
    c.close();
  }
}
