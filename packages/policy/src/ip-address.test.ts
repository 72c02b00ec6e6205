import { describe, expect, it } from "vitest";
import { ipInAny, parseCidr, parseIPv4 } from "./ip-address.ts";

const cidrs = (...texts: string[]) =>
  texts.map((t) => {
    const c = parseCidr(t);
    if (c === undefined) throw new Error(`fixture ${t} must parse`);
    return c;
  });

describe("IP address matching", () => {
  it.each([
    ["10.1.2.3", ["10.0.0.0/8"], true],
    ["11.0.0.1", ["10.0.0.0/8"], false],
    ["203.0.113.255", ["203.0.113.0/24"], true],
    ["0.0.0.0", ["0.0.0.0/0"], true],
    ["255.255.255.255", ["0.0.0.0/0"], true],
    ["10.0.0.1", ["10.0.0.0/32"], false],
    ["10.1.2.3", ["10.1.2.99/24"], true],
    ["2001:db8::1", ["2001:DB8::/32"], true],
    ["2001:db9::1", ["2001:DB8::/32"], false],
    ["::1", ["::1/128"], true],
    ["::", ["::/0"], true],
    ["fe80::1:2:3:4", ["fe80::/10"], true],
    ["2001:db8:1234:5678:ffff:ffff:ffff:ffff", ["2001:db8:1234:5678::/64"], true],
    ["::ffff:10.1.2.3", ["10.0.0.0/8"], true],
    ["10.1.2.3", ["2001:db8::/32"], false],
    ["1:2:3:4:5:6:7:7", ["1:2:3:4:5:6:7:0/125"], true],
    ["1:2:3:4:5:6:7:8", ["1:2:3:4:5:6:7:0/125"], false],
  ] as const)("%s in %j: %s", (ip, blocks, expected) => {
    expect(ipInAny(ip, cidrs(...blocks))).toBe(expected);
  });

  it.each([
    "10.0.0",
    "10.0.0.256",
    "10.0.0.1/33",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "::/129",
    "10.0.0.1/",
    "x",
  ])("rejects %s", (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it("treats a non-IP request value as invalid, not as outside", () => {
    expect(ipInAny("not-an-ip", cidrs("0.0.0.0/0"))).toBeUndefined();
    expect(parseIPv4("1.2.3.4", 0, 7)).toBe(0x01020304);
  });
});
