/**
 * Sign-in at `/signin/{account}`, as AWS's `https://ACCOUNT.signin.aws.amazon.com/console`: the
 * account id or alias from the URL, then an IAM user's name and password (a TOTP code next when
 * the user has an MFA device; a new password when one is required), or the root user's access key.
 * What was typed stays in this component's memory only; nothing goes to a URL or storage.
 */
import { type ChangeEvent, type FormEvent, useState } from "react";
import { ApiError, type PasswordPolicyJson, type Session, signIn } from "../api/client.ts";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { asApiError } from "../lib/use-async.ts";
import { locationState, navigate, useTitle } from "../router.tsx";
import type { SignInReason } from "../session.tsx";

type Step = "credentials" | "mfa" | "new-password";

type FieldName =
  | "account"
  | "userName"
  | "password"
  | "accessKeyId"
  | "secretAccessKey"
  | "mfaCode"
  | "newPassword"
  | "confirmPassword";
type Values = Record<FieldName, string>;

const EMPTY: Values = {
  account: "",
  userName: "",
  password: "",
  accessKeyId: "",
  secretAccessKey: "",
  mfaCode: "",
  newPassword: "",
  confirmPassword: "",
};

/** The credentials step's fields after the account: an IAM user's, or the root's access key. */
const CREDENTIALS: Record<"user" | "root", { label: string; name: FieldName; type?: string; autoComplete: string }[]> =
  {
    user: [
      { label: "User name", name: "userName", autoComplete: "username" },
      { label: "Password", name: "password", type: "password", autoComplete: "current-password" },
    ],
    root: [
      { label: "Root access key ID", name: "accessKeyId", autoComplete: "username" },
      { label: "Root secret access key", name: "secretAccessKey", type: "password", autoComplete: "current-password" },
    ],
  };

const REASONS: Record<SignInReason, string> = {
  expired: "Your session expired. Sign in again.",
  idle: "You were signed out after a period of inactivity.",
  "signed-out": "You signed out.",
};

function policyText(p: PasswordPolicyJson | undefined): string {
  if (p === undefined) return "";
  const parts = [`at least ${p.minimumPasswordLength ?? 6} characters`];
  if (p.requireUppercaseCharacters === true) parts.push("an uppercase letter");
  if (p.requireLowercaseCharacters === true) parts.push("a lowercase letter");
  if (p.requireNumbers === true) parts.push("a number");
  if (p.requireSymbols === true) parts.push("a symbol");
  return `The account's password policy asks for ${parts.join(", ")}.`;
}

/** See the module comment. */
export function SignInPage({ account: fromUrl, onSignedIn }: { account: string; onSignedIn: (s: Session) => void }) {
  useTitle("Sign in");
  const reason = locationState<{ reason?: SignInReason }>()?.reason;
  const [root, setRoot] = useState(false);
  // Every typed value, by its field's name; cleared once signed in.
  const [values, setValues] = useState<Values>({ ...EMPTY, account: fromUrl });
  /** A field's name, value and change handler. */
  const bind = (name: FieldName) => ({
    name,
    value: values[name],
    onChange: (e: ChangeEvent<HTMLInputElement>) => {
      const v = name === "mfaCode" ? e.target.value.trim() : e.target.value;
      setValues((all) => ({ ...all, [name]: v }));
    },
  });
  const { account, userName, password, accessKeyId, secretAccessKey, mfaCode, newPassword } = values;
  const [step, setStep] = useState<Step>("credentials");
  const [policy, setPolicy] = useState<PasswordPolicyJson | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (step === "new-password" && newPassword !== values.confirmPassword) {
      setError(asApiError(new Error("the two new passwords differ")));
      return;
    }
    setBusy(true);
    try {
      const mfa = step === "mfa" || mfaCode !== "" ? { mfaCode } : {};
      const answer = await signIn(
        root
          ? { account, root: true, accessKeyId, secretAccessKey, ...mfa }
          : {
              account,
              userName,
              password,
              ...mfa,
              ...(step === "new-password" ? { newPassword } : {}),
            },
      );
      if (answer.status === "MFA_REQUIRED") setStep("mfa");
      else if (answer.status === "PASSWORD_CHANGE_REQUIRED") {
        setPolicy(answer.passwordPolicy);
        setStep("new-password");
      } else {
        setValues({ ...EMPTY, account });
        onSignedIn(answer.session);
        navigate("/", { replace: true });
      }
    } catch (err) {
      const apiError = asApiError(err);
      setError(apiError);
      if (apiError.code === "SignInFailed") {
        setStep("credentials");
        setValues((all) => ({ ...all, mfaCode: "" }));
      }
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (toRoot: boolean) => {
    setRoot(toRoot);
    setStep("credentials");
    setError(undefined);
  };

  return (
    <main id="main" className="signin">
      <h1>Sign in to Gatehouse</h1>
      {reason !== undefined && (
        <p className="notice" role="status">
          {REASONS[reason]}
        </p>
      )}
      <fieldset className="tabs">
        <legend>Who signs in</legend>
        <button type="button" aria-pressed={!root} onClick={() => switchTo(false)}>
          IAM user
        </button>
        <button type="button" aria-pressed={root} onClick={() => switchTo(true)}>
          Root user
        </button>
      </fieldset>
      <form onSubmit={(e) => void submit(e)} aria-describedby="signin-error">
        {step === "credentials" && (
          <>
            <Field label="Account ID or alias" {...bind("account")} required autoComplete="organization" />
            {CREDENTIALS[root ? "root" : "user"].map((f) => (
              <Field key={f.name} {...f} {...bind(f.name)} required />
            ))}
          </>
        )}
        {step === "mfa" && (
          <>
            <p>Enter the 6-digit code from your authenticator app.</p>
            <Field
              label="MFA code"
              {...bind("mfaCode")}
              inputMode="numeric"
              pattern="[0-9]{6}"
              maxLength={6}
              required
              autoComplete="one-time-code"
              autoFocus
            />
          </>
        )}
        {step === "new-password" && (
          <>
            <p>You must choose a new password before you continue. {policyText(policy)}</p>
            <Field
              label="New password"
              {...bind("newPassword")}
              type="password"
              required
              autoComplete="new-password"
              error={
                // The policy's rule is the error's field (MinimumPasswordLength): it is about this input.
                error?.code === "PasswordPolicyViolation"
                  ? new ApiError(error.status, error.code, error.message, "newPassword")
                  : error
              }
              autoFocus
            />
            <Field
              label="Confirm new password"
              {...bind("confirmPassword")}
              type="password"
              required
              autoComplete="new-password"
            />
          </>
        )}
        <ErrorMessage error={error} id="signin-error" />
        <button type="submit" className="primary" disabled={busy}>
          {step === "mfa" ? "Verify" : step === "new-password" ? "Change password and sign in" : "Sign in"}
        </button>
        {step !== "credentials" && (
          <button type="button" onClick={() => switchTo(root)}>
            Start over
          </button>
        )}
      </form>
    </main>
  );
}
