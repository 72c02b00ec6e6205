import { type FormEvent, type ReactNode, useState } from "react";
import type { ApiError } from "../api/client.ts";
import { asApiError } from "../lib/use-async.ts";
import { ErrorMessage } from "./error-message.tsx";
import { FormError } from "./field.tsx";

/**
 * A list page's create form: a disclosure button, the form, the API's error (its fields marked
 * through `FormError`). `submit` usually navigates to what it made.
 */
export function CreateForm(props: { title: string; submit: () => Promise<void>; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await props.submit();
      setOpen(false);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="create">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {props.title}
      </button>
      {open && (
        <form onSubmit={(e) => void onSubmit(e)} aria-label={props.title}>
          <FormError.Provider value={error}>{props.children}</FormError.Provider>
          <ErrorMessage error={error} />
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
        </form>
      )}
    </section>
  );
}
