import { IamError } from "@gatehouse/core";
import { ReportState } from "@gatehouse/proto";
import type { CredentialReportKey, CredentialReportPrincipal, CredentialReportState } from "@gatehouse/store-postgres";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";

/** A report younger than this is kept by GenerateCredentialReport; older, GetCredentialReport says ReportExpired (AWS's 4 h). */
export const CREDENTIAL_REPORT_MAX_AGE_MS = 4 * 3600_000;

/** AWS's credential report columns, in AWS's order. */
export const CREDENTIAL_REPORT_COLUMNS = [
  "user",
  "arn",
  "user_creation_time",
  "password_enabled",
  "password_last_used",
  "password_last_changed",
  "password_next_rotation",
  "mfa_active",
  "access_key_1_active",
  "access_key_1_last_rotated",
  "access_key_1_last_used_date",
  "access_key_1_last_used_region",
  "access_key_1_last_used_service",
  "access_key_2_active",
  "access_key_2_last_rotated",
  "access_key_2_last_used_date",
  "access_key_2_last_used_region",
  "access_key_2_last_used_service",
  "cert_1_active",
  "cert_1_last_rotated",
  "cert_2_active",
  "cert_2_last_rotated",
] as const;

/** AWS's time format in the report: ISO 8601 to the second with `+00:00`. */
function time(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/** A CSV field, quoted (RFC 4180) only when it must be: user names and paths may hold commas. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function keyColumns(k: CredentialReportKey | undefined): string[] {
  if (k === undefined) return ["false", "N/A", "N/A", "N/A", "N/A"];
  const used = k.lastUsed;
  return [
    String(k.active),
    time(k.createdAtMs),
    used === null ? "N/A" : time(used.atMs),
    used === null ? "N/A" : used.region,
    used === null ? "N/A" : used.service,
  ];
}

function row(p: CredentialReportPrincipal, root: boolean, maxPasswordAgeDays: number): string[] {
  const pw = p.password;
  const password = root
    ? // The account root has no password in Gatehouse (AWS's root row says not_supported for these).
      ["not_supported", "N/A", "not_supported", "not_supported"]
    : pw === null
      ? ["false", "N/A", "N/A", "N/A"]
      : [
          "true",
          // As AWS: `no_information` for a password never used to sign in.
          pw.lastUsedAtMs === null ? "no_information" : time(pw.lastUsedAtMs),
          time(pw.changedAtMs),
          maxPasswordAgeDays > 0 ? time(pw.changedAtMs + maxPasswordAgeDays * 86_400_000) : "N/A",
        ];
  return [
    p.userName,
    p.arn,
    time(p.createdAtMs),
    ...password,
    String(p.mfaActive),
    ...keyColumns(p.accessKeys[0]),
    ...keyColumns(p.accessKeys[1]),
    // Gatehouse has no signing certificates.
    "false",
    "N/A",
    "false",
    "N/A",
  ];
}

/**
 * AWS's credential report as CSV: the header, the account root as `<root_account>`, then every
 * IAM user by name. Values as AWS writes them: `true`/`false`, ISO times with `+00:00`, `N/A` for
 * what does not apply, `no_information` for a password never used to sign in.
 */
export function credentialReportCsv(state: CredentialReportState): string {
  const lines = [
    CREDENTIAL_REPORT_COLUMNS.join(","),
    row(state.root, true, 0).map(field).join(","),
    ...state.users.map((u) => row(u, false, state.maxPasswordAgeDays).map(field).join(",")),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * AWS's credential report. GenerateCredentialReport builds the report in the call and keeps it
 * (COMPLETE), unless the account has one younger than four hours, which it keeps (COMPLETE, as
 * AWS). GetCredentialReport returns the kept report as CSV (ReportNotPresent before the first,
 * ReportExpired once it is four hours old). Both are authorized on `*`, as AWS does.
 */
export function credentialReportOperations({ store }: OperationDeps) {
  return {
    generateCredentialReport: forAccount("GenerateCredentialReport", async (_r, ctx) => {
      await ctx.authorize("GenerateCredentialReport", () => "*");
      const now = Date.now();
      const kept = await store.getCredentialReport(ctx.accountId);
      if (kept !== undefined && now - kept.generatedAtMs < CREDENTIAL_REPORT_MAX_AGE_MS) {
        return {
          state: ReportState.REPORT_STATE_COMPLETE,
          description: "the report generated within four hours is kept",
        };
      }
      const content = Buffer.from(credentialReportCsv(await store.credentialReportState(ctx.accountId)), "utf8");
      await store.putCredentialReport(ctx.accountId, { generatedAtMs: now, content });
      return { state: ReportState.REPORT_STATE_COMPLETE, description: "the report is generated" };
    }),
    getCredentialReport: forAccount("GetCredentialReport", async (_r, ctx) => {
      await ctx.authorize("GetCredentialReport", () => "*");
      const report = await store.getCredentialReport(ctx.accountId);
      if (report === undefined) {
        throw new IamError("ReportNotPresent", "no credential report was generated; call GenerateCredentialReport");
      }
      if (Date.now() - report.generatedAtMs >= CREDENTIAL_REPORT_MAX_AGE_MS) {
        throw new IamError(
          "ReportExpired",
          `the credential report was generated at ${new Date(report.generatedAtMs).toISOString()}, more than four hours ago; call GenerateCredentialReport`,
        );
      }
      return { content: report.content, reportFormat: "text/csv", generatedTimeMs: report.generatedAtMs };
    }),
  } satisfies OperationFamily;
}
