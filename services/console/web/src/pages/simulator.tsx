/**
 * `/simulator`: pick a principal (the home region simulates with its stored policies) or paste
 * policies (the policy engine evaluates them here, in the browser); actions, resources, context
 * entries. Each decision with its explanation, and the deciding statement highlighted in its
 * document.
 */
import type { StatementRef } from "@gatehouse/policy";
import { type FormEvent, useEffect, useId, useState } from "react";
import { type ApiError, authz, iam } from "../api/client.ts";
import type { DecisionName, ManagedPolicy, PolicyVersion, Role, SimulateResultJson, User } from "../api/types.ts";
import { ENTITY_TYPE } from "../api/types.ts";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { TableWrap } from "../components/table-wrap.tsx";
import { parseExplanation, policySourceOf, statementLabel } from "../lib/explanation.ts";
import { locateJsonPath, type TextRange } from "../lib/json-locate.ts";
import {
  type ContextEntry,
  contextJsonOf,
  listOf,
  type SimulatedDecision,
  simulateLocally,
} from "../lib/simulation.ts";
import { asApiError, useAsync } from "../lib/use-async.ts";
import { useTitle } from "../router.tsx";
import { useSession } from "../session.tsx";
import { pretty } from "./entity-sections.tsx";

const DECISION_TEXT: Record<DecisionName, string> = {
  DECISION_UNSPECIFIED: "Unknown",
  DECISION_ALLOW: "Allowed",
  DECISION_EXPLICIT_DENY: "Explicitly denied",
  DECISION_IMPLICIT_DENY: "Implicitly denied",
};

const PASTED = `{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "ReadWrite", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": "*" },
    {
      "Sid": "NoDeleteWithoutMfa",
      "Effect": "Deny",
      "Action": "s3:DeleteObject",
      "Resource": "*",
      "Condition": { "BoolIfExists": { "aws:MultiFactorAuthPresent": "false" } }
    }
  ]
}`;

/** Fetches the document a statement is in (a stored one through the API, a pasted one as typed). */
async function documentOf(ref: StatementRef, pasted: readonly string[], boundary: string): Promise<string> {
  const source = policySourceOf(ref);
  switch (source.kind) {
    case "pasted":
      return pasted[source.index] ?? "";
    case "boundary-pasted":
      return boundary;
    case "inline": {
      const r = await iam<{ policyDocument?: string }>("GetInlinePolicy", {
        entityType: ENTITY_TYPE[source.entity],
        entityName: source.entityName,
        policyName: source.policyName,
      });
      return r.policyDocument ?? "";
    }
    case "managed": {
      const p = await iam<{ policy?: ManagedPolicy }>("GetPolicy", { policyArn: source.policyArn });
      const v = await iam<{ policyVersion?: PolicyVersion }>("GetPolicyVersion", {
        policyArn: source.policyArn,
        versionId: p.policy?.defaultVersionId ?? "",
      });
      return v.policyVersion?.document ?? "";
    }
    case "unknown":
      return "";
  }
}

function DecidingStatement({
  ref_,
  pasted,
  boundary,
}: {
  ref_: StatementRef;
  pasted: readonly string[];
  boundary: string;
}) {
  const doc = useAsync(() => documentOf(ref_, pasted, boundary).then(pretty), [JSON.stringify(ref_), pasted, boundary]);
  const text = doc.data ?? "";
  const [range, setRange] = useState<TextRange | undefined>();
  useEffect(() => {
    setRange(text === "" ? undefined : locateJsonPath(text, `$.Statement[${ref_.statementIndex}]`));
  }, [text, ref_.statementIndex]);
  return (
    <div className="deciding">
      <p>
        Deciding statement: <strong data-testid="deciding-statement">{statementLabel(ref_)}</strong> ({ref_.effect}) in{" "}
        <code>{ref_.policy.id ?? `${ref_.policy.type} policy ${ref_.policy.index}`}</code>
      </p>
      <ErrorMessage error={doc.error} />
      {text !== "" && (
        <PolicyEditor
          label={`Document of ${ref_.policy.id ?? "the deciding policy"}, deciding statement highlighted`}
          kind="identity"
          value={text}
          readOnly
          highlight={range}
        />
      )}
    </div>
  );
}

function Explained({ d, pasted, boundary }: { d: SimulatedDecision; pasted: readonly string[]; boundary: string }) {
  const e = d.explanation;
  return (
    <section aria-labelledby="explanation" className="explanation">
      <h2 id="explanation">
        {d.action} on {d.resource}: {DECISION_TEXT[d.decision]}
      </h2>
      {e === undefined ? (
        <p>No explanation came with this decision.</p>
      ) : (
        <>
          <p data-testid="summary">{e.summary}</p>
          {e.implicitDenyReason !== undefined && (
            <p>
              Reason: <code>{e.implicitDenyReason}</code>
            </p>
          )}
          {e.conditionFailures.length > 0 && (
            <>
              <h3>Conditions that did not match</h3>
              <ul>
                {e.conditionFailures.map((c) => (
                  <li key={`${c.statement.policy.id}|${c.statement.statementIndex}|${c.key}`}>
                    {statementLabel(c.statement)}: {c.message}
                  </li>
                ))}
              </ul>
            </>
          )}
          {e.decidingStatement !== undefined && (
            <DecidingStatement ref_={e.decidingStatement} pasted={pasted} boundary={boundary} />
          )}
        </>
      )}
    </section>
  );
}

function ContextEditor({ entries, setEntries }: { entries: ContextEntry[]; setEntries: (e: ContextEntry[]) => void }) {
  const update = (i: number, patch: Partial<ContextEntry>) =>
    setEntries(entries.map((e, j) => (j === i ? { ...e, ...patch } : e)));
  return (
    <fieldset>
      <legend>Context entries</legend>
      {entries.map((e, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place and have no identity of their own
        <div className="row" key={i}>
          <Field
            label={`Key ${i + 1}`}
            name={`contextKey${i}`}
            value={e.key}
            onChange={(ev) => update(i, { key: ev.target.value })}
          />
          <div className="field">
            <label htmlFor={`ctx-type-${i}`}>Type {i + 1}</label>
            <select
              id={`ctx-type-${i}`}
              value={e.type}
              onChange={(ev) => update(i, { type: ev.target.value as ContextEntry["type"] })}
            >
              <option>String</option>
              <option>Number</option>
              <option>Boolean</option>
              <option>List</option>
            </select>
          </div>
          <Field
            label={`Value ${i + 1}`}
            name={`contextValue${i}`}
            value={e.value}
            onChange={(ev) => update(i, { value: ev.target.value })}
          />
          <button type="button" onClick={() => setEntries(entries.filter((_, j) => j !== i))}>
            Remove entry {i + 1}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => setEntries([...entries, { key: "", type: "String", value: "" }])}>
        Add context entry
      </button>
    </fieldset>
  );
}

/** See the module comment. */
export function SimulatorPage() {
  useTitle("Policy simulator");
  const { session } = useSession();
  const [mode, setMode] = useState<"principal" | "pasted">("principal");
  const [principalArn, setPrincipalArn] = useState(session.isRoot ? "" : session.principalArn);
  const [actions, setActions] = useState("s3:GetObject\ns3:DeleteObject");
  const [resources, setResources] = useState("arn:aws:s3:::reports/q3.pdf");
  const [entries, setEntries] = useState<ContextEntry[]>([]);
  const [resourcePolicy, setResourcePolicy] = useState("");
  const [pasted, setPasted] = useState(PASTED);
  const [useBoundary, setUseBoundary] = useState(false);
  const [boundary, setBoundary] = useState("");
  const [results, setResults] = useState<SimulatedDecision[] | undefined>();
  const [ran, setRan] = useState<{ pasted: string[]; boundary: string }>({ pasted: [], boundary: "" });
  const [selected, setSelected] = useState(0);
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const principals = useAsync(async () => {
    const [u, r] = await Promise.all([
      iam<{ users?: User[] }>("ListUsers", { page: { maxItems: 200 } }),
      iam<{ roles?: Role[] }>("ListRoles", { page: { maxItems: 200 } }),
    ]);
    return [...(u.users ?? []).map((x) => x.arn), ...(r.roles ?? []).map((x) => x.arn)];
  }, []);
  const listId = useId();

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const a = listOf(actions);
      const r = listOf(resources);
      if (mode === "principal") {
        const answer = await authz<{ results?: SimulateResultJson[] }>("Simulate", {
          principal: { arn: principalArn.trim() },
          actions: a,
          resources: r,
          context: contextJsonOf(entries),
          resourcePolicy: resourcePolicy.trim(),
        });
        setRan({ pasted: [], boundary: "" });
        setResults(
          (answer.results ?? []).map((x) => ({
            action: x.action,
            resource: x.resource,
            decision: x.decision,
            explanation: parseExplanation(x.explanationJson),
          })),
        );
      } else {
        const b = useBoundary ? boundary : "";
        setRan({ pasted: [pasted], boundary: b });
        setResults(
          simulateLocally({
            principalArn: principalArn.trim() || `arn:aws:iam::${session.accountId}:user/simulated`,
            identityPolicies: [pasted],
            boundary: b,
            actions: a,
            resources: r,
            context: entries,
          }),
        );
      }
      setSelected(0);
    } catch (err) {
      setError(asApiError(err));
      setResults(undefined);
    } finally {
      setBusy(false);
    }
  };

  const chosen = results?.[selected];
  return (
    <>
      <h1>Policy simulator</h1>
      <form onSubmit={(e) => void run(e)} className="stack" aria-label="Simulation">
        <fieldset>
          <legend>Policies to simulate</legend>
          <div className="field checkbox">
            <input
              type="radio"
              id="mode-principal"
              name="mode"
              checked={mode === "principal"}
              onChange={() => setMode("principal")}
            />
            <label htmlFor="mode-principal">A principal's policies (simulated by the region)</label>
          </div>
          <div className="field checkbox">
            <input
              type="radio"
              id="mode-pasted"
              name="mode"
              checked={mode === "pasted"}
              onChange={() => setMode("pasted")}
            />
            <label htmlFor="mode-pasted">Pasted policies (evaluated in this browser by the policy engine)</label>
          </div>
        </fieldset>
        <Field
          label="Principal ARN"
          name="principal"
          list={listId}
          value={principalArn}
          onChange={(e) => setPrincipalArn(e.target.value)}
          error={error}
          hint={mode === "pasted" ? "Who the pasted policies are evaluated for." : "A user or role of this account."}
        />
        <datalist id={listId}>
          {(principals.data ?? []).map((arn) => (
            <option key={arn} value={arn} />
          ))}
        </datalist>
        {mode === "pasted" && (
          <>
            <PolicyEditor label="Identity policy" kind="identity" value={pasted} onChange={setPasted} />
            <div className="field checkbox">
              <input
                id="use-boundary"
                type="checkbox"
                checked={useBoundary}
                onChange={(e) => setUseBoundary(e.target.checked)}
              />
              <label htmlFor="use-boundary">With a permissions boundary</label>
            </div>
            {useBoundary && (
              <PolicyEditor label="Permissions boundary" kind="boundary" value={boundary} onChange={setBoundary} />
            )}
          </>
        )}
        <div className="field">
          <label htmlFor="sim-actions">Actions (one per line)</label>
          <textarea id="sim-actions" rows={3} value={actions} onChange={(e) => setActions(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="sim-resources">Resources (one per line)</label>
          <textarea id="sim-resources" rows={2} value={resources} onChange={(e) => setResources(e.target.value)} />
        </div>
        {mode === "principal" && (
          <div className="field">
            <label htmlFor="sim-resource-policy">
              Resource policy (optional: a stored policy's resource ARN, or a document)
            </label>
            <textarea
              id="sim-resource-policy"
              rows={2}
              value={resourcePolicy}
              onChange={(e) => setResourcePolicy(e.target.value)}
            />
          </div>
        )}
        <ContextEditor entries={entries} setEntries={setEntries} />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Run simulation
        </button>
      </form>
      {results !== undefined && (
        <TableWrap label={"Decisions"}>
          <table>
            <caption>Decisions</caption>
            <thead>
              <tr>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Decision</th>
                <th scope="col">Explanation</th>
              </tr>
            </thead>
            <tbody>
              {results.map((d, i) => (
                <tr
                  key={`${d.action}|${d.resource}`}
                  className={i === selected ? "selected" : undefined}
                  data-decision={d.decision}
                >
                  <td>{d.action}</td>
                  <td>{d.resource}</td>
                  <td className={d.decision === "DECISION_ALLOW" ? "allow" : "deny"}>{DECISION_TEXT[d.decision]}</td>
                  <td>
                    <button type="button" onClick={() => setSelected(i)} aria-pressed={i === selected}>
                      Explain {d.action}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {chosen !== undefined && <Explained d={chosen} pasted={ran.pasted} boundary={ran.boundary} />}
    </>
  );
}
