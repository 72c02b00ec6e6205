/** `/`: who is signed in, the account's summary and the regions at a glance. */
import { iam } from "../api/client.ts";
import { ErrorMessage } from "../components/error-message.tsx";
import { formatDuration, formatTime } from "../lib/format.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link, useTitle } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useRegionHistory } from "./regions.tsx";

const SUMMARY_KEYS = ["Users", "Groups", "Roles", "Policies", "MFADevicesInUse", "AccountMFAEnabled"];

/** See the module comment. */
export function DashboardPage() {
  useTitle("Dashboard");
  const { session } = useSession();
  const summary = useAsync(() => iam<{ summaryMap?: Record<string, number> }>("GetAccountSummary", {}), []);
  const { history, error } = useRegionHistory();
  const latest = history[history.length - 1];
  return (
    <>
      <h1>Dashboard</h1>
      <section aria-labelledby="you">
        <h2 id="you">Signed in</h2>
        <dl className="summary">
          <div>
            <dt>Principal</dt>
            <dd>
              <code>{session.principalArn}</code>
            </dd>
          </div>
          <div>
            <dt>Account</dt>
            <dd>
              {session.accountId}
              {session.accountAlias === "" ? "" : ` (${session.accountAlias})`}
            </dd>
          </div>
          <div>
            <dt>MFA</dt>
            <dd>{session.mfaAuthenticated ? "Yes" : "No"}</dd>
          </div>
          <div>
            <dt>Session ends</dt>
            <dd>{formatTime(session.expiresAt)}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="account">
        <h2 id="account">Account</h2>
        <ErrorMessage error={summary.error} />
        {summary.data !== undefined && (
          <dl className="summary">
            {SUMMARY_KEYS.map((k) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{summary.data?.summaryMap?.[k] ?? 0}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
      <section aria-labelledby="regions">
        <h2 id="regions">Regions</h2>
        <ErrorMessage error={error} />
        <ul className="items">
          {(latest?.regions ?? []).map((r) => (
            <li key={r.region}>
              {r.region}:{" "}
              {r.reachable ? `revision ${r.appliedRevision}, ${formatDuration(r.stalenessMs)} stale` : "unreachable"}
            </li>
          ))}
        </ul>
        <p>
          <Link to="/regions">Regions over time</Link>
        </p>
      </section>
    </>
  );
}
