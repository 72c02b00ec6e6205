/** `/credential-report`: the account's credential report as a table, and its CSV to download. */
import { CREDENTIAL_REPORT_CSV, iam } from "../api/client.ts";
import { ErrorMessage } from "../components/error-message.tsx";
import { TableWrap } from "../components/table-wrap.tsx";
import { base64ToText, parseCsv } from "../lib/csv.ts";
import { formatTime } from "../lib/format.ts";
import { useAsync } from "../lib/use-async.ts";
import { useTitle } from "../router.tsx";

/** Generates the report when needed (waiting for it), then reads it. */
async function loadReport(): Promise<{ rows: string[][]; generatedAt: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const g = await iam<{ state?: string }>("GenerateCredentialReport", {});
    if (g.state === "REPORT_STATE_COMPLETE") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const r = await iam<{ content?: string; generatedTimeMs?: number }>("GetCredentialReport", {});
  return { rows: parseCsv(base64ToText(r.content ?? "")), generatedAt: r.generatedTimeMs ?? 0 };
}

/** See the module comment. */
export function CredentialReportPage() {
  useTitle("Credential report");
  const report = useAsync(loadReport, []);
  const [header, ...rows] = report.data?.rows ?? [];
  return (
    <>
      <h1>Credential report</h1>
      <p>
        Every user of the account with the state of their password, access keys and MFA.{" "}
        <a href={CREDENTIAL_REPORT_CSV} download="credential-report.csv">
          Download the report as CSV
        </a>
      </p>
      <ErrorMessage error={report.error} />
      {report.data !== undefined && <p>Generated {formatTime(report.data.generatedAt)}.</p>}
      {header !== undefined && (
        <TableWrap label={"Credential report"}>
          <table className="compact">
            <caption>Credential report</caption>
            <thead>
              <tr>
                {header.map((h) => (
                  <th key={h} scope="col">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r[1] ?? r[0]}>
                  {r.map((c, i) => (
                    <td key={header[i] ?? i}>{c}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
