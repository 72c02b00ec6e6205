import { useMemo } from "react";
import { policyDiff } from "../lib/policy-diff.ts";
import { TableWrap } from "./table-wrap.tsx";

/**
 * Two policy documents side by side as one line diff: removed lines marked `−` and struck, added
 * ones `+`, each also named in words for screen readers (a `<del>`/`<ins>` with hidden text), and
 * the counts above it as a status line.
 */
export function PolicyDiffView(props: { older: string; newer: string; olderName: string; newerName: string }) {
  const { older, newer, olderName, newerName } = props;
  const diff = useMemo(() => policyDiff(older, newer), [older, newer]);
  const caption = `Changes from ${olderName} to ${newerName}`;
  return (
    <div className="diff">
      <p role="status">
        {diff.added === 0 && diff.removed === 0
          ? `${olderName} and ${newerName} are the same document.`
          : `${diff.removed} line${diff.removed === 1 ? "" : "s"} removed, ${diff.added} line${diff.added === 1 ? "" : "s"} added.`}
      </p>
      <TableWrap label={caption}>
        <table className="diff-table">
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">{olderName}</th>
              <th scope="col">{newerName}</th>
              <th scope="col">Line</th>
            </tr>
          </thead>
          <tbody>
            {diff.lines.map((l, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a diff's lines have no identity but their place
              <tr key={i} className={`diff-${l.kind}`}>
                <td className="num">{l.oldLine ?? ""}</td>
                <td className="num">{l.newLine ?? ""}</td>
                <td>
                  {l.kind === "added" ? (
                    <ins>
                      <span aria-hidden="true">+ </span>
                      <span className="visually-hidden">added: </span>
                      <code>{l.text}</code>
                    </ins>
                  ) : l.kind === "removed" ? (
                    <del>
                      <span aria-hidden="true">− </span>
                      <span className="visually-hidden">removed: </span>
                      <code>{l.text}</code>
                    </del>
                  ) : (
                    <code>
                      {"  "}
                      {l.text}
                    </code>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </div>
  );
}
