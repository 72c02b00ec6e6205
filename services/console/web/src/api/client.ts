/**
 * The console gateway's HTTP API (services/console/API.md), as the web app calls it. One origin,
 * JSON in and out, the session in an HttpOnly cookie the app never sees; the CSRF token lives in
 * this module's memory only (never in storage, a URL or the console).
 */

/** `session` of API.md. */
export interface Session {
  accountId: string;
  accountAlias: string;
  principalArn: string;
  userName: string;
  isRoot: boolean;
  mfaAuthenticated: boolean;
  expiresAt: number;
  idleTimeoutMs: number;
  csrfToken: string;
  homeRegion: string;
  regions: string[];
}

/** An answer of `POST /api/session/sign-in`. */
export type SignInAnswer =
  | { status: "SIGNED_IN"; session: Session }
  | { status: "MFA_REQUIRED" }
  | { status: "PASSWORD_CHANGE_REQUIRED"; passwordPolicy?: PasswordPolicyJson };

/** The account's password policy, as sign-in returns it with PASSWORD_CHANGE_REQUIRED. */
export interface PasswordPolicyJson {
  minimumPasswordLength?: number;
  requireSymbols?: boolean;
  requireNumbers?: boolean;
  requireUppercaseCharacters?: boolean;
  requireLowercaseCharacters?: boolean;
}

/** What sign-in takes: an IAM user's password, or the root's access key. */
export type SignInRequest =
  | { account: string; userName: string; password: string; mfaCode?: string; newPassword?: string }
  | { account: string; root: true; accessKeyId: string; secretAccessKey: string; mfaCode?: string };

/** One validation finding a `MalformedPolicyDocument` error carries. */
export interface ApiFinding {
  path: string;
  code: string;
  message: string;
  severity: string;
}

/** The gateway's error answer: the AWS error name, its message and the request field it names. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  readonly field: string;
  /** The policy engine's findings, with a `MalformedPolicyDocument`. */
  readonly findings: readonly ApiFinding[];
  constructor(status: number, code: string, message: string, field: string, findings: readonly ApiFinding[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.findings = findings;
  }

  /** True when the session is gone (expired, signed out, never there): the app returns to sign-in. */
  get unauthenticated(): boolean {
    return this.status === 401 && this.code !== "SignInFailed";
  }
}

let csrfToken = "";
// Set from sign-out until the next session: calls still in flight (a poll) then answer 401, which
// must not be taken for an expired session.
let signedOut = false;
let onUnauthenticated: (error: ApiError) => void = () => {};

/** Remembers the session's CSRF token (in memory) for every non-GET request. */
export function setCsrfToken(token: string): void {
  if (token === csrfToken) return;
  csrfToken = token;
  signedOut = false;
}

/** Called when a request answers 401 for a missing or expired session. */
export function setUnauthenticatedHandler(handler: (error: ApiError) => void): void {
  onUnauthenticated = handler;
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; field?: unknown; findings?: unknown } } | undefined)
    ?.error;
  const findings = Array.isArray(e?.findings)
    ? (e.findings as Partial<ApiFinding>[]).map((f) => ({
        path: String(f.path ?? "$"),
        code: String(f.code ?? ""),
        message: String(f.message ?? ""),
        severity: String(f.severity ?? "error"),
      }))
    : [];
  return new ApiError(
    response.status,
    typeof e?.code === "string" ? e.code : `Http${response.status}`,
    typeof e?.message === "string" ? e.message : response.statusText || `HTTP ${response.status}`,
    typeof e?.field === "string" ? e.field : "",
    findings,
  );
}

async function request<T>(method: "GET" | "POST", path: string, body?: unknown, quiet = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken !== "") headers["X-CSRF-Token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (cause) {
    throw new ApiError(0, "NetworkError", `the console gateway did not answer (${String(cause)})`, "");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (error.unauthenticated && !quiet && !signedOut) onUnauthenticated(error);
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** `GET /api/session`: the current session, or an ApiError 401. */
export function getSession(): Promise<Session> {
  return request<Session>("GET", "/api/session", undefined, true);
}

/** `POST /api/session/sign-in`. */
export function signIn(body: SignInRequest): Promise<SignInAnswer> {
  return request<SignInAnswer>("POST", "/api/session/sign-in", body, true);
}

/** `POST /api/session/sign-out`: ends the session on the gateway. */
export async function signOut(): Promise<void> {
  signedOut = true;
  try {
    await request<void>("POST", "/api/session/sign-out", {}, true);
  } finally {
    csrfToken = "";
  }
}

/** `POST /api/iam/{operation}`: a ControlService call with the signed-in principal's credentials. */
export function iam<T>(operation: string, body: object = {}): Promise<T> {
  return request<T>("POST", `/api/iam/${encodeURIComponent(operation)}`, body);
}

/** `POST /api/authz/{operation}` (Simulate, Authorize, BatchAuthorizePrincipal) on the home region or `region`. */
export function authz<T>(operation: string, body: object, region?: string): Promise<T> {
  const query = region === undefined || region === "" ? "" : `?region=${encodeURIComponent(region)}`;
  return request<T>("POST", `/api/authz/${encodeURIComponent(operation)}${query}`, body);
}

/** One region of `GET /api/regions`. */
export interface RegionStatus {
  region: string;
  endpoint: string;
  reachable: boolean;
  appliedRevision: number;
  stalenessMs: number;
  watermarkMs: number;
  consumerLag: number;
  /** Why an unreachable region did not answer. */
  error?: { code: string; message: string } | string;
}

/** `GET /api/regions`: every configured region's status at `at` (epoch ms). */
export function getRegions(): Promise<{ at: number; regions: RegionStatus[] }> {
  return request("GET", "/api/regions");
}

/** Where the credential report downloads as CSV (a plain link: the cookie goes with it). */
export const CREDENTIAL_REPORT_CSV = "/api/credential-report.csv";
