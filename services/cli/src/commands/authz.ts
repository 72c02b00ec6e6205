import type {
  AuthorizeInput,
  BatchAuthorizePrincipalInput,
  ContextInput,
  PrincipalCheckInput,
  PrincipalInput,
  RevisionToken,
} from "@gatehouse/sdk";
import type { Command } from "commander";
import { type CliIo, clientFor, print } from "../client.ts";
import { inOperation } from "../errors.ts";
import { FlagValueError, loadValue } from "../iam/flag-values.ts";

/** `--context a=1 b=2 --context c=3`: every pair, however the flag was repeated. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `--context key=value` (repeat a key for a list: `--context k=a --context k=b`), or
 * `--context key:number=5` / `key:bool=true` for typed values, or `--context-json file://ctx.json`.
 */
export function parseContext(entries: readonly string[], json: string | undefined): ContextInput {
  const out: Record<string, string | number | boolean | string[]> = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(loadValue("--context-json", json));
    } catch (e) {
      throw new FlagValueError("--context-json", `not valid JSON: ${(e as Error).message}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new FlagValueError("--context-json", "expected a JSON object of key → value");
    }
    Object.assign(out, parsed);
  }
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new FlagValueError("--context", `expected key=value, got ${JSON.stringify(entry)}`);
    let key = entry.slice(0, eq);
    const raw = entry.slice(eq + 1);
    let value: string | number | boolean = raw;
    const typed = /^(.*):(number|bool)$/.exec(key);
    if (typed !== null) {
      key = typed[1] as string;
      if (typed[2] === "number") {
        value = Number(raw);
        if (raw.trim() === "" || Number.isNaN(value))
          throw new FlagValueError("--context", `${key}: not a number: ${raw}`);
      } else if (raw === "true" || raw === "false") value = raw === "true";
      else throw new FlagValueError("--context", `${key}: expected true or false, got ${raw}`);
    }
    const prior = out[key];
    if (prior === undefined) out[key] = value;
    else if (typeof value !== "string") throw new FlagValueError("--context", `${key} is given twice`);
    else out[key] = [...(Array.isArray(prior) ? prior : [String(prior)]), value];
  }
  return out;
}

function principalOf(opts: { principalArn?: string; accessKeyId?: string }): PrincipalInput {
  if (opts.principalArn !== undefined && opts.accessKeyId === undefined) return { principalArn: opts.principalArn };
  if (opts.accessKeyId !== undefined && opts.principalArn === undefined) return { accessKeyId: opts.accessKeyId };
  throw new FlagValueError("--principal-arn", "give exactly one of --principal-arn and --access-key-id");
}

/**
 * `--min-revision`: `N` (of the principal's account, any history), or `N@EPOCH` as a write's
 * `Revision` shows it (`Revision` and `Epoch`): met only in that control-plane history, which
 * needs the account, so `--principal-arn`.
 */
function revisionOf(raw: string | undefined, principalArn: string | undefined): number | RevisionToken | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)(?:@(\d+:\d+))?$/.exec(raw);
  if (m === null) {
    throw new FlagValueError(
      "--min-revision",
      `expected a revision number, or REVISION@EPOCH as a write's Revision shows them, got ${JSON.stringify(raw)}`,
    );
  }
  const revision = Number(m[1]);
  if (m[2] === undefined) return revision;
  const accountId = principalArn === undefined ? undefined : /^arn:[^:]+:iam::(\d{12}):/.exec(principalArn)?.[1];
  if (accountId === undefined) {
    throw new FlagValueError("--min-revision", "a revision with an epoch needs --principal-arn (its account)");
  }
  return { accountId, revision, epoch: m[2] };
}

function readPolicy(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  return raw.startsWith("file://") ? loadValue(flag, raw) : raw;
}

interface CheckOptions {
  principalArn?: string;
  accessKeyId?: string;
  context: string[];
  contextJson?: string;
  minRevision?: string;
  resourcePolicy?: string;
}

/**
 * `gatehouse authz authorize|batch-authorize|batch-authorize-principal|simulate` against the configured region.
 *
 * @example
 * gatehouse authz authorize --principal-arn arn:aws:iam::111122223333:user/alice \
 *   --action s3:GetObject --resource arn:aws:s3:::b/k --context aws:SourceIp=10.0.0.1 --explain
 */
export function registerAuthz(authz: Command, io: CliIo): void {
  const principalOptions = (c: Command) =>
    c
      .option("--principal-arn <arn>", "the user or role asking")
      .option("--access-key-id <id>", "…or the access key it authenticated with")
      .option(
        "--context <key=value...>",
        "request context: key=value pairs (a key given twice is a list; key:number=5, key:bool=true)",
        collect,
        [],
      )
      .option("--context-json <json>", "request context as a JSON object (or file://ctx.json)")
      .option("--resource-policy <arn|json>", "a stored resource policy's ARN, or a document (file://p.json)")
      .option(
        "--min-revision <n[@epoch]>",
        "answer only at this revision of the principal's account or later (with @epoch: of that control-plane history)",
      );

  principalOptions(
    authz
      .command("authorize")
      .alias("check")
      .description("May the principal do this action on this resource? Prints the decision")
      .requiredOption("--action <action>", "e.g. s3:GetObject")
      .requiredOption("--resource <arn>", "the resource's ARN"),
  )
    .option("--resource-account <id>", "the resource's account (default: the principal's)")
    .option("--max-staleness-ms <ms>", "refuse to answer from a region staler than this")
    .option("--explain", "add the engine's explanation")
    .action(
      async (
        opts: CheckOptions & {
          action: string;
          resource: string;
          resourceAccount?: string;
          maxStalenessMs?: string;
          explain?: boolean;
        },
        command: Command,
      ) => {
        const minRevision = revisionOf(opts.minRevision, opts.principalArn);
        const resourcePolicy = readPolicy("--resource-policy", opts.resourcePolicy);
        const input: AuthorizeInput = {
          ...principalOf(opts),
          action: opts.action,
          resource: opts.resource,
          context: parseContext(opts.context, opts.contextJson),
          explain: opts.explain === true,
          ...(opts.resourceAccount === undefined ? {} : { resourceAccount: opts.resourceAccount }),
          ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
          ...(minRevision === undefined ? {} : { minRevision }),
          ...(opts.maxStalenessMs === undefined ? {} : { maxStalenessMs: Number(opts.maxStalenessMs) }),
        };
        const { gh, options } = clientFor(command, io, "region");
        try {
          const r = await inOperation("Authorize", () => gh.authz.authorize(input));
          print(io, options, {
            Decision: r.decision,
            ...(r.evaluatedAt === undefined
              ? {}
              : { EvaluatedAt: { AccountId: r.evaluatedAt.accountId, Revision: r.evaluatedAt.revision } }),
            // Which region (and decider) answered: the SDK routes and fails over across them.
            Region: r.region,
            Endpoint: r.endpoint,
            ...(r.explanation === undefined ? {} : { Explanation: r.explanation }),
          });
        } finally {
          gh.close();
        }
      },
    );

  principalOptions(
    authz
      .command("simulate")
      .description("The principal's policies, plus extra ones, for each action × resource (always explained)")
      .requiredOption("--action-names <actions...>", "actions to simulate")
      .option("--resource-arns <arns...>", "resources (default *)"),
  )
    .option("--policy-input-list <json...>", "extra identity policies (documents or file://p.json)")
    .option("--permissions-boundary-policy-input <json>", "a boundary document replacing the principal's")
    .action(
      async (
        opts: CheckOptions & {
          actionNames: string[];
          resourceArns?: string[];
          policyInputList?: string[];
          permissionsBoundaryPolicyInput?: string;
        },
        command: Command,
      ) => {
        const minRevision = revisionOf(opts.minRevision, opts.principalArn);
        const resourcePolicy = readPolicy("--resource-policy", opts.resourcePolicy);
        const boundary = readPolicy("--permissions-boundary-policy-input", opts.permissionsBoundaryPolicyInput);
        const { gh, options } = clientFor(command, io, "region");
        try {
          const results = await inOperation("Simulate", () =>
            gh.authz.simulate({
              ...principalOf(opts),
              actions: opts.actionNames,
              resources: opts.resourceArns ?? ["*"],
              context: parseContext(opts.context, opts.contextJson),
              extraIdentityPolicies: (opts.policyInputList ?? []).map(
                (p) => readPolicy("--policy-input-list", p) as string,
              ),
              ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
              ...(boundary === undefined ? {} : { permissionBoundary: boundary }),
              ...(minRevision === undefined ? {} : { minRevision }),
            }),
          );
          // The shape of `aws iam simulate-principal-policy`.
          print(io, options, {
            EvaluationResults: results.map((r) => ({
              EvalActionName: r.action,
              EvalResourceName: r.resource,
              EvalDecision:
                r.decision === "Allow" ? "allowed" : r.decision === "ExplicitDeny" ? "explicitDeny" : "implicitDeny",
              Explanation: r.explanation,
            })),
          });
        } finally {
          gh.close();
        }
      },
    );

  authz
    .command("batch-authorize")
    .description("Up to 1,000 checks from a JSON file: [{principalArn, action, resource, context?}, …]")
    .requiredOption("--requests <json>", "the checks, as a JSON array (or file://checks.json)")
    .action(async (opts: { requests: string }, command: Command) => {
      let checks: AuthorizeInput[];
      try {
        checks = JSON.parse(loadValue("--requests", opts.requests));
      } catch (e) {
        throw new FlagValueError("--requests", `not valid JSON: ${(e as Error).message}`);
      }
      if (!Array.isArray(checks)) throw new FlagValueError("--requests", "expected a JSON array of checks");
      const { gh, options } = clientFor(command, io, "region");
      try {
        const results = await inOperation("BatchAuthorize", () => gh.authz.batchAuthorize(checks));
        print(io, options, {
          Results: results.map((r) =>
            r instanceof Error ? { Error: { Code: r.awsName, Message: r.message } } : { Decision: r.decision },
          ),
        });
      } finally {
        gh.close();
      }
    });

  authz
    .command("batch-authorize-principal")
    .description(
      "Up to 1,000 checks of one principal under one context: --checks '[{action, resource, resourceAccount?, resourcePolicy?}, …]'",
    )
    .option("--principal-arn <arn>", "the user or role asking")
    .option("--access-key-id <id>", "…or the access key it authenticated with")
    .option(
      "--context <key=value...>",
      "request context of every check: key=value pairs (a key given twice is a list; key:number=5, key:bool=true)",
      collect,
      [],
    )
    .option("--context-json <json>", "request context as a JSON object (or file://ctx.json)")
    .option(
      "--min-revision <n[@epoch]>",
      "answer only at this revision of the principal's account or later (with @epoch: of that control-plane history)",
    )
    .option("--max-staleness-ms <ms>", "refuse to answer from a region staler than this")
    .requiredOption("--checks <json>", "the checks, as a JSON array (or file://checks.json)")
    .action(
      async (
        opts: Omit<CheckOptions, "resourcePolicy"> & { checks: string; maxStalenessMs?: string },
        command: Command,
      ) => {
        let checks: unknown;
        try {
          checks = JSON.parse(loadValue("--checks", opts.checks));
        } catch (e) {
          throw new FlagValueError("--checks", `not valid JSON: ${(e as Error).message}`);
        }
        if (!Array.isArray(checks)) throw new FlagValueError("--checks", "expected a JSON array of checks");
        const parsed = checks.map((c: unknown, i): PrincipalCheckInput => {
          const check = c as Partial<Record<keyof PrincipalCheckInput, unknown>> | null;
          if (check === null || typeof check !== "object" || typeof check.action !== "string") {
            throw new FlagValueError("--checks", `check ${i}: expected {"action": "…", "resource": "…"}`);
          }
          if (typeof check.resource !== "string")
            throw new FlagValueError("--checks", `check ${i}: resource is missing`);
          return check as PrincipalCheckInput;
        });
        const minRevision = revisionOf(opts.minRevision, opts.principalArn);
        const input: BatchAuthorizePrincipalInput = {
          ...(principalOf(opts) as { principalArn: string } | { accessKeyId: string }),
          context: parseContext(opts.context, opts.contextJson),
          checks: parsed,
          ...(minRevision === undefined ? {} : { minRevision }),
          ...(opts.maxStalenessMs === undefined ? {} : { maxStalenessMs: Number(opts.maxStalenessMs) }),
        };
        const { gh, options } = clientFor(command, io, "region");
        try {
          const results = await inOperation("BatchAuthorizePrincipal", () => gh.authz.batchAuthorizePrincipal(input));
          print(io, options, {
            Results: results.map((r, i) => ({
              Action: parsed[i]?.action,
              Resource: parsed[i]?.resource,
              ...(r instanceof Error ? { Error: { Code: r.awsName, Message: r.message } } : { Decision: r.decision }),
            })),
          });
        } finally {
          gh.close();
        }
      },
    );
}
