import type { ApiError } from "../api/client.ts";

/**
 * The API's own validation message: the AWS error name, its message and the field it names,
 * announced to screen readers as an alert.
 */
export function ErrorMessage({ error, id }: { error: ApiError | undefined; id?: string }) {
  if (error === undefined) return null;
  return (
    <div className="error" role="alert" id={id} data-error-code={error.code}>
      <strong>{error.code}</strong>: {error.message}
      {error.field !== "" && (
        <span className="error-field">
          {" "}
          (field <code>{error.field}</code>)
        </span>
      )}
      {error.findings.length > 0 && (
        <ul>
          {error.findings.map((f) => (
            <li key={`${f.path}|${f.code}|${f.message}`}>
              {f.severity} <code>{f.path}</code> [{f.code}] {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
