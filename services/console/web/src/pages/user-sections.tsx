/** The sections only a user has: groups, access keys (the secret shown once), MFA devices, console password. */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { AccessKeyMetadata, Group, LoginProfile, MFADevice } from "../api/types.ts";
import { ActionButton, ActionForm } from "../components/action-form.tsx";
import { CopyButton } from "../components/copy-button.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { QrCode } from "../components/qr-code.tsx";
import { TableWrap } from "../components/table-wrap.tsx";
import { formatTime } from "../lib/format.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link } from "../router.tsx";

/** The user's groups: list, add to one, remove from one. */
export function UserGroupsSection({ userName }: { userName: string }) {
  const list = useAsync(() => iam<{ groups?: Group[] }>("ListGroupsForUser", { userName }), [userName]);
  const all = useAsync(() => iam<{ groups?: Group[] }>("ListGroups", { page: { maxItems: 1000 } }), []);
  const [groupName, setGroupName] = useState("");
  const mine = list.data?.groups ?? [];
  const others = (all.data?.groups ?? []).filter((g) => !mine.some((m) => m.groupName === g.groupName));
  return (
    <section aria-labelledby="user-groups">
      <h2 id="user-groups">Groups</h2>
      <ErrorMessage error={list.error} />
      <ul className="items">
        {mine.map((g) => (
          <li key={g.arn}>
            <Link to={`/groups/${encodeURIComponent(g.groupName)}`}>{g.groupName}</Link>{" "}
            <ActionButton
              label={`Remove from ${g.groupName}`}
              run={() => iam("RemoveUserFromGroup", { groupName: g.groupName, userName }).then(() => {})}
              onDone={list.reload}
            />
          </li>
        ))}
        {list.data !== undefined && mine.length === 0 && <li>None.</li>}
      </ul>
      <ActionForm
        label="Add to a group"
        submitLabel="Add to group"
        run={() => iam("AddUserToGroup", { groupName, userName }).then(() => {})}
        onDone={list.reload}
      >
        <div className="field">
          <label htmlFor="add-group">Group</label>
          <select id="add-group" value={groupName} onChange={(e) => setGroupName(e.target.value)}>
            <option value="">Choose a group</option>
            {others.map((g) => (
              <option key={g.arn} value={g.groupName}>
                {g.groupName}
              </option>
            ))}
          </select>
        </div>
      </ActionForm>
    </section>
  );
}

/** A new key's secret: shown once, with a copy button and a warning; gone once dismissed. */
function NewSecret({ accessKeyId, secret, onDismiss }: { accessKeyId: string; secret: string; onDismiss: () => void }) {
  return (
    <section className="secret" aria-label="New access key">
      <p className="warning" role="alert">
        This is the only time the secret access key is shown. Copy it now and keep it safe: Gatehouse cannot show it
        again. If you lose it, delete this key and create another.
      </p>
      <dl>
        <dt>Access key ID</dt>
        <dd>
          <code data-testid="new-access-key-id">{accessKeyId}</code>
        </dd>
        <dt>Secret access key</dt>
        <dd>
          <code data-testid="new-secret">{secret}</code> <CopyButton text={secret} label="Copy secret access key" />
        </dd>
      </dl>
      <button type="button" onClick={onDismiss}>
        I saved the secret: hide it
      </button>
    </section>
  );
}

/** Access keys with their last use; create (secret once), activate/deactivate, delete. */
export function AccessKeysSection({ userName }: { userName: string }) {
  const list = useAsync(() => iam<{ accessKeys?: AccessKeyMetadata[] }>("ListAccessKeys", { userName }), [userName]);
  const [created, setCreated] = useState<{ accessKeyId: string; secret: string } | undefined>();
  const keys = list.data?.accessKeys ?? [];
  return (
    <section aria-labelledby="access-keys">
      <h2 id="access-keys">Access keys</h2>
      <ErrorMessage error={list.error} />
      <TableWrap label={`Access keys of ${userName}`}>
        <table>
          <caption>Access keys of {userName}</caption>
          <thead>
            <tr>
              <th scope="col">Access key ID</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Service / region</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.accessKeyId}>
                <td>
                  <code>{k.accessKeyId}</code>
                </td>
                <td>{k.status}</td>
                <td>{formatTime(k.createDateMs)}</td>
                <td>{k.lastUsedDateMs ? formatTime(k.lastUsedDateMs) : "Never"}</td>
                <td>{k.lastUsedDateMs ? `${k.lastUsedService || "—"} / ${k.lastUsedRegion || "—"}` : "—"}</td>
                <td>
                  <ActionButton
                    label={k.status === "Active" ? `Deactivate ${k.accessKeyId}` : `Activate ${k.accessKeyId}`}
                    run={() =>
                      iam("UpdateAccessKey", {
                        userName,
                        accessKeyId: k.accessKeyId,
                        status: k.status === "Active" ? "Inactive" : "Active",
                      }).then(() => {})
                    }
                    onDone={list.reload}
                  />
                  <ActionButton
                    label={`Delete ${k.accessKeyId}`}
                    confirm={`Delete access key ${k.accessKeyId}? Anything using it stops working.`}
                    run={() => iam("DeleteAccessKey", { userName, accessKeyId: k.accessKeyId }).then(() => {})}
                    onDone={list.reload}
                  />
                </td>
              </tr>
            ))}
            {list.data !== undefined && keys.length === 0 && (
              <tr>
                <td colSpan={6}>None.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableWrap>
      {created !== undefined && (
        <NewSecret accessKeyId={created.accessKeyId} secret={created.secret} onDismiss={() => setCreated(undefined)} />
      )}
      <ActionForm
        label="Create an access key"
        submitLabel="Create access key"
        run={async () => {
          const r = await iam<{ accessKey?: AccessKeyMetadata; secretAccessKey?: string }>("CreateAccessKey", {
            userName,
          });
          setCreated({ accessKeyId: r.accessKey?.accessKeyId ?? "", secret: r.secretAccessKey ?? "" });
        }}
        onDone={list.reload}
      />
    </section>
  );
}

/**
 * Assigning a virtual MFA device: create it (its seed is shown once, for an authenticator app),
 * then enable it for the user with two consecutive codes.
 */
function AssignMfa({ userName, onDone }: { userName: string; onDone: () => void }) {
  const [name, setName] = useState(userName);
  const [device, setDevice] = useState<{ serialNumber: string; seed: string; uri: string } | undefined>();
  const [code1, setCode1] = useState("");
  const [code2, setCode2] = useState("");
  if (device === undefined) {
    return (
      <ActionForm
        label="Assign a virtual MFA device"
        submitLabel="Create virtual MFA device"
        run={async () => {
          const r = await iam<{ serialNumber?: string; base32StringSeed?: string; otpauthUri?: string }>(
            "CreateVirtualMFADevice",
            { virtualMfaDeviceName: name, path: "/" },
          );
          setDevice({ serialNumber: r.serialNumber ?? "", seed: r.base32StringSeed ?? "", uri: r.otpauthUri ?? "" });
        }}
      >
        <Field label="Device name" name="virtualMfaDeviceName" value={name} onChange={(e) => setName(e.target.value)} />
      </ActionForm>
    );
  }
  return (
    <section className="secret" aria-label="New virtual MFA device">
      <p className="warning" role="alert">
        Scan this QR code with an authenticator app now, or type its seed: both are shown only once. Then enter two
        consecutive codes.
      </p>
      <div className="qr-box">
        <figure>
          <QrCode
            text={device.uri}
            label={`QR code of the virtual MFA device ${device.serialNumber} for an authenticator app`}
          />
          <figcaption>Scan with an authenticator app</figcaption>
        </figure>
        <dl>
          <dt>Serial number</dt>
          <dd>
            <code>{device.serialNumber}</code>
          </dd>
          <dt>Or type the secret seed (base32)</dt>
          <dd>
            <code data-testid="mfa-seed">{device.seed}</code> <CopyButton text={device.seed} label="Copy seed" />{" "}
            <CopyButton text={device.uri} label="Copy otpauth URI" />
          </dd>
        </dl>
      </div>
      <ActionForm
        label="Enable the MFA device"
        submitLabel="Enable MFA device"
        run={() =>
          iam("EnableMFADevice", {
            userName,
            serialNumber: device.serialNumber,
            authenticationCode1: code1.trim(),
            authenticationCode2: code2.trim(),
          }).then(() => {})
        }
        onDone={() => {
          setDevice(undefined);
          onDone();
        }}
      >
        <Field
          label="First code"
          name="authenticationCode1"
          inputMode="numeric"
          value={code1}
          onChange={(e) => setCode1(e.target.value)}
        />
        <Field
          label="Second code"
          name="authenticationCode2"
          inputMode="numeric"
          value={code2}
          onChange={(e) => setCode2(e.target.value)}
        />
      </ActionForm>
    </section>
  );
}

/** The user's MFA devices; assign a virtual one. */
export function MfaSection({ userName }: { userName: string }) {
  const list = useAsync(() => iam<{ mfaDevices?: MFADevice[] }>("ListMFADevices", { userName }), [userName]);
  const devices = list.data?.mfaDevices ?? [];
  return (
    <section aria-labelledby="mfa">
      <h2 id="mfa">MFA devices</h2>
      <ErrorMessage error={list.error} />
      <ul className="items">
        {devices.map((d) => (
          <li key={d.serialNumber}>
            <code>{d.serialNumber}</code>, enabled {formatTime(d.enableDateMs)}{" "}
            <ActionButton
              label={`Deactivate ${d.serialNumber}`}
              confirm="Deactivate this MFA device? The user signs in with a password alone afterwards."
              run={() => iam("DeactivateMFADevice", { userName, serialNumber: d.serialNumber }).then(() => {})}
              onDone={list.reload}
            />
          </li>
        ))}
        {list.data !== undefined && devices.length === 0 && <li>None: this user signs in without an MFA code.</li>}
      </ul>
      <AssignMfa userName={userName} onDone={list.reload} />
    </section>
  );
}

/** The user's console password (login profile): create, reset, require a change, remove. */
export function LoginProfileSection({ userName }: { userName: string }) {
  const profile = useAsync(
    () =>
      iam<{ loginProfile?: LoginProfile }>("GetLoginProfile", { userName }).catch((e: unknown) => {
        if (e instanceof Error && (e as { code?: string }).code === "NoSuchEntity") return { loginProfile: undefined };
        throw e;
      }),
    [userName],
  );
  const [password, setPassword] = useState("");
  const [reset, setReset] = useState(true);
  const has = profile.data?.loginProfile !== undefined;
  return (
    <section aria-labelledby="login-profile">
      <h2 id="login-profile">Console password</h2>
      <ErrorMessage error={profile.error} />
      <p>
        {profile.data === undefined
          ? ""
          : has
            ? `Set ${formatTime(profile.data.loginProfile?.createDateMs)}${profile.data.loginProfile?.passwordResetRequired ? "; a new password is required at next sign-in" : ""}.`
            : "None: this user cannot sign in to the console."}
      </p>
      <ActionForm
        label={has ? "Reset the console password" : "Create a console password"}
        submitLabel={has ? "Reset password" : "Create password"}
        run={async () => {
          await iam(has ? "UpdateLoginProfile" : "CreateLoginProfile", {
            userName,
            password,
            passwordResetRequired: reset,
          });
          setPassword("");
        }}
        onDone={profile.reload}
      >
        <Field
          label="New password"
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <div className="field checkbox">
          <input id="lp-reset" type="checkbox" checked={reset} onChange={(e) => setReset(e.target.checked)} />
          <label htmlFor="lp-reset">Require a new password at next sign-in</label>
        </div>
      </ActionForm>
      {has && (
        <ActionButton
          label="Remove console password"
          confirm="Remove this user's console password?"
          run={() => iam("DeleteLoginProfile", { userName }).then(() => {})}
          onDone={profile.reload}
        />
      )}
    </section>
  );
}
