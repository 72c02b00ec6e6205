/**
 * The console app: sign-in, or the signed-in layout with one page per route (API.md's list).
 * Any call answering 401 (expired, idle, signed out elsewhere) returns to sign-in.
 */
import { type ReactNode, useCallback, useEffect, useState } from "react";
import { getSession, type Session, setCsrfToken, setUnauthenticatedHandler } from "./api/client.ts";
import { Layout } from "./layout.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { CredentialReportPage } from "./pages/credential-report.tsx";
import { DashboardPage } from "./pages/dashboard.tsx";
import { EntityDetailPage } from "./pages/entity-detail.tsx";
import { GroupsPage, RolesPage, UsersPage } from "./pages/entity-lists.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { PoliciesPage } from "./pages/policies.tsx";
import { NewPolicyPage, PolicyDetailPage } from "./pages/policy-detail.tsx";
import { RegionsPage } from "./pages/regions.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { SimulatorPage } from "./pages/simulator.tsx";
import { matchPath, navigate, useLocation } from "./router.tsx";
import { SessionProvider, signInPathOf } from "./session.tsx";

type Route = [pattern: string, render: (p: Record<string, string>) => ReactNode];

const ROUTES: Route[] = [
  ["/", () => <DashboardPage />],
  ["/users", () => <UsersPage />],
  ["/users/:name", (p) => <EntityDetailPage kind="user" name={p.name ?? ""} />],
  ["/groups", () => <GroupsPage />],
  ["/groups/:name", (p) => <EntityDetailPage kind="group" name={p.name ?? ""} />],
  ["/roles", () => <RolesPage />],
  ["/roles/:name", (p) => <EntityDetailPage kind="role" name={p.name ?? ""} />],
  ["/policies", () => <PoliciesPage />],
  ["/policies/new", () => <NewPolicyPage />],
  ["/policies/*arn", (p) => <PolicyDetailPage arn={p.arn ?? ""} />],
  ["/simulator", () => <SimulatorPage />],
  ["/regions", () => <RegionsPage />],
  ["/audit", () => <AuditPage />],
  ["/credential-report", () => <CredentialReportPage />],
];

function page(pathname: string): ReactNode {
  for (const [pattern, render] of ROUTES) {
    const params = matchPath(pattern, pathname);
    if (params !== undefined) return render(params);
  }
  return <NotFoundPage />;
}

/** See the module comment. */
export function App() {
  const { pathname } = useLocation();
  const [session, setSession] = useState<Session | undefined>();
  const [checked, setChecked] = useState(false);
  const signIn = matchPath("/signin", pathname) ?? matchPath("/signin/:account", pathname);

  useEffect(() => {
    setUnauthenticatedHandler((error) => {
      setSession((s) => {
        navigate(signInPathOf(s), {
          replace: true,
          state: { reason: error.code === "SessionExpired" ? "expired" : "expired" },
        });
        return undefined;
      });
    });
  }, []);

  useEffect(() => {
    if (session !== undefined || signIn !== undefined) {
      setChecked(true);
      return;
    }
    let live = true;
    getSession().then(
      (s) => {
        if (!live) return;
        setCsrfToken(s.csrfToken);
        setSession(s);
        setChecked(true);
      },
      () => {
        if (!live) return;
        setChecked(true);
        navigate("/signin", { replace: true });
      },
    );
    return () => {
      live = false;
    };
  }, [session, signIn]);

  const ended = useCallback(() => setSession(undefined), []);

  if (signIn !== undefined) return <SignInPage key={pathname} account={signIn.account ?? ""} onSignedIn={setSession} />;
  if (!checked || session === undefined) {
    return (
      <main id="main" className="loading">
        <p role="status">Loading…</p>
      </main>
    );
  }
  return (
    <SessionProvider session={session} onEnded={ended}>
      <Layout>{page(pathname)}</Layout>
    </SessionProvider>
  );
}
