import type { GetRegionStatusResponse } from "@gatehouse/proto";
import { GatehouseError, resolveClientConfig } from "@gatehouse/sdk";
import type { Command } from "commander";
import { type CliIo, clientFor, type GlobalOptions, print } from "../client.ts";

/**
 * `gatehouse region status`: for each configured region (or `--region`'s alone), what its
 * deciders have applied — accounts and revisions, gaps, staleness, the compiled-principal cache.
 * A region that cannot be reached is listed with its error, and the command exits 254.
 */
export function registerRegion(region: Command, io: CliIo): void {
  region
    .command("status")
    .description("Applied revisions, staleness and cache figures of each configured region")
    .action(async (_opts: unknown, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const config = resolveClientConfig({
        env: io.env,
        ...(global.profile === undefined ? {} : { profile: global.profile }),
        ...(global.region === undefined ? {} : { region: global.region }),
      });
      const names =
        global.region !== undefined || global.endpointUrl !== undefined
          ? [config.region ?? "us-east-1"]
          : Object.keys(config.regions).sort();
      const { gh, options } = clientFor(command, io, "region");
      const regions: Record<string, unknown>[] = [];
      let failed = false;
      try {
        for (const name of names) {
          try {
            const pages: GetRegionStatusResponse[] = [];
            let pageToken = "";
            do {
              const page = await gh.authz.regionStatus({ region: name, pageToken, pageSize: 1000 });
              pages.push(page);
              pageToken = page.nextPageToken;
            } while (pageToken !== "");
            const first = pages[0] as GetRegionStatusResponse;
            const accounts = pages.flatMap((p) => p.accounts);
            regions.push({
              Region: first.region,
              Endpoints: (gh.config.regions[name] ?? []).join(","),
              Accounts: accounts.length,
              HighestRevision: Math.max(0, ...accounts.map((a) => a.revision)),
              Gaps: accounts.filter((a) => a.gap !== "").length,
              StalenessMs: first.stalenessMs,
              CachedPrincipals: first.l1Principals,
              CacheHits: first.l1Hits,
              CacheMisses: first.l1Misses,
              AppliedRevisions: accounts.map((a) => ({
                AccountId: a.accountId,
                Revision: a.revision,
                ...(a.gap === "" ? {} : { Gap: a.gap }),
              })),
            });
          } catch (e) {
            if (!(e instanceof GatehouseError)) throw e;
            failed = true;
            regions.push({
              Region: name,
              Endpoints: (gh.config.regions[name] ?? []).join(","),
              Error: `${e.awsName}: ${e.message}`,
            });
          }
        }
      } finally {
        gh.close();
      }
      if (options.output === "table") {
        // The per-account lists would make one row per account; the table is the summary.
        print(io, options, { Regions: regions.map(({ AppliedRevisions: _a, ...summary }) => summary) });
      } else print(io, options, { Regions: regions });
      if (failed) process.exitCode = 254;
    });
}
