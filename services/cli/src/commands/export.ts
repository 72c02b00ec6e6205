import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { type CliIo, clientFor } from "../client.ts";
import { inOperation } from "../errors.ts";
import { toAwsShape } from "../iam/aws-shape.ts";
import { createProgress } from "../progress.ts";

/**
 * `gatehouse export aws-iam [--file out.json]`: the caller's account in the format
 * `aws iam get-account-authorization-details` prints (every page), which `import aws-iam` reads.
 */
export function registerExport(group: Command, io: CliIo): void {
  group
    .command("aws-iam")
    .description("The account as `aws iam get-account-authorization-details` prints it (for `import aws-iam`)")
    .option("--file <path>", "write here instead of stdout")
    .action(async (opts: { file?: string }, command: Command) => {
      const { gh } = clientFor(command, io, "control-plane");
      const out = { UserDetailList: [], GroupDetailList: [], RoleDetailList: [], Policies: [] } as Record<
        string,
        unknown[]
      >;
      // The total is unknown until the last page: a count of what was read so far.
      const progress = createProgress("export");
      let read = 0;
      try {
        await inOperation("GetAccountAuthorizationDetails", async () => {
          for await (const page of gh.iam.pages.getAccountAuthorizationDetails({ maxItems: 1000 })) {
            const { Page: _page, ...lists } = toAwsShape(page) as Record<string, unknown[]>;
            for (const [key, items] of Object.entries(lists)) {
              out[key] = [...(out[key] ?? []), ...items];
              read += items.length;
            }
            progress.update(read, 0, "users, groups, roles and policies read");
          }
        });
      } finally {
        progress.stop();
        gh.close();
      }
      const text = `${JSON.stringify(out, null, 4)}\n`;
      if (opts.file === undefined) io.write(text);
      else writeFileSync(opts.file, text);
    });
}
