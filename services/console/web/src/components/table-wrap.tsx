import type { ReactNode } from "react";

/**
 * A table's horizontal scroller. It can be focused, so keyboard users can scroll a table wider
 * than the screen (the credential report's), and it is a named region for screen readers.
 */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (WCAG 2.1.1)
    <section className="table-wrap" tabIndex={0} aria-label={label}>
      {children}
    </section>
  );
}
