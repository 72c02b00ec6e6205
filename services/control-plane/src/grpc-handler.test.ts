import { describe, expect, it } from "vitest";
import { sourceIpOf } from "./grpc-handler.ts";

describe("sourceIpOf", () => {
  it.each([
    ["203.0.113.7:51234", "203.0.113.7"],
    ["::ffff:203.0.113.7:51234", "203.0.113.7"],
    ["::FFFF:10.1.2.3:443", "10.1.2.3"],
    ["::1:51234", "::1"],
    // A port of four digits or fewer also parses as an IPv6 group; grpc-js always appends one.
    ["::1:1234", "::1"],
    ["2001:db8::7:40000", "2001:db8::7"],
    ["203.0.113.7", "203.0.113.7"],
    ["::1", "::1"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
  ])("%s is %s", (peer, ip) => {
    expect(sourceIpOf(peer)).toBe(ip);
  });

  it.each(["unknown", "", "unix:/tmp/socket", "host.example:80"])("%j has none", (peer) => {
    expect(sourceIpOf(peer)).toBeUndefined();
  });
});
