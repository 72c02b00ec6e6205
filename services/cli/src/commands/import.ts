import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type CliIo, clientFor, print } from "../client.ts";
import { FlagValueError } from "../iam/flag-values.ts";
import { parseAwsIamExport } from "../import/aws-iam-export.ts";
import { type ImportItem, importAwsIam } from "../import/import-aws-iam.ts";
import { createProgress } from "../progress.ts";

const shape = (items: readonly ImportItem[]) =>
  items.map((i) => ({ Type: i.type, Name: i.name, ...(i.reason === undefined ? {} : { Reason: i.reason }) }));

/**
 * `gatehouse import aws-iam --file details.json`: recreates the output of
 * `aws iam get-account-authorization-details` in the caller's account, idempotently, and prints
 * what it created, updated, skipped and refused (and why). A progress bar goes to stderr on a terminal.
 */
export function registerImport(group: Command, io: CliIo): void {
  group
    .command("aws-iam")
    .description("Import an `aws iam get-account-authorization-details` export into the caller's account")
    .option("--file <path>", "the export (JSON)")
    .argument("[file]", "the export, when --file is not given")
    .action(async (file: string | undefined, opts: { file?: string }, command: Command) => {
      const path = opts.file ?? file;
      if (path === undefined) throw new FlagValueError("--file", "name the export: --file details.json");
      let text: string;
      try {
        text = readFileSync(path.replace(/^file:\/\//, ""), "utf8");
      } catch (e) {
        throw new FlagValueError("--file", `cannot read ${path}: ${(e as Error).message}`);
      }
      let data: ReturnType<typeof parseAwsIamExport>;
      try {
        data = parseAwsIamExport(text);
      } catch (e) {
        throw new FlagValueError("--file", (e as Error).message);
      }
      const { gh, options } = clientFor(command, io, "control-plane");
      const progress = createProgress("import");
      try {
        const report = await importAwsIam(gh, data, (done, total, what) => progress.update(done, total, what));
        progress.stop();
        print(io, options, {
          AccountId: report.accountId,
          Summary: {
            Created: report.created.length,
            Updated: report.updated.length,
            Skipped: report.skipped.length,
            Refused: report.refused.length,
          },
          Created: shape(report.created),
          Updated: shape(report.updated),
          Skipped: shape(report.skipped),
          Refused: shape(report.refused),
        });
      } finally {
        progress.stop();
        gh.close();
      }
    });
}
