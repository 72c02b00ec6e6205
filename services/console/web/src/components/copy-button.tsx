import { useState } from "react";

/** Copies `text` to the clipboard; says so in a live region. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<"" | "copied" | "failed">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("copied");
    } catch {
      setDone("failed");
    }
  };
  return (
    <>
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>
      <span role="status" className="hint">
        {done === "copied" ? " Copied." : done === "failed" ? " Copy failed: select the text and copy it." : ""}
      </span>
    </>
  );
}
