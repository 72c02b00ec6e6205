/**
 * The signed-in session as the pages see it. The credentials stay on the gateway; the app holds
 * only what `GET /api/session` says (principal, account, expiry, idle timeout) and the CSRF token,
 * in memory. Idle for the session's idle timeout (no key, click or touch), the app signs out and
 * returns to sign-in, as the gateway would refuse the next call anyway.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useRef } from "react";
import { type Session, setCsrfToken, signOut } from "./api/client.ts";
import { navigate } from "./router.tsx";

/** Why sign-in is shown again. */
export type SignInReason = "expired" | "idle" | "signed-out";

interface SessionValue {
  session: Session;
  /** Ends the session on the gateway and returns to sign-in. */
  end: (reason: SignInReason) => Promise<void>;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);

/** The current session; only inside the signed-in layout. */
export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (v === undefined) throw new Error("useSession outside a SessionProvider");
  return v;
}

/** Where sign-in is for this session's account (its alias when it has one). */
export function signInPathOf(session: Pick<Session, "accountAlias" | "accountId"> | undefined): string {
  const account = session === undefined ? "" : session.accountAlias || session.accountId;
  return account === "" ? "/signin" : `/signin/${encodeURIComponent(account)}`;
}

const ACTIVITY = ["keydown", "pointerdown", "wheel", "touchstart"] as const;

/** Provides the session and watches for idleness. */
export function SessionProvider({
  session,
  onEnded,
  children,
}: {
  session: Session;
  onEnded: () => void;
  children: ReactNode;
}) {
  setCsrfToken(session.csrfToken);
  const ended = useRef(false);
  const end = useCallback(
    async (reason: SignInReason) => {
      if (ended.current) return;
      ended.current = true;
      try {
        await signOut();
      } catch {
        // The session may already be gone on the gateway; sign-in is shown either way.
      }
      onEnded();
      navigate(signInPathOf(session), { replace: true, state: { reason } });
    },
    [session, onEnded],
  );

  useEffect(() => {
    const idle = session.idleTimeoutMs > 0 ? session.idleTimeoutMs : 15 * 60_000;
    let timer = window.setTimeout(() => void end("idle"), idle);
    const touch = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void end("idle"), idle);
    };
    for (const e of ACTIVITY) window.addEventListener(e, touch, { passive: true });
    const expiry = window.setTimeout(() => void end("expired"), Math.max(0, session.expiresAt - Date.now()));
    return () => {
      window.clearTimeout(timer);
      window.clearTimeout(expiry);
      for (const e of ACTIVITY) window.removeEventListener(e, touch);
    };
  }, [session, end]);

  return <SessionContext.Provider value={{ session, end }}>{children}</SessionContext.Provider>;
}
