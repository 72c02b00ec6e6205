import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEHOUSE_BIN, type ProcessRun, runProcess } from "./run-gatehouse.int-helper.ts";

// The real executable, exactly as `npx gatehouse` runs it (bash launcher → node main.ts).
const bin = GATEHOUSE_BIN;

/**
 * A test here starts the executable once or twice. A start of `policy evaluate|validate` costs
 * 0.15-0.35 s of CPU (0.15 with Node's compile cache warm, 0.3 without; 0.6-0.8 before the command
 * groups were loaded lazily: README "Start-up"), and on 2 cores at load 16 a process gets about an
 * eighth of a core: up to ~3 s a start, over vitest's 5 s default for two. 20 s leaves that margin without hiding a start
 * that grew: `startup.test.ts` checks what a start loads, independently of the machine's load.
 */
const SPAWNING = { timeout: 20_000 };

const gatehouse = (args: string[], stdin = ""): Promise<ProcessRun> => runProcess(bin, args, { stdin });

function outputLines(run: ProcessRun): Record<string, any>[] {
  return run.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

// --- fixture builders -------------------------------------------------------------------------

const account = "111122223333";

function statement(effect: "Allow" | "Deny", action: string | string[], resource: string, extra = {}) {
  return { Effect: effect, Action: action, Resource: resource, ...extra };
}

function policy(...statements: object[]) {
  return { Version: "2012-10-17", Statement: statements };
}

/** An evaluation input line; override any part. */
function anInput(overrides: { policies?: unknown[]; request?: object; [k: string]: unknown } = {}) {
  const { policies, request, ...rest } = overrides;
  return {
    identityPolicies: policies ?? [policy(statement("Allow", "s3:Get*", "arn:aws:s3:::bucket/*"))],
    principal: { arn: `arn:aws:iam::${account}:user/alice`, accountId: account },
    request: { action: "s3:GetObject", resource: "arn:aws:s3:::bucket/key", ...request },
    ...rest,
  };
}

const line = (value: unknown) => JSON.stringify(value);

// --- help -----------------------------------------------------------------------------------

describe("gatehouse help", SPAWNING, () => {
  it("lists the groups, and a group's commands with `help <group>` (its module loaded first)", async () => {
    const top = await gatehouse(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^ {2}iam {2,}Manage identities/m);
    expect(top.stdout).toMatch(/^ {2}help \[command\] {2,}display help for command$/m);
    const iam = await gatehouse(["help", "iam"]);
    expect(iam.code).toBe(0);
    expect(iam.stdout).toMatch(/^Usage: gatehouse iam \[options\] \[command\]$/m);
    expect(iam.stdout).toMatch(/^ {2}create-user \[options\] /m);
    const unknown = await gatehouse(["help", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Usage: gatehouse [options] [command]");
  });
});

// --- policy evaluate --------------------------------------------------------------------------

describe("gatehouse policy evaluate", SPAWNING, () => {
  it("answers every line in order; malformed lines get an error and processing continues", async () => {
    const input = [
      line(anInput()),
      '{"identityPolicies": [',
      line(anInput({ policies: [policy(statement("Deny", "s3:*", "*"), statement("Allow", "*", "*"))] })),
      line({ identityPolicies: [], request: { action: "s3:GetObject", resource: "r" } }),
      "",
      "   ",
      line(
        anInput({ policies: [policy(statement("Allow", "s3:GetObject", "*")), { Statement: [{ Effect: "Permit" }] }] }),
      ),
      line(anInput({ request: { action: "s3:PutObject" } })),
      // A policy given as a JSON string, as IAM's APIs take it.
      line(
        anInput({
          policies: [JSON.stringify(policy(statement("Allow", "s3:PutObject", "*")))],
          request: { action: "s3:PutObject" },
        }),
      ),
      line(anInput({ request: { context: { "aws:TagKeys": ["a", 7] } } })),
      line(anInput({ sessionPolicies: [] })),
    ].join("\n");
    const run = await gatehouse(["policy", "evaluate"], `${input}\n`);
    expect(run.code).toBe(0);
    const out = outputLines(run);
    expect(out).toHaveLength(9); // 11 input lines, 2 blank
    expect(out[0]).toEqual({ decision: "Allow" });
    expect(out[1]?.error).toMatchObject({ code: "InvalidInput", line: 2 });
    expect(out[1]?.error.message).toMatch(/not valid JSON/);
    expect(out[2]).toEqual({ decision: "ExplicitDeny" });
    expect(out[3]?.error).toMatchObject({ code: "InvalidInput", line: 4, field: "principal" });
    expect(out[4]?.error).toMatchObject({ code: "MalformedPolicyDocument", line: 7, field: "identityPolicies[1]" });
    expect(out[4]?.error.message).toMatch(/identityPolicies\[1\]/);
    expect(out[4]?.error.findings).toContainEqual(
      expect.objectContaining({ field: "identityPolicies[1]", severity: "error", code: "invalid-effect" }),
    );
    expect(out[5]).toEqual({ decision: "ImplicitDeny" });
    expect(out[6]).toEqual({ decision: "Allow" });
    expect(out[7]?.error).toMatchObject({ code: "InvalidInput", line: 10 });
    expect(out[7]?.error.message).toContain('request.context["aws:TagKeys"]');
    expect(out[8]?.error).toMatchObject({ code: "InvalidInput", field: "sessionPolicies" });
  });

  it("adds the engine's explanation with --explain", async () => {
    const input = [
      line(anInput()),
      line(anInput({ policies: [policy(statement("Deny", "s3:GetObject", "*", { Sid: "NoReads" }))] })),
    ].join("\n");
    const plain = outputLines(await gatehouse(["policy", "evaluate"], input));
    expect(plain[0]).not.toHaveProperty("explanation");
    const run = await gatehouse(["policy", "evaluate", "--explain"], input);
    expect(run.code).toBe(0);
    const [allowed, denied] = outputLines(run);
    expect(allowed?.decision).toBe("Allow");
    expect(allowed?.explanation.summary).toEqual(expect.any(String));
    expect(denied?.decision).toBe("ExplicitDeny");
    expect(denied?.explanation.decidingStatement).toMatchObject({ sid: "NoReads", effect: "Deny" });
  });

  it("maps sessionPolicy, scps, permissionBoundary and resourceAccount onto the engine", async () => {
    const allowAll = policy(statement("Allow", "*", "*"));
    const input = [
      line(anInput({ policies: [allowAll], sessionPolicy: policy(statement("Allow", "sqs:*", "*")) })),
      line(anInput({ policies: [allowAll], scps: [allowAll, policy(statement("Deny", "s3:GetObject", "*"))] })),
      line(anInput({ policies: [allowAll], permissionBoundary: policy(statement("Allow", "ec2:*", "*")) })),
      // Cross-account without a resource policy: the other account never granted anything.
      line(anInput({ policies: [allowAll], request: { resourceAccount: "444455556666" } })),
      // Context is used exactly as given.
      line(
        anInput({
          policies: [
            policy(
              statement("Allow", "*", "*", { Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": "env" } } }),
            ),
          ],
          request: { context: { "aws:TagKeys": ["team", "env"] } },
        }),
      ),
    ].join("\n");
    const out = outputLines(await gatehouse(["policy", "evaluate"], input));
    expect(out.map((o) => o.decision)).toEqual([
      "ImplicitDeny",
      "ExplicitDeny",
      "ImplicitDeny",
      "ImplicitDeny",
      "Allow",
    ]);
  });

  it("streams large inputs", { timeout: 60_000 }, async () => {
    const lines = 20_000;
    const a = line(anInput());
    const d = line(anInput({ request: { action: "s3:PutObject" } }));
    const input = Array.from({ length: lines }, (_, i) => (i % 2 === 0 ? a : d)).join("\n");
    const run = await gatehouse(["policy", "evaluate"], input);
    expect(run.code).toBe(0);
    const out = run.stdout.trimEnd().split("\n");
    expect(out).toHaveLength(lines);
    expect(out[0]).toBe('{"decision":"Allow"}');
    expect(out[lines - 1]).toBe('{"decision":"ImplicitDeny"}');
  });
});

// --- policy validate --------------------------------------------------------------------------

describe("gatehouse policy validate", SPAWNING, () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-cli-"));
    await writeFile(file("valid.json"), line(policy(statement("Allow", "s3:GetObject", "arn:aws:s3:::b/*"))));
    // No Version: valid, but the engine warns.
    await writeFile(file("warning.json"), line({ Statement: [statement("Allow", "s3:GetObject", "*")] }));
    await writeFile(file("invalid.json"), line(policy({ Effect: "Permit", Action: "s3:GetObject", Resource: "*" })));
    await writeFile(file("not-json.json"), "{ nope");
    // Valid for the engine; the service reference knows better.
    await writeFile(file("typo.json"), line(policy(statement("Allow", "s3:GetObjekt", "arn:aws:s3:::b/*"))));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 0 for a valid policy", async () => {
    const run = await gatehouse(["policy", "validate", file("valid.json")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("valid");
  });

  it("exits 0 when there are only warnings, and prints them", async () => {
    const run = await gatehouse(["policy", "validate", file("warning.json")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/warning/);
    expect(run.stdout).toMatch(/0 errors, [1-9]\d* warnings?/);
  });

  it("exits 1 when there are errors, naming the path and code", async () => {
    const run = await gatehouse(["policy", "validate", file("invalid.json")]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/error .*Statement\[0\]\.Effect.*\[invalid-effect\]/);
  });

  it("prints JSON findings with --json and reads stdin with -", async () => {
    const text = line(policy({ Effect: "Permit", Action: "s3:GetObject", Resource: "*" }));
    const run = await gatehouse(["policy", "validate", "-", "--json"], text);
    expect(run.code).toBe(1);
    const findings = JSON.parse(run.stdout);
    expect(findings).toContainEqual(expect.objectContaining({ code: "invalid-effect", severity: "error" }));
  });

  it("validates for the given --kind", async () => {
    // A resource policy needs a Principal; an identity policy must not have one.
    expect((await gatehouse(["policy", "validate", file("valid.json"), "--kind", "resource"])).code).toBe(1);
    expect((await gatehouse(["policy", "validate", file("valid.json"), "--kind", "managed"])).code).toBe(0);
  });

  it("reports malformed JSON as an error finding", async () => {
    const run = await gatehouse(["policy", "validate", file("not-json.json"), "--json"]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ code: "malformed-json" });
  });

  it("warns about what AWS's service reference does not know, without changing the exit status", async () => {
    const run = await gatehouse(["policy", "validate", file("typo.json")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'warning $.Statement[0].Action [unknown-action] service s3 has no action "GetObjekt" (did you mean "s3:GetObject"?)',
    );
    const json = await gatehouse(
      ["policy", "validate", "-", "--json"],
      line(policy(statement("Permit" as "Allow", "s3:GetObjekt", "*"))),
    );
    expect(json.code).toBe(1);
    const codes = JSON.parse(json.stdout).map((f: { code: string }) => f.code);
    expect(codes).toEqual(["invalid-effect", "unknown-action"]);
  });

  it("skips the service reference with --no-service-reference", async () => {
    const run = await gatehouse(["policy", "validate", file("typo.json"), "--no-service-reference"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("valid");
    expect(run.stdout).not.toContain("unknown-action");
  });

  it("exits 2 on misuse: unreadable file, unknown kind", async () => {
    const missing = await gatehouse(["policy", "validate", file("missing.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
    expect((await gatehouse(["policy", "validate", file("valid.json"), "--kind", "bogus"])).code).toBe(2);
  });
});
