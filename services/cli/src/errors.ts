import { GatehouseConfigError, GatehouseError } from "@gatehouse/sdk";
import { FlagValueError } from "./iam/flag-values.ts";

/** Exit statuses of the `gatehouse` command, as the AWS CLI's where they overlap. */
export const ExitCode = Object.freeze({
  /** Done. */
  ok: 0,
  /** Something unexpected (or, for `policy validate`, the policy has errors). */
  failed: 1,
  /** Misuse: an unknown flag, a flag value that cannot be used. */
  usage: 2,
  /** The configuration: unknown profile, no credentials, no endpoint for the region. */
  config: 253,
  /** The service answered with an error (or could not be reached). */
  service: 254,
} as const);

/** A service error with the AWS operation it happened in (`PutUserPolicy`). */
export class OperationError extends Error {
  readonly operation: string;
  readonly error: GatehouseError;
  constructor(operation: string, error: GatehouseError) {
    super(error.message, { cause: error });
    this.name = "OperationError";
    this.operation = operation;
    this.error = error;
  }
}

/** Runs one operation, naming it in any service error it throws. */
export async function inOperation<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof GatehouseError) throw new OperationError(operation, e);
    throw e;
  }
}

/** What to do about the usual mistakes, by AWS error name (or gRPC code). */
export function hintFor(error: GatehouseError): string | undefined {
  switch (error.awsName) {
    case "AccessDenied":
      return "the caller's policies do not allow this action on this resource (named above): attach a policy that allows it, or use a profile that has it (--profile)";
    case "SignatureDoesNotMatch":
      return "the secret access key does not belong to the access key id: check secret_access_key in the profile, or GATEHOUSE_SECRET_ACCESS_KEY";
    case "InvalidClientTokenId":
      return "this server does not know the access key id: check the profile (--profile, GATEHOUSE_PROFILE), GATEHOUSE_ACCESS_KEY_ID, and that --endpoint-url is the right server";
    case "RequestExpired":
      return "the request's time is more than 5 minutes off the server's: check this machine's clock (clock skew)";
    case "ExpiredToken":
      return "the session's temporary credentials expired: get new ones";
    case "MissingAuthenticationToken":
      return "no credentials were sent: run `gatehouse configure`, or set GATEHOUSE_ACCESS_KEY_ID and GATEHOUSE_SECRET_ACCESS_KEY";
    case "ServiceUnavailable":
      return "nothing answered there: is the stack running (`./gw run stack`)? check the profile's endpoint_* settings or --endpoint-url";
    case "ConsistencyTimeout":
      return "the region has not applied that revision yet: try again, or check `gatehouse region status`";
    case "HistoryRewound":
      return "a control-plane failover replaced the history that revision belongs to, and the write that returned it may be lost: read the entity again (`gatehouse iam get-…`) and write it again if it is gone";
    case "MalformedPolicyDocument":
      return "`gatehouse policy validate <file>` lists every finding with its JSON path";
    default:
      return error.code === "UNIMPLEMENTED"
        ? "this server does not serve the operation (a region started without GATEHOUSE_SECRET_KEY serves neither STS nor Authenticate)"
        : undefined;
  }
}

/** The message and exit status for an error that reached `main`. */
export function describeFailure(err: unknown): { text: string; exitCode: number } {
  if (err instanceof OperationError || err instanceof GatehouseError) {
    const e = err instanceof OperationError ? err.error : err;
    const operation = err instanceof OperationError ? err.operation : (e.method?.split(" ")[1] ?? "");
    const lines = [`An error occurred (${e.awsName}) when calling the ${operation} operation: ${e.message}`];
    if (e.field !== undefined) lines.push(`field: ${e.field}`);
    for (const f of e.findings) lines.push(`  ${f.severity} ${f.code} at ${f.path}: ${f.message}`);
    const hint = hintFor(e);
    if (hint !== undefined) lines.push(`hint: ${hint}`);
    return { text: `${lines.join("\n")}\n`, exitCode: ExitCode.service };
  }
  if (err instanceof GatehouseConfigError) {
    return { text: `gatehouse: ${err.message}\nhint: ${err.hint}\n`, exitCode: ExitCode.config };
  }
  if (err instanceof FlagValueError) return { text: `gatehouse: ${err.message}\n`, exitCode: ExitCode.usage };
  return { text: `gatehouse: ${(err as Error).message ?? String(err)}\n`, exitCode: ExitCode.failed };
}
