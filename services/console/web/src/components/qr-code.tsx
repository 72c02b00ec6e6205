import { useMemo } from "react";
import { qrPath } from "../lib/qr.ts";

/**
 * A QR code of `text`, drawn as inline SVG in the page (no image URL carries it, nothing is sent
 * anywhere). `label` is its accessible name: say what it encodes, never the secret itself.
 */
export function QrCode({ text, label, pixels = 200 }: { text: string; label: string; pixels?: number }) {
  const qr = useMemo(() => qrPath(text), [text]);
  // A quiet zone of four modules on each side, as scanners expect.
  const side = qr.size + 8;
  return (
    <svg
      className="qr"
      role="img"
      aria-label={label}
      width={pixels}
      height={pixels}
      viewBox={`-4 -4 ${side} ${side}`}
      shapeRendering="crispEdges"
      data-testid="qr-code"
    >
      <rect x={-4} y={-4} width={side} height={side} fill="#fff" />
      <path d={qr.path} fill="#000" />
    </svg>
  );
}
