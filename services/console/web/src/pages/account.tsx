/** `/account`: the account's sign-in URL, its alias and its password policy. */
import { useEffect, useState } from "react";
import { ApiError, iam } from "../api/client.ts";
import { ActionButton, ActionForm } from "../components/action-form.tsx";
import { CopyButton } from "../components/copy-button.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { useAsync } from "../lib/use-async.ts";
import { useTitle } from "../router.tsx";
import { useSession } from "../session.tsx";

interface PasswordPolicyForm {
  minimumPasswordLength: number;
  requireSymbols: boolean;
  requireNumbers: boolean;
  requireUppercaseCharacters: boolean;
  requireLowercaseCharacters: boolean;
  allowUsersToChangePassword: boolean;
  maxPasswordAge: number;
  passwordReusePrevention: number;
  hardExpiry: boolean;
}

const DEFAULTS: PasswordPolicyForm = {
  minimumPasswordLength: 8,
  requireSymbols: false,
  requireNumbers: false,
  requireUppercaseCharacters: false,
  requireLowercaseCharacters: false,
  allowUsersToChangePassword: true,
  maxPasswordAge: 0,
  passwordReusePrevention: 0,
  hardExpiry: false,
};

const FLAGS: [keyof PasswordPolicyForm, string][] = [
  ["requireUppercaseCharacters", "Require an uppercase letter"],
  ["requireLowercaseCharacters", "Require a lowercase letter"],
  ["requireNumbers", "Require a number"],
  ["requireSymbols", "Require a symbol"],
  ["allowUsersToChangePassword", "Users may change their own password"],
  ["hardExpiry", "An expired password can only be reset by an administrator"],
];

function PasswordPolicySection() {
  const current = useAsync(
    () =>
      iam<{ passwordPolicy?: Partial<PasswordPolicyForm> }>("GetAccountPasswordPolicy", {}).catch((e: unknown) => {
        if (e instanceof ApiError && e.code === "NoSuchEntity") return { passwordPolicy: undefined };
        throw e;
      }),
    [],
  );
  const [form, setForm] = useState<PasswordPolicyForm>(DEFAULTS);
  useEffect(() => {
    if (current.data?.passwordPolicy !== undefined) setForm({ ...DEFAULTS, ...current.data.passwordPolicy });
  }, [current.data]);
  const has = current.data?.passwordPolicy !== undefined;
  const number = (k: "minimumPasswordLength" | "maxPasswordAge" | "passwordReusePrevention") => ({
    value: String(form[k]),
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: Number(e.target.value) || 0 }),
  });
  return (
    <section aria-labelledby="password-policy">
      <h2 id="password-policy">Password policy</h2>
      <ErrorMessage error={current.error} />
      <p>
        {current.data === undefined ? "" : has ? "The account has a password policy." : "None: the defaults apply."}
      </p>
      <ActionForm
        label="Password policy"
        submitLabel="Save password policy"
        className="stack"
        run={() => iam("UpdateAccountPasswordPolicy", form).then(() => {})}
        onDone={current.reload}
      >
        <Field
          label="Minimum length"
          name="minimumPasswordLength"
          type="number"
          min={6}
          max={128}
          {...number("minimumPasswordLength")}
        />
        <Field
          label="Maximum age (days, 0: never expires)"
          name="maxPasswordAge"
          type="number"
          min={0}
          max={1095}
          {...number("maxPasswordAge")}
        />
        <Field
          label="Passwords remembered (0: reuse allowed)"
          name="passwordReusePrevention"
          type="number"
          min={0}
          max={24}
          {...number("passwordReusePrevention")}
        />
        {FLAGS.map(([k, label]) => (
          <div className="field checkbox" key={k}>
            <input
              id={`pp-${k}`}
              type="checkbox"
              checked={form[k] === true}
              onChange={(e) => setForm({ ...form, [k]: e.target.checked })}
            />
            <label htmlFor={`pp-${k}`}>{label}</label>
          </div>
        ))}
      </ActionForm>
      {has && (
        <ActionButton
          label="Delete password policy"
          confirm="Delete the password policy? The defaults apply again."
          run={() => iam("DeleteAccountPasswordPolicy", {}).then(() => {})}
          onDone={current.reload}
        />
      )}
    </section>
  );
}

/** See the module comment. */
export function AccountPage() {
  useTitle("Account settings");
  const { session } = useSession();
  const aliases = useAsync(() => iam<{ accountAliases?: string[] }>("ListAccountAliases", {}), []);
  const [alias, setAlias] = useState("");
  const current = aliases.data?.accountAliases?.[0] ?? "";
  const url = `${window.location.origin}/signin/${encodeURIComponent(current || session.accountId)}`;
  return (
    <>
      <h1>Account settings</h1>
      <section aria-labelledby="signin-url">
        <h2 id="signin-url">Sign-in URL</h2>
        {aliases.data !== undefined && (
          <p>
            <code data-testid="signin-url">{url}</code> <CopyButton text={url} label="Copy sign-in URL" />
          </p>
        )}
      </section>
      <section aria-labelledby="alias">
        <h2 id="alias">Account alias</h2>
        <ErrorMessage error={aliases.error} />
        <p>
          {current === "" ? (
            "None: users sign in with the account id."
          ) : (
            <>
              <code>{current}</code>{" "}
              <ActionButton
                label="Delete alias"
                run={() => iam("DeleteAccountAlias", { accountAlias: current }).then(() => {})}
                onDone={aliases.reload}
              />
            </>
          )}
        </p>
        <ActionForm
          label="Set the account alias"
          submitLabel={current === "" ? "Create alias" : "Replace alias"}
          run={async () => {
            if (current !== "") await iam("DeleteAccountAlias", { accountAlias: current });
            await iam("CreateAccountAlias", { accountAlias: alias.trim() });
            setAlias("");
          }}
          onDone={aliases.reload}
        >
          <Field label="Alias" name="accountAlias" value={alias} onChange={(e) => setAlias(e.target.value)} />
        </ActionForm>
      </section>
      <PasswordPolicySection />
    </>
  );
}
