import { createContext, type InputHTMLAttributes, useContext, useId } from "react";
import type { ApiError } from "../api/client.ts";

/** The error of the form a field is in (its API call's), for fields not given one. */
export const FormError = createContext<ApiError | undefined>(undefined);

/**
 * A labelled input. When the API's error names this field (`name` equals its `field`, or the
 * field starts with it, e.g. `tags[0].key` for `tags`), the input is marked invalid and described
 * by the message.
 */
export function Field(
  props: InputHTMLAttributes<HTMLInputElement> & {
    label: string;
    name: string;
    error?: ApiError | undefined;
    hint?: string;
  },
) {
  const { label, hint, name, error: _error, ...input } = props;
  const formError = useContext(FormError);
  const error = "error" in props ? props.error : formError;
  const id = useId();
  const invalid = error !== undefined && error.field !== "" && (error.field === name || error.field.startsWith(name));
  const describedBy = [hint === undefined ? "" : `${id}-hint`, invalid ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy === "" ? undefined : describedBy}
        {...input}
      />
      {hint !== undefined && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {invalid && (
        <small id={`${id}-error`} className="field-error">
          {error.code}: {error.message}
        </small>
      )}
    </div>
  );
}
