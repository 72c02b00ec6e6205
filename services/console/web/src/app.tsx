/**
 * The console app: sign-in, or the signed-in layout with one page per route (API.md's list).
 * Any call answering 401 (expired, idle, signed out elsewhere) returns to sign-in.
 */
import { lazy, type ReactNode, Suspense, useCallback, useEffect, useState } from "react";
import { getSession, type Session, setCsrfToken, setUnauthenticatedHandler } from "./api/client.ts";
import { Layout } from "./layout.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { matchPath, navigate, useLocation } from "./router.tsx";
import { SessionProvider, signInPathOf } from "./session.tsx";

// Signed-in pages load after sign-in (their own chunks: the policy engine and CodeMirror among
// them), so the sign-in page is usable quickly.
const AccountPage = lazy(() => import("./pages/account.tsx").then((m) => ({ default: m.AccountPage })));
const AuditPage = lazy(() => import("./pages/audit.tsx").then((m) => ({ default: m.AuditPage })));
const CredentialReportPage = lazy(() =>
  import("./pages/credential-report.tsx").then((m) => ({ default: m.CredentialReportPage })),
);
const DashboardPage = lazy(() => import("./pages/dashboard.tsx").then((m) => ({ default: m.DashboardPage })));
const EntityDetailPage = lazy(() => import("./pages/entity-detail.tsx").then((m) => ({ default: m.EntityDetailPage })));
const UsersPage = lazy(() => import("./pages/entity-lists.tsx").then((m) => ({ default: m.UsersPage })));
const GroupsPage = lazy(() => import("./pages/entity-lists.tsx").then((m) => ({ default: m.GroupsPage })));
const RolesPage = lazy(() => import("./pages/entity-lists.tsx").then((m) => ({ default: m.RolesPage })));
const NotFoundPage = lazy(() => import("./pages/not-found.tsx").then((m) => ({ default: m.NotFoundPage })));
const PoliciesPage = lazy(() => import("./pages/policies.tsx").then((m) => ({ default: m.PoliciesPage })));
const NewPolicyPage = lazy(() => import("./pages/policy-detail.tsx").then((m) => ({ default: m.NewPolicyPage })));
const PolicyDetailPage = lazy(() => import("./pages/policy-detail.tsx").then((m) => ({ default: m.PolicyDetailPage })));
const RegionsPage = lazy(() => import("./pages/regions.tsx").then((m) => ({ default: m.RegionsPage })));
const OidcProvidersPage = lazy(() =>
  import("./pages/oidc-providers.tsx").then((m) => ({ default: m.OidcProvidersPage })),
);
const OidcProviderDetailPage = lazy(() =>
  import("./pages/oidc-providers.tsx").then((m) => ({ default: m.OidcProviderDetailPage })),
);
const InstanceProfilesPage = lazy(() =>
  import("./pages/instance-profiles.tsx").then((m) => ({ default: m.InstanceProfilesPage })),
);
const InstanceProfileDetailPage = lazy(() =>
  import("./pages/instance-profiles.tsx").then((m) => ({ default: m.InstanceProfileDetailPage })),
);
const ResourcePoliciesPage = lazy(() =>
  import("./pages/resource-policies.tsx").then((m) => ({ default: m.ResourcePoliciesPage })),
);
const NewResourcePolicyPage = lazy(() =>
  import("./pages/resource-policies.tsx").then((m) => ({ default: m.NewResourcePolicyPage })),
);
const ResourcePolicyDetailPage = lazy(() =>
  import("./pages/resource-policies.tsx").then((m) => ({ default: m.ResourcePolicyDetailPage })),
);
const SimulatorPage = lazy(() => import("./pages/simulator.tsx").then((m) => ({ default: m.SimulatorPage })));

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
  ["/instance-profiles", () => <InstanceProfilesPage />],
  ["/instance-profiles/:name", (p) => <InstanceProfileDetailPage name={p.name ?? ""} />],
  ["/oidc-providers", () => <OidcProvidersPage />],
  ["/oidc-providers/*arn", (p) => <OidcProviderDetailPage arn={p.arn ?? ""} />],
  ["/resource-policies", () => <ResourcePoliciesPage />],
  ["/resource-policies/new", () => <NewResourcePolicyPage />],
  ["/resource-policies/*arn", (p) => <ResourcePolicyDetailPage arn={p.arn ?? ""} />],
  ["/simulator", () => <SimulatorPage />],
  ["/regions", () => <RegionsPage />],
  ["/audit", () => <AuditPage />],
  ["/credential-report", () => <CredentialReportPage />],
  ["/account", () => <AccountPage />],
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
      <Layout>
        <Suspense fallback={<p role="status">Loading…</p>}>{page(pathname)}</Suspense>
      </Layout>
    </SessionProvider>
  );
}
