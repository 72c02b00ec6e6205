import { type ReportState, reportStateToJSON } from "@gatehouse/proto";
import {
  type Gatehouse,
  type IamOperationName,
  type IamOperationSpec,
  iamOperations,
  inputFieldsOf,
  isPaged,
} from "@gatehouse/sdk";
import { type Command, Option } from "commander";
import { type CliIo, clientFor, print } from "../client.ts";
import { inOperation } from "../errors.ts";
import { toAwsShape } from "../iam/aws-shape.ts";
import { convertFlag, FlagValueError, flagOf, kebab } from "../iam/flag-values.ts";
import { type RequestField, requestFieldsOf, rpcComment } from "../iam/request-fields.ts";

/** The AWS operation name of an SDK method (`putUserPolicy` → `PutUserPolicy`), for messages. */
export function awsOperationName(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1);
}

/** `gatehouse iam <command>` for an SDK method name: `putUserPolicy` → `put-user-policy`. */
export function commandNameOf(method: string): string {
  return kebab(method);
}

function fieldsOf(spec: IamOperationSpec): { input: string; field: RequestField }[] {
  const request = new Map(requestFieldsOf(spec.rpc).map((f) => [f.name, f]));
  return inputFieldsOf(spec).map((input) => {
    const field = request.get(spec.rename[input] ?? input);
    if (field === undefined) throw new Error(`${spec.rpc}: the proto has no field for ${input}`);
    return { input, field };
  });
}

function optionsFor(input: string, field: RequestField): Option[] {
  const flag = `--${flagOf(input)}`;
  const help = field.comment?.replace(/\s+/g, " ");
  if (field.type === "bool") {
    return [new Option(flag, help), new Option(`--no-${flagOf(input)}`, `the opposite of ${flag}`)];
  }
  const hint =
    field.type === "Tag"
      ? "Key=k,Value=v… or JSON"
      : field.repeated
        ? "values..."
        : field.type === "string"
          ? "value"
          : "number";
  return [new Option(`${flag} <${hint.replace("...", "")}${field.repeated ? "..." : ""}>`, help)];
}

type PageResult = Record<string, unknown> & { page?: { isTruncated: boolean; marker: string } };

/**
 * Runs a paged operation the way the AWS CLI does: every page, lists merged, unless
 * `--max-items` caps the total (then `NextToken` says where to go on with `--starting-token`).
 */
async function allPages(
  call: (input: Record<string, unknown>) => Promise<PageResult>,
  input: Record<string, unknown>,
  maxItems: number | undefined,
  pageSize: number | undefined,
  startingToken: string | undefined,
): Promise<Record<string, unknown>> {
  let marker = startingToken ?? "";
  let merged: Record<string, unknown> | undefined;
  let count = 0;
  for (;;) {
    const size = Math.min(pageSize ?? 100, maxItems === undefined ? 1000 : maxItems - count);
    const page = await call({ ...input, marker, maxItems: size });
    const { page: cursor, ...rest } = page;
    if (merged === undefined) merged = rest;
    else {
      for (const [k, v] of Object.entries(rest)) {
        if (Array.isArray(v)) merged[k] = [...((merged[k] as unknown[]) ?? []), ...v];
      }
    }
    count += Object.values(rest).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
    if (cursor?.isTruncated !== true || cursor.marker === "") return merged;
    marker = cursor.marker;
    if (maxItems !== undefined && count >= maxItems) return { ...merged, nextToken: marker };
  }
}

/**
 * Where an operation's answer differs from the AWS CLI's beyond naming: `create-access-key`
 * prints the secret inside `AccessKey`, as AWS does (the wire keeps it beside the metadata).
 */
function awsOutput(method: string, shaped: Record<string, unknown>): Record<string, unknown> {
  if (method === "createAccessKey" && typeof shaped.SecretAccessKey === "string") {
    const { SecretAccessKey, AccessKey, ...rest } = shaped;
    return { AccessKey: { ...(AccessKey as object), SecretAccessKey }, ...rest };
  }
  // AWS's ReportStateType is a name (`COMPLETE`) and GeneratedTime a date.
  if (method === "generateCredentialReport" && typeof shaped.State === "number") {
    return { ...shaped, State: reportStateToJSON(shaped.State as ReportState).replace(/^REPORT_STATE_/, "") };
  }
  if (method === "getCredentialReport" && typeof shaped.GeneratedTimeMs === "number") {
    const { GeneratedTimeMs, ...rest } = shaped;
    return { ...rest, GeneratedTime: new Date(GeneratedTimeMs).toISOString() };
  }
  return shaped;
}

/** Commander's property for a flag: `authentication-code1` → `authenticationCode1`. */
function attributeOf(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function positiveInt(flag: string) {
  return (raw: string) => {
    if (!/^\d+$/.test(raw) || Number(raw) < 1)
      throw new FlagValueError(flag, `expected a positive whole number, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
}

/**
 * Registers `gatehouse iam <op>` for every operation of the SDK's table, its flags generated from
 * the request message in the proto (names as the `aws iam` CLI spells them, help from the comments).
 *
 * @example
 * gatehouse iam create-user --user-name alice
 * gatehouse iam put-user-policy --user-name alice --policy-name read --policy-document file://p.json
 * gatehouse --output table iam list-users
 */
export function registerIam(iam: Command, io: CliIo): void {
  for (const [method, spec] of Object.entries(iamOperations) as [IamOperationName, IamOperationSpec][]) {
    const fields = fieldsOf(spec);
    const cmd = iam.command(commandNameOf(method));
    // The first sentence of the proto comment: the rest is for `--help` readers of the proto.
    const comment = rpcComment(spec.rpc)
      ?.replace(/\s+/g, " ")
      .split(/(?<=[.:])\s/)[0];
    cmd.description(
      `${awsOperationName(method)}${spec.rpc.toLowerCase() === method.toLowerCase() ? "" : ` (${spec.rpc})`}${comment === undefined ? "" : `: ${comment}`}`,
    );
    for (const { input, field } of fields) for (const o of optionsFor(input, field)) cmd.addOption(o);
    if (isPaged(spec.rpc)) {
      cmd.option("--max-items <n>", "stop after this many items and print a NextToken", positiveInt("--max-items"));
      cmd.option("--page-size <n>", "items per call (1..1000)", positiveInt("--page-size"));
      cmd.option("--starting-token <token>", "the NextToken of an earlier --max-items run");
    }
    cmd.option("--client-request-token <token>", "idempotency token of a write (default: one made per call)");
    if (method === "getCredentialReport") {
      cmd.option("--aws-shape", "print AWS's answer (Content base64, ReportFormat, GeneratedTime) instead of the CSV");
    }
    cmd.action(async (opts: Record<string, unknown>, command: Command) => {
      const input: Record<string, unknown> = {};
      for (const { input: name, field } of fields) {
        const raw = opts[attributeOf(flagOf(name))];
        if (raw === undefined) continue;
        input[name] = convertFlag(field, `--${flagOf(name)}`, raw);
      }
      if (typeof opts.clientRequestToken === "string") input.clientRequestToken = opts.clientRequestToken;
      const { gh, options } = clientFor(command, io, "control-plane");
      try {
        const call = (i: Record<string, unknown>) =>
          (gh.iam as unknown as Record<string, (x: unknown) => Promise<PageResult>>)[method]?.(
            i,
          ) as Promise<PageResult>;
        const result = await inOperation(awsOperationName(method), () =>
          isPaged(spec.rpc)
            ? allPages(
                call,
                input,
                opts.maxItems as number | undefined,
                opts.pageSize as number | undefined,
                opts.startingToken as string | undefined,
              )
            : call(input),
        );
        if (method === "getCredentialReport" && opts.awsShape !== true) {
          // The report itself, as `aws iam get-credential-report --query Content --output text | base64 -d` gives it.
          io.write(Buffer.from((result as { content: Uint8Array }).content).toString("utf8"));
          return;
        }
        print(io, options, awsOutput(method, toAwsShape(result) as Record<string, unknown>));
      } finally {
        gh.close();
      }
    });
  }
}

export type { Gatehouse };
