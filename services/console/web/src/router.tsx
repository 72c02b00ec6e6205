/**
 * A small client-side router over the History API: the app's routes are few and flat (API.md's
 * page list), so a path matcher and a link component are all it needs.
 */
import { type AnchorHTMLAttributes, type MouseEvent, type ReactNode, useEffect, useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

/** The current location's path and query, re-rendering on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const pathname = useSyncExternalStore(subscribe, () => window.location.pathname);
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return { pathname, search };
}

/** Goes to `to` (a path on this origin), with optional history state; never carries a secret. */
export function navigate(to: string, options: { replace?: boolean; state?: unknown } = {}): void {
  if (options.replace === true) window.history.replaceState(options.state ?? null, "", to);
  else window.history.pushState(options.state ?? null, "", to);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}

/** The state the last navigation carried (e.g. why sign-in was shown). */
export function locationState<T>(): T | undefined {
  return (window.history.state ?? undefined) as T | undefined;
}

/**
 * Matches `pathname` against a pattern with `:name` segments (`/users/:name`); a `*name` last
 * segment takes the rest (policy ARNs contain slashes). Returns the decoded parameters.
 */
export function matchPath(pattern: string, pathname: string): Record<string, string> | undefined {
  const want = pattern.split("/").filter((s) => s !== "");
  const have = pathname.split("/").filter((s) => s !== "");
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    if (w.startsWith("*")) {
      if (i >= have.length) return undefined;
      params[w.slice(1)] = have.slice(i).map(decodeURIComponent).join("/");
      return params;
    }
    const h = have[i];
    if (h === undefined) return undefined;
    if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(h);
    else if (w !== h) return undefined;
  }
  return have.length === want.length ? params : undefined;
}

/** An in-app link: a real `<a href>` (keyboard, middle-click, screen readers) that navigates without reloading. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; children: ReactNode }) {
  const { to, onClick, ...rest } = props;
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** Sets the document title for a page (screen readers announce it on navigation). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Gatehouse console`;
  }, [title]);
}
