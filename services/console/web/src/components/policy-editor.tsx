/**
 * The policy editor: CodeMirror 6 with JSON highlighting, and the policy engine's own validation
 * (`@gatehouse/policy`, pure, running here in the browser) as live findings: underlined in the
 * text and listed under it. Read-only, it shows a stored document with one statement highlighted
 * (the simulator's deciding statement).
 */
import { json } from "@codemirror/lang-json";
import { type Diagnostic, linter, lintGutter } from "@codemirror/lint";
import { EditorState, type Extension, StateEffect, StateField } from "@codemirror/state";
import { Decoration, type DecorationSet, EditorView } from "@codemirror/view";
import { type Finding, type PolicyKind, validatePolicy } from "@gatehouse/policy";
import { basicSetup } from "codemirror";
import { useEffect, useId, useMemo, useRef } from "react";
import { locateJsonPath, type TextRange } from "../lib/json-locate.ts";

/** Validates a document as the engine does; a document too broken to read is one finding. */
export function findingsOf(text: string, kind: PolicyKind): Finding[] {
  try {
    return validatePolicy(text, { kind });
  } catch (e) {
    return [
      { path: "$", code: "malformed-json", message: e instanceof Error ? e.message : String(e), severity: "error" },
    ];
  }
}

const setHighlight = StateEffect.define<TextRange | undefined>();
const highlightMark = Decoration.mark({ class: "cm-deciding", attributes: { "data-deciding": "true" } });

/** The highlighted range (the deciding statement), as a decoration. */
const highlightField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    let next = deco.map(tr.changes);
    for (const e of tr.effects) {
      if (e.is(setHighlight)) {
        const r = e.value;
        next =
          r === undefined || r.to <= r.from || r.to > tr.state.doc.length
            ? Decoration.none
            : Decoration.set([highlightMark.range(r.from, r.to)]);
      }
    }
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

function lintExtension(kind: PolicyKind): Extension {
  return linter(
    (view) => {
      const text = view.state.doc.toString();
      if (text.trim() === "") return [];
      return findingsOf(text, kind).map((f): Diagnostic => {
        const r = locateJsonPath(text, f.path);
        return {
          from: r.from,
          to: Math.max(r.from, Math.min(r.to, r.from + 400)),
          severity: f.severity,
          message: `${f.code}: ${f.message} (${f.path})`,
        };
      });
    },
    { delay: 250 },
  );
}

/** Props of {@link PolicyEditor}. */
export interface PolicyEditorProps {
  label: string;
  value: string;
  onChange?: (text: string) => void;
  /** Which kind of policy to validate as (managed, inline-user, trust, boundary, …). */
  kind: PolicyKind;
  readOnly?: boolean;
  /** A range to highlight and scroll into view. */
  highlight?: TextRange | undefined;
  /** Show the findings list under the editor (default: when editable). */
  showFindings?: boolean;
  /** Id of the element that holds the API's error, to describe the editor with. */
  describedBy?: string;
}

/** See the module comment. */
export function PolicyEditor(props: PolicyEditorProps) {
  const { label, value, onChange, kind, readOnly = false, highlight, describedBy } = props;
  const showFindings = props.showFindings ?? !readOnly;
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;
  const labelId = useId();
  const findingsId = useId();

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is made once per kind and mode; value changes flow in below
  useEffect(() => {
    if (host.current === null) return;
    const extensions: Extension[] = [
      basicSetup,
      json(),
      highlightField,
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({
        "aria-labelledby": labelId,
        ...(describedBy === undefined ? {} : { "aria-describedby": describedBy }),
      }),
      EditorState.readOnly.of(readOnly),
      EditorView.editable.of(!readOnly),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) changed.current?.(u.state.doc.toString());
      }),
    ];
    if (!readOnly) extensions.push(lintGutter(), lintExtension(kind));
    const v = new EditorView({ parent: host.current, state: EditorState.create({ doc: value, extensions }) });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [kind, readOnly]);

  useEffect(() => {
    const v = view.current;
    if (v === null) return;
    const current = v.state.doc.toString();
    if (current !== value) v.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (v === null) return;
    v.dispatch({
      effects: [
        setHighlight.of(highlight),
        ...(highlight === undefined ? [] : [EditorView.scrollIntoView(highlight.from, { y: "center" })]),
      ],
    });
  }, [highlight]);

  const findings = useMemo(
    () => (showFindings && value.trim() !== "" ? findingsOf(value, kind) : []),
    [showFindings, value, kind],
  );
  const errors = findings.filter((f) => f.severity === "error").length;

  return (
    <div className="policy-editor">
      <div id={labelId} className="editor-label">
        {label}
      </div>
      <div ref={host} className="editor-host" data-testid="policy-editor" />
      {showFindings && (
        <div className="findings" aria-live="polite" id={findingsId}>
          <p>
            {findings.length === 0
              ? "No findings: the policy engine accepts this document."
              : `${errors} error${errors === 1 ? "" : "s"}, ${findings.length - errors} warning${findings.length - errors === 1 ? "" : "s"}`}
          </p>
          {findings.length > 0 && (
            <ul>
              {findings.map((f) => (
                <li key={`${f.path}|${f.code}|${f.message}`} className={`finding ${f.severity}`}>
                  <span className="severity">{f.severity}</span> <code>{f.path}</code> [{f.code}] {f.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
