import { describe, expect, it } from "vitest";
import { qrPath } from "./qr.ts";

describe("qrPath", () => {
  const uri = "otpauth://totp/Gatehouse:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Gatehouse";

  it("draws a square of the QR version's size with one square per dark module", () => {
    const qr = qrPath(uri);
    // Version n has 17 + 4n modules per side.
    expect((qr.size - 17) % 4).toBe(0);
    expect(qr.size).toBeGreaterThanOrEqual(25);
    expect(qr.path.match(/M\d+ \d+h1v1h-1z/g)?.length).toBe(qr.dark);
    expect(qr.dark).toBeGreaterThan(qr.size * 3);
  });

  it("starts with the top-left finder pattern (a 7-module dark row)", () => {
    const qr = qrPath(uri);
    for (let x = 0; x < 7; x++) expect(qr.path).toContain(`M${x} 0h1v1h-1z`);
    expect(qr.path).not.toContain("M7 0h1v1h-1z");
  });

  it("differs for different secrets", () => {
    expect(qrPath(uri).path).not.toBe(qrPath(uri.replace("JBSW", "KBSW")).path);
  });
});
