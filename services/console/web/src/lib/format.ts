/** A date for tables: ISO-like, in UTC, to the second; "—" for 0 (never). */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || ms === 0) return "—";
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** A duration in ms for people: "850 ms", "3.2 s", "4 min". */
export function formatDuration(ms: number): string {
  if (ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The last part of an ARN's resource (`arn:…:user/eng/alice` → `alice`). */
export function nameOfArn(arn: string): string {
  const slash = arn.lastIndexOf("/");
  return slash === -1 ? arn.slice(arn.lastIndexOf(":") + 1) : arn.slice(slash + 1);
}
