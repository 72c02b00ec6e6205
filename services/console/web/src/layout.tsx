import type { ReactNode } from "react";
import { Link, useLocation } from "./router.tsx";
import { useSession } from "./session.tsx";

const NAV: { to: string; label: string }[] = [
  { to: "/", label: "Dashboard" },
  { to: "/users", label: "Users" },
  { to: "/groups", label: "Groups" },
  { to: "/roles", label: "Roles" },
  { to: "/policies", label: "Policies" },
  { to: "/resource-policies", label: "Resource policies" },
  { to: "/instance-profiles", label: "Instance profiles" },
  { to: "/oidc-providers", label: "OIDC providers" },
  { to: "/simulator", label: "Policy simulator" },
  { to: "/regions", label: "Regions" },
  { to: "/audit", label: "Audit trail" },
  { to: "/credential-report", label: "Credential report" },
  { to: "/account", label: "Account settings" },
];

/** The signed-in frame: a skip link, the banner with the principal and sign-out, the navigation, the page. */
export function Layout({ children }: { children: ReactNode }) {
  const { session, end } = useSession();
  const { pathname } = useLocation();
  const current = (to: string) => (to === "/" ? pathname === "/" : pathname === to || pathname.startsWith(`${to}/`));
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="banner">
        <span className="brand">Gatehouse</span>
        <div className="who">
          <span data-testid="principal" title={session.principalArn}>
            {session.isRoot ? "Root user" : session.userName || session.principalArn}
          </span>
          <span className="account">
            account {session.accountAlias === "" ? session.accountId : `${session.accountAlias} (${session.accountId})`}
            {session.mfaAuthenticated ? " · MFA" : ""}
          </span>
          <button type="button" onClick={() => void end("signed-out")}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="sidenav" aria-label="Console">
        <ul>
          {NAV.map((n) => (
            <li key={n.to}>
              <Link to={n.to} aria-current={current(n.to) ? "page" : undefined}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
