import type { Command } from "commander";
import { type CliIo, clientFor, print } from "../client.ts";
import { inOperation } from "../errors.ts";
import { toAwsShape } from "../iam/aws-shape.ts";
import { FlagValueError } from "../iam/flag-values.ts";

function seconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw))
    throw new FlagValueError("--duration-seconds", `expected a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * `gatehouse sts get-caller-identity|assume-role|get-session-token`, named as `aws sts` names them,
 * over the SDK's `sts` client and so the region's StsService (served by its deciders). Each prints
 * the answer's `Region` (the region that issued it) and `Endpoint`, as `authz authorize` does.
 */
export function registerSts(sts: Command, io: CliIo): void {
  sts
    .command("get-caller-identity")
    .description("Who the credentials belong to")
    .action(async (_opts: unknown, command: Command) => {
      const { gh, options } = clientFor(command, io, "region");
      try {
        print(io, options, toAwsShape(await inOperation("GetCallerIdentity", () => gh.sts.getCallerIdentity())));
      } finally {
        gh.close();
      }
    });
  sts
    .command("assume-role")
    .description("Temporary credentials of a role session")
    .requiredOption("--role-arn <arn>")
    .requiredOption("--role-session-name <name>")
    .option("--duration-seconds <n>")
    .option("--external-id <id>")
    .option("--serial-number <arn>")
    .option("--token-code <code>")
    .option("--source-identity <value>", "the session's source identity (needs sts:SetSourceIdentity)")
    .action(
      async (
        opts: {
          roleArn: string;
          roleSessionName: string;
          durationSeconds?: string;
          externalId?: string;
          serialNumber?: string;
          tokenCode?: string;
          sourceIdentity?: string;
        },
        command: Command,
      ) => {
        const durationSeconds = seconds(opts.durationSeconds);
        const { gh, options } = clientFor(command, io, "region");
        try {
          const r = await inOperation("AssumeRole", () =>
            gh.sts.assumeRole({
              roleArn: opts.roleArn,
              roleSessionName: opts.roleSessionName,
              ...(durationSeconds === undefined ? {} : { durationSeconds }),
              ...(opts.externalId === undefined ? {} : { externalId: opts.externalId }),
              ...(opts.serialNumber === undefined ? {} : { serialNumber: opts.serialNumber }),
              ...(opts.tokenCode === undefined ? {} : { tokenCode: opts.tokenCode }),
              ...(opts.sourceIdentity === undefined ? {} : { sourceIdentity: opts.sourceIdentity }),
            }),
          );
          print(io, options, toAwsShape(r));
        } finally {
          gh.close();
        }
      },
    );
  sts
    .command("get-session-token")
    .description("Temporary credentials of the calling user (with MFA: --serial-number and --token-code)")
    .option("--duration-seconds <n>")
    .option("--serial-number <arn>")
    .option("--token-code <code>")
    .action(async (opts: { durationSeconds?: string; serialNumber?: string; tokenCode?: string }, command: Command) => {
      const durationSeconds = seconds(opts.durationSeconds);
      const { gh, options } = clientFor(command, io, "region");
      try {
        const r = await inOperation("GetSessionToken", () =>
          gh.sts.getSessionToken({
            ...(durationSeconds === undefined ? {} : { durationSeconds }),
            ...(opts.serialNumber === undefined ? {} : { serialNumber: opts.serialNumber }),
            ...(opts.tokenCode === undefined ? {} : { tokenCode: opts.tokenCode }),
          }),
        );
        print(io, options, toAwsShape(r));
      } finally {
        gh.close();
      }
    });
}
