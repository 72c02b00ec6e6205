import { type FormEvent, type ReactNode, useState } from "react";
import type { ApiError } from "../api/client.ts";
import { asApiError } from "../lib/use-async.ts";
import { ErrorMessage } from "./error-message.tsx";
import { FormError } from "./field.tsx";

/**
 * A small form that runs one API call: its button, its busy state and the API's error with code,
 * message and field. `run` resolves when done; `onDone` follows (usually a reload).
 */
export function ActionForm(props: {
  label: string;
  submitLabel: string;
  run: () => Promise<void>;
  onDone?: () => void;
  children?: ReactNode;
  className?: string;
}) {
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await props.run();
      props.onDone?.();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className={props.className ?? "action"} aria-label={props.label} onSubmit={(e) => void submit(e)}>
      <FormError.Provider value={error}>{props.children}</FormError.Provider>
      <button type="submit" disabled={busy}>
        {props.submitLabel}
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}

/** A button that runs one API call and shows its error next to it. */
export function ActionButton(props: {
  label: string;
  run: () => Promise<void>;
  onDone?: () => void;
  confirm?: string;
}) {
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const click = async () => {
    if (props.confirm !== undefined && !window.confirm(props.confirm)) return;
    setError(undefined);
    setBusy(true);
    try {
      await props.run();
      props.onDone?.();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="action-button">
      <button type="button" disabled={busy} onClick={() => void click()}>
        {props.label}
      </button>
      <ErrorMessage error={error} />
    </span>
  );
}

/** A page's "Delete" section: one confirmed call, then wherever `onDone` goes. */
export function DeleteSection(props: { label: string; confirm: string; run: () => Promise<void>; onDone: () => void }) {
  return (
    <section aria-labelledby="danger">
      <h2 id="danger">Delete</h2>
      <ActionButton label={props.label} confirm={props.confirm} run={props.run} onDone={props.onDone} />
    </section>
  );
}
