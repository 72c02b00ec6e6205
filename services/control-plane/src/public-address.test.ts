import { describe, expect, it } from "vitest";
import { addressClass } from "./public-address.ts";

describe("addressClass", () => {
  it("names the class of every non-public address, IPv6 forms of IPv4 ones included", () => {
    const cases: [string, string | null][] = [
      ["8.8.8.8", null],
      ["1.1.1.1", null],
      ["2606:4700:4700::1111", null],
      ["127.0.0.1", "loopback"],
      ["127.255.0.9", "loopback"],
      ["::1", "loopback"],
      ["::ffff:127.0.0.1", "loopback"],
      ["0:0:0:0:0:ffff:7f00:1", "loopback"],
      ["169.254.169.254", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["10.255.255.255", "private"],
      ["172.31.0.1", "private"],
      ["172.32.0.1", null],
      ["192.168.0.1", "private"],
      ["100.64.0.1", "private"],
      ["::ffff:10.0.0.1", "private"],
      ["64:ff9b::169.254.169.254", "link-local"],
      ["fd12:3456::1", "unique-local"],
      ["fc00::1", "unique-local"],
      ["224.0.0.251", "multicast"],
      ["ff02::fb", "multicast"],
      ["0.0.0.0", "unspecified"],
      ["::", "unspecified"],
      ["255.255.255.255", "reserved"],
      ["192.0.2.7", "reserved"],
      ["not-an-address", "reserved"],
    ];
    for (const [address, kind] of cases) expect(addressClass(address), address).toBe(kind);
  });
});
