/**
 * A QR code's modules as one SVG path, computed in the browser from the text it encodes (a new
 * virtual MFA device's otpauth URI): the secret never leaves the page (no image URL, no server).
 */
import { create } from "qrcode";

/** A QR code drawn as a path over a `size` × `size` grid (quiet zone excluded). */
export interface QrPath {
  /** Modules per side. */
  size: number;
  /** `M x y h1v1h-1z` for each dark module. */
  path: string;
  /** How many modules are dark. */
  dark: number;
}

/**
 * Encodes `text` (error correction M, as authenticator apps expect) and draws its dark modules.
 *
 * @example qrPath("otpauth://totp/Gatehouse:alice?secret=…").size // 33 or so
 */
export function qrPath(text: string): QrPath {
  const { modules } = create(text, { errorCorrectionLevel: "M" });
  const { size, data } = modules;
  const parts: string[] = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (data[y * size + x]) parts.push(`M${x} ${y}h1v1h-1z`);
    }
  }
  return { size, path: parts.join(""), dark: parts.length };
}
